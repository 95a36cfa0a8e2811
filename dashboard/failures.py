"""What the failures page reads: failed operations across the bulks a user may see, grouped.

A failed operation (retriably or not retriably, 2 and 3) belongs to the group of its
topic, error code and message. The page reads, for one time range of `finished_at`:

- the groups: ONE aggregate query over the failed operations finished in the range
  (the `(status, finished_at)` index, `ops_op_status_finished`, bounds it), the top
  `MAX_GROUPS` by count;
- their samples: the first and the latest operation of each (their lowest and highest
  id, from the same aggregate), read in ONE more query by primary key;
- the recent group retries and their progress: one query for the retries, one grouped
  count over the operations of those not yet settled (through their own rows in
  `GroupRetryOperation`, never over all operations).

Nothing here counts all operations: every query is bounded by the failed statuses and
the range, or by a retry's own operations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from operations.actions.people import settle_group_retry
from operations.models import GroupRetry, GroupRetryOperation, Operation, OperationStatus
from operations.status import can_view_all, visible_operations

FAILED = [OperationStatus.RETRIABLY_FAILED.value, OperationStatus.NOT_RETRIABLY_FAILED.value]
RANGES: dict[str, dt.timedelta] = {
    "1h": dt.timedelta(hours=1),
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
}
RANGE_WORDS = {
    "1h": "last hour",
    "24h": "last 24 hours",
    "7d": "last 7 days",
    "30d": "last 30 days",
}
DEFAULT_RANGE = "24h"
MAX_GROUPS = 100
SAMPLES = 2  # the first and the latest operation of a group
RECENT_RETRIES = 5
RETRIES_SHOWN_FOR = dt.timedelta(hours=24)


# -- the filters -------------------------------------------------------------------------


@dataclass
class Filters:
    """The page's filters, parsed; `problems` says, in words, what was not understood."""

    range: str = DEFAULT_RANGE
    topic: str = ""
    code: int | None = None
    code_given: bool = False  # "no code" is a group too: code=none
    problems: list[str] = field(default_factory=list)

    @property
    def since(self) -> dt.datetime:
        return timezone.now() - RANGES[self.range]

    @property
    def range_words(self) -> str:
        return RANGE_WORDS[self.range]

    def query(self, **changes: Any) -> dict[str, str]:
        """Return the filters as a query string's parameters (with `changes`)."""
        values = {"range": self.range, "topic": self.topic}
        if self.code_given:
            values["code"] = "none" if self.code is None else str(self.code)
        values.update({k: str(v) for k, v in changes.items()})
        return {k: v for k, v in values.items() if v}


def parse_filters(query: Mapping[str, str]) -> Filters:
    """Return the filters of a query string; anything that makes no sense is ignored and
    said so (never an error)."""
    filters = Filters()
    raw_range = (query.get("range") or "").strip()
    if raw_range:
        if raw_range in RANGES:
            filters.range = raw_range
        else:
            filters.problems.append(
                f"The time range “{raw_range[:40]}” is not one of 1h, 24h, 7d or 30d: "
                f"showing the {RANGE_WORDS[DEFAULT_RANGE]}."
            )
    topic = (query.get("topic") or "").strip()
    if len(topic) > 255:
        filters.problems.append("That topic is longer than any topic can be: ignored.")
    else:
        filters.topic = topic
    raw_code = (query.get("code") or "").strip()
    if raw_code:
        if raw_code.lower() in ("none", "-"):
            filters.code_given = True
        else:
            try:
                code = int(raw_code)
            except ValueError:
                code = None
            if code is None or not -(2**31) <= code < 2**31:
                filters.problems.append(
                    f"The error code “{raw_code[:40]}” is not a whole number: ignored."
                )
            else:
                filters.code, filters.code_given = code, True
    return filters


# -- the groups --------------------------------------------------------------------------


@dataclass
class Sample:
    operation_id: int
    bulk_uuid: str
    index: int
    status: int
    finished_at: dt.datetime | None
    url: str = ""  # its bulk's page, showing the failed operations of its code


@dataclass
class Group:
    """The failed operations of one topic, error code and message, in the range."""

    topic: str
    error_code: int | None
    message: str
    count: int
    retriable: int  # of them retriably failed (2); the rest not retriably (3)
    bulks: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    samples: list[Sample] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, int | None, str]:
        return self.topic, self.error_code, self.message


def failed_operations(user: Any, filters: Filters) -> QuerySet[Operation]:
    """Return the failed operations of `user`'s visible bulks that pass `filters` and
    finished in its range."""
    queryset = visible_operations(user).filter(status__in=FAILED, finished_at__gte=filters.since)
    if filters.topic:
        queryset = queryset.filter(topic=filters.topic)
    if filters.code_given:
        queryset = queryset.filter(error_code=filters.code)
    return queryset


def failure_groups(user: Any, filters: Filters, *, limit: int = MAX_GROUPS) -> list[Group]:
    """Return the top `limit` groups by count, largest first, each with its samples (two
    queries in all)."""
    rows = list(
        failed_operations(user, filters)
        .order_by()
        .values("topic", "error_code", "result_message")
        .annotate(
            count=Count("id"),
            retriable=Count("id", filter=Q(status=OperationStatus.RETRIABLY_FAILED)),
            bulks=Count("bulk_id", distinct=True),
            first_seen=Min("finished_at"),
            last_seen=Max("finished_at"),
            oldest=Min("id"),
            newest=Max("id"),
        )
        .order_by("-count", "topic", "error_code", "result_message")[:limit]
    )
    groups = [
        Group(
            topic=row["topic"],
            error_code=row["error_code"],
            message=row["result_message"],
            count=row["count"],
            retriable=row["retriable"],
            bulks=row["bulks"],
            first_seen=row["first_seen"],
            last_seen=row["last_seen"],
        )
        for row in rows
    ]
    _add_samples(
        groups,
        {
            (r["topic"], r["error_code"], r["result_message"]): {r["oldest"], r["newest"]}
            for r in rows
        },
    )
    return groups


def _add_samples(groups: list[Group], ids: dict[tuple[str, int | None, str], set[int]]) -> None:
    """Give each group its samples: its first and its latest operation (the lowest and
    highest id, found by the groups' aggregate itself), read in ONE query by primary key.

    Picking samples by a window function over the range would sort every failed
    operation of the range once more: at a 30-day range over a million operations that
    costs more than the grouping itself."""
    wanted = {pk for pks in ids.values() for pk in pks}
    if not wanted:
        return
    rows = {
        row[0]: row
        for row in Operation.objects.filter(pk__in=wanted).values_list(
            "id", "bulk__uuid", "index", "status", "finished_at"
        )
    }
    bulks_url = reverse("dashboard:bulks")  # once: a reverse() per sample costs more
    for group in groups:
        for pk in sorted(ids.get(group.key, ()), reverse=True):
            if pk not in rows:
                continue
            _pk, bulk_uuid, index, status, finished_at = rows[pk]
            query = "?failed=1" + (
                f"&code={group.error_code}" if group.error_code is not None else ""
            )
            url = f"{bulks_url}{bulk_uuid}/{query}#operations"
            group.samples.append(Sample(pk, str(bulk_uuid), index, status, finished_at, url))


def topics(groups: list[Group]) -> list[str]:
    """Return the topics of the groups shown, for the filter's choices (no query)."""
    return sorted({group.topic for group in groups})


# -- the group retries -------------------------------------------------------------------


@dataclass
class Progress:
    """Where the operations a group retry reopened are now."""

    retry: GroupRetry
    complete: int
    failed: int
    open: int

    @property
    def done(self) -> int:
        return self.complete + self.failed

    @property
    def settled(self) -> bool:
        return self.retry.settled_at is not None

    @property
    def percent(self) -> int:
        total = self.retry.total or 1
        return min(100, round(100 * self.done / total))


def recent_retries(user: Any | None, *, everyone: bool = False) -> list[Progress]:
    """Return the newest group retries (of the last day, at most RECENT_RETRIES) the user
    may see — all of them with `everyone` or for those who see all bulks, else their own —
    each with its progress (two queries; settles the retries found finished)."""
    since = timezone.now() - RETRIES_SHOWN_FOR
    queryset = GroupRetry.objects.filter(at__gte=since)
    if not everyone and not can_view_all(user):
        queryset = queryset.filter(actor=user) if user is not None else queryset.none()
    retries = list(queryset.order_by("-at", "-id")[:RECENT_RETRIES])
    return progress_of(retries)


def progress_of(retries: list[GroupRetry]) -> list[Progress]:
    """Return each retry's progress: settled ones from their row, the others from ONE
    grouped count over their own operations."""
    running = [r.pk for r in retries if r.settled_at is None]
    counts: dict[int, dict[int, int]] = {pk: {} for pk in running}
    if running:
        rows = (
            GroupRetryOperation.objects.filter(retry_id__in=running)
            .order_by()
            .values_list("retry_id", "operation__status")
            .annotate(n=Count("id"))
        )
        for retry_id, status, n in rows:
            counts[retry_id][status] = n
    answer = []
    for retry in retries:
        if retry.settled_at is not None:
            answer.append(Progress(retry, retry.complete_count, retry.failed_count, 0))
            continue
        per = counts.get(retry.pk, {})
        complete = per.get(OperationStatus.COMPLETE, 0)
        open_now = per.get(OperationStatus.OPEN, 0)
        failed = sum(
            n for s, n in per.items() if s not in (OperationStatus.COMPLETE, OperationStatus.OPEN)
        )
        settles = retry.reopened_at is not None and open_now == 0
        if settles and settle_group_retry(retry.pk, complete=complete, failed=failed):
            retry.refresh_from_db()
        answer.append(Progress(retry, complete, failed, open_now))
    return answer
