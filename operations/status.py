"""Reading bulks and operations: visibility, counts and summaries, Magento's status shapes.

Counts come from the counters stored on each bulk row (see `operations.models.Bulk`),
never from an aggregate over its operations: a bulk of 100,000 operations costs the
same one-row read as a bulk of one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from operations.models import COUNTER_FIELDS, Bulk, BulkStatus, Operation, summary_status

VIEW_ALL = "operations.view_all_bulks"
_COUNTED = ("pk", "started_at", *COUNTER_FIELDS.values())


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


def _counted(bulk: Bulk | int) -> Bulk | None:
    """Return the bulk's counters as stored now (one read of its row), or None."""
    pk = bulk.pk if isinstance(bulk, Bulk) else bulk
    return Bulk.objects.only(*_COUNTED).filter(pk=pk).first()


def status_counts(bulk: Bulk | int) -> dict[int, int]:
    """Return {operation status: count} for one bulk (statuses with no operation omitted),
    read from its stored counters now (a Bulk given may be stale)."""
    row = _counted(bulk)
    return row.counts() if row is not None else {}


def bulk_summary_status(bulk: Bulk | int, counts: Mapping[int, int] | None = None) -> int:
    """Return the summary status of one bulk, from its stored counters (one row read), or
    from `counts` and the given bulk's `started_at`."""
    if counts is not None and isinstance(bulk, Bulk):
        return summary_status(counts, ever_started=bulk.started_at is not None)
    row = _counted(bulk)
    if row is None:
        return BulkStatus.NOT_STARTED
    if counts is None:
        return row.summary_status
    return summary_status(counts, ever_started=row.started_at is not None)


def summaries(bulk_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Return, per bulk id, its counts by status and summary status, from the counters
    (one query on the bulks, for lists)."""
    rows = Bulk.objects.only(*_COUNTED).in_bulk(bulk_ids)
    return {
        pk: (
            {"counts": rows[pk].counts(), "status": rows[pk].summary_status}
            if pk in rows
            else {"counts": {}, "status": BulkStatus.NOT_STARTED}
        )
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
    """Return the summary fields of a bulk just read, from its counters (no query)."""
    counts = bulk.counts()
    return {
        "bulk_id": str(bulk.uuid),
        "description": bulk.description,
        "start_time": bulk.created.strftime("%Y-%m-%d %H:%M:%S"),
        "user_id": bulk.owner_id,
        "user_type": bulk.user_type,
        "operation_count": bulk.operation_count,
        "status": bulk.summary_status,
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
