from django.apps import AppConfig


class WebapiConfig(AppConfig):
    """Magento's Web API: route registry, dispatcher, tokens and integrations, errors."""

    name = "webapi"
    label = "rest"  # kept from its first home (catalog/rest): migrations and permissions
    verbose_name = "REST API"

    def ready(self) -> None:
        from django.core import checks

        from webapi.checks import check_routes
        from webapi.conf import webapi_settings
        from webapi.routes import discover

        webapi_settings.validate()  # a malformed WEBAPI_* variable stops start-up here

        # Every installed app may declare service routes in its own webapi.py
        # (Magento's webapi.xml).
        discover()
        checks.register(check_routes, "webapi")
