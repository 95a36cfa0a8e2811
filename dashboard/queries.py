"""What the dashboard's pages read: bulks and operations a user may see, filtered and paged.

Every list is keyset-paginated and bounded by `DASHBOARD["PAGE_SIZE"]`: the bulk log
on (created, id), a bulk's operations on their index, so a page costs the same at the
millionth row as at the first. Nothing here counts operations: a bulk's counts are
its stored counters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from dashboard.conf import dashboard_settings
from operations.models import (
    FAILED_STATUSES,
    Bulk,
    Operation,
    OperationEvent,
    OperationStatus,
    summary_status_q,
)
from operations.status import can_view_all, visible_bulks

FAILED = sorted(int(s) for s in FAILED_STATUSES)
TO_RETRY = [OperationStatus.RETRIABLY_FAILED.value]
CANNOT_UPDATE = [OperationStatus.NOT_RETRIABLY_FAILED.value, OperationStatus.REJECTED.value]


@dataclass
class Page:
    """One page of a keyset-paginated list; the cursors are None at the ends."""

    rows: list[Any]
    newer: Any = None  # cursor of the page before (towards the start)
    older: Any = None  # cursor of the page after


# -- the bulk log ----------------------------------------------------------------------


def bulk_log(
    user: Any,
    filters: Mapping[str, Any],
    *,
    before: tuple[float, int] | None = None,
    after: tuple[float, int] | None = None,
) -> Page:
    """Return a page of the bulks `user` may see, newest first, filtered by `filters`
    (BulkFilterForm.filters()); `before` / `after` are cursors (created, id)."""
    size = dashboard_settings.PAGE_SIZE
    queryset = filter_bulks(visible_bulks(user).select_related("owner"), filters)
    if after is not None:  # the page towards the newest: read it upwards, then turn it
        created, pk = _cursor_time(after), after[1]
        rows = list(
            queryset.filter(Q(created__gt=created) | Q(created=created, pk__gt=pk)).order_by(
                "created", "id"
            )[: size + 1]
        )
        newer = rows[size] if len(rows) > size else None
        rows = rows[:size][::-1]
        return Page(
            rows,
            newer=_key(rows[0]) if rows and newer else None,
            older=_key(rows[-1]) if rows else None,
        )
    if before is not None:
        created, pk = _cursor_time(before), before[1]
        queryset = queryset.filter(Q(created__lt=created) | Q(created=created, pk__lt=pk))
    rows = list(queryset.order_by("-created", "-id")[: size + 1])
    older = _key(rows[size - 1]) if len(rows) > size else None
    rows = rows[:size]
    return Page(rows, newer=_key(rows[0]) if rows and before is not None else None, older=older)


def _key(bulk: Bulk) -> tuple[float, int]:
    return bulk.created.timestamp(), bulk.pk


def _cursor_time(cursor: tuple[float, int]) -> dt.datetime:
    return dt.datetime.fromtimestamp(cursor[0], tz=dt.UTC)


def filter_bulks(queryset: QuerySet[Bulk], filters: Mapping[str, Any]) -> QuerySet[Bulk]:
    """Return `queryset` narrowed by the bulk log's filters (in SQL; see `matches`)."""
    if "status" in filters:
        queryset = queryset.filter(summary_status_q(filters["status"]))
    if "q" in filters:
        queryset = queryset.filter(
            Q(description__icontains=filters["q"]) | Q(topic__icontains=filters["q"])
        )
    if "uuid" in filters:
        queryset = (
            queryset.filter(uuid__startswith=filters["uuid"])
            if len(filters["uuid"]) < 36
            else queryset.filter(uuid=filters["uuid"])
        )
    if "owner" in filters:
        queryset = queryset.filter(owner__username=filters["owner"])
    if "since" in filters:
        queryset = queryset.filter(created__gte=_day_start(filters["since"]))
    if "until" in filters:
        queryset = queryset.filter(created__lt=_day_start(filters["until"]) + dt.timedelta(days=1))
    return queryset


def matches(filters: Mapping[str, Any], bulk: Bulk) -> bool:
    """Return True if `bulk` passes `filters`: `filter_bulks` in Python, for the live
    updates, which must not query the database once per open page."""
    if "status" in filters and bulk.summary_status != filters["status"]:
        return False
    if "q" in filters:
        needle = filters["q"].lower()
        if needle not in bulk.description.lower() and needle not in bulk.topic.lower():
            return False
    if "uuid" in filters and not str(bulk.uuid).startswith(filters["uuid"]):
        return False
    if "owner" in filters and (bulk.owner is None or bulk.owner.get_username() != filters["owner"]):
        return False
    if "since" in filters and bulk.created < _day_start(filters["since"]):
        return False
    return not (
        "until" in filters and bulk.created >= _day_start(filters["until"]) + dt.timedelta(days=1)
    )


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


# -- one bulk --------------------------------------------------------------------------


def error_groups(bulk_ids: Iterable[int]) -> dict[int, tuple[list[Any], list[Any]]]:
    """Return, per bulk, its failed operations grouped by error code and message: Magento's
    "Items to retry" (retriably failed) and "Items that can't be updated" (not
    retriably failed or rejected), each group with its count and first and last index,
    largest first. One grouped query over the (bulk, status, error_code) index."""
    bulk_ids = set(bulk_ids)
    if not bulk_ids:
        return {}
    rows = (
        Operation.objects.filter(bulk_id__in=bulk_ids, status__in=FAILED)
        .order_by()
        .values("bulk_id", "status", "error_code", "result_message")
        .annotate(count=Count("id"), first=Min("index"), last=Max("index"))
    )
    merged: dict[tuple[int, bool, Any, str], dict[str, Any]] = {}
    for found in rows:
        row: dict[str, Any] = dict(found)
        retriable = row["status"] in TO_RETRY
        key = (row["bulk_id"], retriable, row["error_code"], row["result_message"])
        if key in merged:  # statuses 3 and 5 share a group when code and message match
            merged[key]["count"] += row["count"]
            merged[key]["first"] = min(merged[key]["first"], row["first"])
            merged[key]["last"] = max(merged[key]["last"], row["last"])
        else:
            merged[key] = row
    groups: dict[int, tuple[list[Any], list[Any]]] = {pk: ([], []) for pk in bulk_ids}
    for (bulk_id, retriable, _code, _message), row in merged.items():
        groups[bulk_id][0 if retriable else 1].append(row)
    for to_retry, cannot_update in groups.values():
        to_retry.sort(key=_largest_first)
        cannot_update.sort(key=_largest_first)
        del to_retry[50:], cannot_update[50:]
    return groups


def _largest_first(row: Mapping[str, Any]) -> tuple[int, int, str]:
    code = row["error_code"] if row["error_code"] is not None else -1
    return -row["count"], code, row["result_message"]


def operations_page(bulk: Bulk, filters: Mapping[str, Any]) -> Page:
    """Return a page of `bulk`'s operations by index, filtered by status or error code."""
    size = dashboard_settings.PAGE_SIZE
    queryset = filter_operations(Operation.objects.filter(bulk=bulk), filters).only(
        *OPERATION_ROW_FIELDS
    )
    if "before" in filters:
        rows = list(queryset.filter(index__lt=filters["before"]).order_by("-index")[: size + 1])
        has_newer = len(rows) > size
        rows = rows[:size][::-1]
        return Page(
            rows,
            newer=rows[0].index if rows and has_newer else None,
            older=rows[-1].index if rows else None,
        )
    after = filters.get("after")
    if after is not None:
        queryset = queryset.filter(index__gt=after)
    rows = list(queryset.order_by("index")[: size + 1])
    older = rows[size - 1].index if len(rows) > size else None
    rows = rows[:size]
    return Page(rows, newer=rows[0].index if rows and after is not None else None, older=older)


OPERATION_ROW_FIELDS = (
    "id",
    "bulk_id",
    "index",
    "topic",
    "status",
    "result_message",
    "error_code",
    "attempts",
    "started_at",
    "finished_at",
)


def filter_operations(
    queryset: QuerySet[Operation], filters: Mapping[str, Any]
) -> QuerySet[Operation]:
    if "status" in filters:
        queryset = queryset.filter(status=filters["status"])
    elif filters.get("failed"):
        queryset = queryset.filter(status__in=FAILED)
    if "code" in filters:
        queryset = queryset.filter(error_code=filters["code"])
    return queryset


def operation_events(operation: Operation) -> list[OperationEvent]:
    """Return every event of an operation, oldest first: its whole history (bounded by
    what running and retrying can add, never paged away)."""
    return list(operation.events.select_related("actor").order_by("at", "id")[:1000])


def get_visible_bulk(user: Any, bulk_uuid: Any) -> Bulk | None:
    """Return the bulk if `user` may see it, else None (a 404 for the caller)."""
    return visible_bulks(user).select_related("owner").filter(uuid=bulk_uuid).first()


def notifications(user: Any) -> list[Bulk]:
    """Return the user's own finished bulks they have not dismissed, newest first."""
    return notifications_of(user.pk)


def notifications_of(user_id: int) -> list[Bulk]:
    """`notifications` by the user's id (the live updates know only the id)."""
    return list(
        Bulk.objects.filter(owner_id=user_id, open_count=0)
        .exclude(acknowledgements__user_id=user_id)
        .order_by("-created", "-id")[: dashboard_settings.NOTIFICATIONS]
    )


__all__ = [
    "CANNOT_UPDATE",
    "TO_RETRY",
    "Page",
    "bulk_log",
    "can_view_all",
    "error_groups",
    "filter_bulks",
    "get_visible_bulk",
    "matches",
    "notifications",
    "notifications_of",
    "operation_events",
    "operations_page",
]
