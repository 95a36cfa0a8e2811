from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The live pages: bulks, operations, retries; websocket updates."""

    name = "dashboard"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        from dashboard import flow
        from dashboard.conf import dashboard_settings
        from dashboard.live import forward

        dashboard_settings.validate()  # a malformed DASHBOARD_* variable stops start-up here
        forward.connect()
        flow.register_panels()  # the overview, queues and consumers pages stay live
        # The dead letters' and failures' panels register where their views are: imported
        # here, so that a page reconnecting before any request still finds its panel.
        import dashboard.views.dead_letters
        import dashboard.views.failures  # noqa: F401
