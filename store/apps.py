from django.apps import AppConfig


class StoreConfig(AppConfig):
    """Websites and store views: the scopes values can be set in."""

    name = "store"
    verbose_name = "Stores"
