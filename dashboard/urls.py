"""The dashboard's pages, under /dashboard/."""

from __future__ import annotations

from django.urls import path

from dashboard import views
from dashboard.views import dead_letters, failures, flow

app_name = "dashboard"

urlpatterns = [
    path("", flow.overview, name="home"),  # the overview; the bulk log for merchants
    path("queues/", flow.queue_list, name="queues"),
    path("consumers/", flow.consumer_list, name="consumers"),
    path("consumers/restart/", flow.restart_consumers, name="restart-consumers"),
    path("dead-letters/", dead_letters.dead_letter_list, name="dead-letters"),
    path("dead-letters/requeue/", dead_letters.requeue_dead_letters, name="requeue-dead-letters"),
    path("dead-letters/discard/", dead_letters.discard_dead_letters, name="discard-dead-letters"),
    path("failures/", failures.failure_list, name="failures"),
    path("failures/retry/", failures.retry_failure_group, name="retry-failure-group"),
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
