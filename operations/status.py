"""Reading bulks and operations: visibility, counts and summaries, Magento's status shapes.

Everything here counts with aggregates over the (bulk, status) index, so a bulk of
100,000 operations costs one grouped query, never a Python loop over its rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Count, Max, QuerySet

from operations.models import Bulk, BulkStatus, Operation, OperationStatus

VIEW_ALL = "operations.view_all_bulks"


def can_view_all(user: Any) -> bool:
    return user is not None and user.is_active and user.has_perm(VIEW_ALL)


def visible_bulks(user: Any) -> QuerySet[Bulk]:
    """Return the bulks `user` may see: all with `view_all_bulks`, else their own."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Bulk.objects.none()
    if can_view_all(user):
        return Bulk.objects.all()
    return Bulk.objects.filter(owner=user)


def visible_operations(user: Any) -> QuerySet[Operation]:
    """Return the operations of the bulks `user` may see."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Operation.objects.none()
    if can_view_all(user):
        return Operation.objects.all()
    return Operation.objects.filter(bulk__owner=user)


def status_counts(bulk: Bulk | int) -> dict[int, int]:
    """Return {operation status: count} for one bulk (statuses with no operation omitted)."""
    bulk_id = bulk.pk if isinstance(bulk, Bulk) else bulk
    rows = (
        Operation.objects.filter(bulk_id=bulk_id)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return {status: n for status, n in rows}


def summary_status(counts: Mapping[int, int], *, ever_started: bool | None = None) -> int:
    """Return the bulk summary status (`BulkStatus`) from per-status counts.

    Any open operation means in progress — unless nothing was processed yet (every
    operation open or rejected, and, when known, none ever started): not started.
    With no open operation: finished successfully if every operation is complete,
    else finished with failure.
    """
    total = sum(counts.values())
    open_count = counts.get(OperationStatus.OPEN, 0)
    if total == 0:
        return BulkStatus.NOT_STARTED
    if open_count:
        processed = total - open_count - counts.get(OperationStatus.REJECTED, 0)
        if processed == 0 and not ever_started:
            return BulkStatus.NOT_STARTED
        return BulkStatus.IN_PROGRESS
    if counts.get(OperationStatus.COMPLETE, 0) == total:
        return BulkStatus.FINISHED_SUCCESSFULLY
    return BulkStatus.FINISHED_WITH_FAILURE


def bulk_summary_status(bulk: Bulk | int, counts: Mapping[int, int] | None = None) -> int:
    """Return the summary status of one bulk (two small aggregate queries at most)."""
    if counts is None:
        counts = status_counts(bulk)
    ever_started = None
    open_count = counts.get(OperationStatus.OPEN, 0)
    if open_count and open_count + counts.get(OperationStatus.REJECTED, 0) == sum(counts.values()):
        bulk_id = bulk.pk if isinstance(bulk, Bulk) else bulk
        ever_started = bool(
            Operation.objects.filter(bulk_id=bulk_id, status=OperationStatus.OPEN).aggregate(
                m=Max("attempts")
            )["m"]
        )
    return summary_status(counts, ever_started=ever_started)


def summaries(bulk_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Return, per bulk id, its counts by status and summary status, in one query (for lists)."""
    rows = (
        Operation.objects.filter(bulk_id__in=bulk_ids)
        .order_by()
        .values_list("bulk_id", "status")
        .annotate(n=Count("id"), started=Max("attempts"))
    )
    counts: dict[int, dict[int, int]] = {pk: {} for pk in bulk_ids}
    started: dict[int, bool] = {pk: False for pk in bulk_ids}
    for bulk_id, status, n, attempts in rows:
        counts[bulk_id][status] = n
        started[bulk_id] = started[bulk_id] or bool(attempts)
    return {
        pk: {"counts": counts[pk], "status": summary_status(counts[pk], ever_started=started[pk])}
        for pk in bulk_ids
    }


# -- Magento's shapes -------------------------------------------------------------------
# The columns an operation is rendered from; `render_operation` names them as Magento's
# OperationInterface does (`bulk_uuid`, `topic_name`, ...).
SHORT_COLUMNS = ("id", "status", "result_message", "error_code")
DETAILED_COLUMNS = (
    *SHORT_COLUMNS,
    "bulk__uuid",
    "topic",
    "serialized_data",
    "result_serialized_data",
)


def render_operation(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return one operation as Magento lists it, from `.values(*DETAILED_COLUMNS)` (detailed
    status, search) or `.values(*SHORT_COLUMNS)` (short status)."""
    answer: dict[str, Any] = {"id": row["id"]}
    if "topic" in row:
        answer["bulk_uuid"] = str(row["bulk__uuid"])
        answer["topic_name"] = row["topic"]
        answer["serialized_data"] = row["serialized_data"]
        answer["result_serialized_data"] = row["result_serialized_data"]
    answer["status"] = row["status"]
    answer["result_message"] = row["result_message"] or None
    answer["error_code"] = row["error_code"]
    return answer


def _bulk_header(bulk: Bulk) -> dict[str, Any]:
    counts = status_counts(bulk)
    return {
        "bulk_id": str(bulk.uuid),
        "description": bulk.description,
        "start_time": bulk.created.strftime("%Y-%m-%d %H:%M:%S"),
        "user_id": bulk.owner_id,
        "user_type": bulk.user_type,
        "operation_count": bulk.operation_count,
        "status": bulk_summary_status(bulk, counts),
        "status_counts": {str(k): v for k, v in sorted(counts.items())},
    }


def bulk_status(bulk: Bulk, *, detailed: bool = False) -> dict[str, Any]:
    """Return `GET /V1/bulk/:bulkUuid/status` (Magento's BulkOperationsStatus, short), or
    with `detailed` `.../detailed-status` (each operation with its data and result)."""
    answer = _bulk_header(bulk)
    rows = bulk.operations.order_by("index").values(
        *(DETAILED_COLUMNS if detailed else SHORT_COLUMNS)
    )
    answer["operations_list"] = [render_operation(row) for row in rows.iterator(chunk_size=2000)]
    return answer
