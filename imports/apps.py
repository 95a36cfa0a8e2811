from django.apps import AppConfig


class ImportsConfig(AppConfig):
    """Files of products, categories, customers, blocks, stock and prices, imported as bulks."""

    name = "imports"
    verbose_name = "Imports"

    def ready(self) -> None:
        from imports import live

        live.register()  # the import page's progress stays live over the websocket
