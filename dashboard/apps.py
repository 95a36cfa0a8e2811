from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The live pages: bulks, operations, retries; websocket updates."""

    name = "dashboard"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        from dashboard.conf import dashboard_settings
        from dashboard.live import forward

        dashboard_settings.validate()  # a malformed DASHBOARD_* variable stops start-up here
        forward.connect()
