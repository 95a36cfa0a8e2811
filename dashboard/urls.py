"""The dashboard's pages, under /dashboard/."""

from __future__ import annotations

from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path("bulks/", views.bulk_list, name="bulks"),
    path("bulks/<uuid:bulk_uuid>/", views.bulk_detail, name="bulk"),
    path("bulks/<uuid:bulk_uuid>/export.csv", views.export_operations, name="export"),
    path("bulks/<uuid:bulk_uuid>/retry-failed/", views.retry_all_failed, name="retry-failed"),
    path("bulks/<uuid:bulk_uuid>/retry-selected/", views.retry_selected, name="retry-selected"),
    path("bulks/<uuid:bulk_uuid>/retry-group/", views.retry_group, name="retry-group"),
    path("bulks/<uuid:bulk_uuid>/dismiss/", views.dismiss_bulk, name="dismiss"),
    path(
        "bulks/<uuid:bulk_uuid>/operations/<int:operation_id>/",
        views.operation_detail,
        name="operation",
    ),
    path(
        "bulks/<uuid:bulk_uuid>/operations/<int:operation_id>/retry/",
        views.retry_one,
        name="retry",
    ),
    path(
        "bulks/<uuid:bulk_uuid>/operations/<int:operation_id>/edit/",
        views.edit_operation,
        name="edit",
    ),
    path("notifications/dismiss-all/", views.dismiss_all, name="dismiss-all"),
]
