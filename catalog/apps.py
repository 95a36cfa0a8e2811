from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class CatalogConfig(AppConfig):
    """The merchant domain and the synchronous REST API over it."""

    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        # Every installed app may declare service routes in its own webapi.py.
        autodiscover_modules("webapi")
