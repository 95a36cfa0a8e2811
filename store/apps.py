from django.apps import AppConfig


class StoreConfig(AppConfig):
    """Websites, store groups and store views: the scopes values can be set in."""

    name = "store"
    verbose_name = "Stores"

    def ready(self) -> None:
        from store.conf import store_settings

        store_settings.validate()  # a malformed STORE_* variable stops start-up here
