from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """Bulks and operations: the async/bulk API, the status API, the operation consumer."""

    name = "operations"
    verbose_name = "Bulk operations"

    def ready(self) -> None:
        from operations.conf import operations_settings

        operations_settings.validate()  # a malformed OPERATIONS_* variable stops start-up here
