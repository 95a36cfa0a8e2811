from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The project itself: the `serve` command and the sign-in pages."""

    name = "config"
    verbose_name = "Project"
