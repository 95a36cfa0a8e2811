from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class WebapiConfig(AppConfig):
    """The REST layer: route registry, dispatcher, tokens and integrations."""

    name = "webapi"
    label = "rest"
    verbose_name = "REST API"

    def ready(self) -> None:
        # Every installed app may declare service routes in its own webapi.py
        # (Magento's webapi.xml).
        autodiscover_modules("webapi")
