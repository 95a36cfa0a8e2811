from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """Bulks and operations: the async/bulk API, the status API, the operation consumer."""

    name = "operations"
    verbose_name = "Bulk operations"
