"""The dashboard's views: thin, each reading through `dashboard.queries` or writing through
`operations.actions`. One view renders the full page or, for htmx, the fragment."""

from dashboard.views.actions import (
    dismiss_all,
    dismiss_bulk,
    edit_operation,
    retry_all_failed,
    retry_group,
    retry_one,
    retry_selected,
)
from dashboard.views.bulks import bulk_detail, bulk_list, export_operations, operation_detail

__all__ = [
    "bulk_detail",
    "bulk_list",
    "dismiss_all",
    "dismiss_bulk",
    "edit_operation",
    "export_operations",
    "operation_detail",
    "retry_all_failed",
    "retry_group",
    "retry_one",
    "retry_selected",
]
