"""Per-queue, per-minute metrics: what consumers did, without counting rows afterwards.

`MetricsHook` is attached last to every consumer runtime (`load_hooks`): after each
received batch it adds the batch's Outcome to the `QueueMinute` row of the queue and
the current minute, in one upsert (`INSERT … ON CONFLICT (queue, minute) DO UPDATE
SET n = n + excluded.n`, on SQLite and PostgreSQL alike), outside the runtime's
transactions. Several consumers of one queue add to the same row. A failed write is
logged and forgotten: metrics never stop a consumer.

Reading: `series()` (per-bucket sums for a chart), `totals()` and `by_queue()` read
only QueueMinute, never the messages or the operations. The clean-up
(`queues.actions.cleanup`) deletes minutes older than QUEUES["METRICS_KEEP_DAYS"].
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, connection
from django.db.models import F, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from queues.conf import queue_settings
from queues.consumer.hooks import ConsumerHook
from queues.models import QueueMinute

if TYPE_CHECKING:
    from queues.consumer import ConsumerRuntime, Outcome

logger = logging.getLogger(__name__)

COUNTERS = ("messages", "failed", "dead", "operations", "operations_failed", "seconds")

# The chart ranges: name -> (how far back, bucket seconds, label).
RANGES: dict[str, tuple[timedelta, int, str]] = {
    "1h": (timedelta(hours=1), 60, "last hour"),
    "6h": (timedelta(hours=6), 300, "last 6 hours"),
    "24h": (timedelta(hours=24), 300, "last 24 hours"),
    "7d": (timedelta(days=7), 3600, "last 7 days"),
}
DEFAULT_RANGE = "1h"


@dataclass
class Totals:
    """Sums of QueueMinute counters over some minutes (and queues)."""

    messages: int = 0
    failed: int = 0
    dead: int = 0
    operations: int = 0
    operations_failed: int = 0
    seconds: float = 0.0

    def add(self, row: Mapping[str, Any]) -> None:
        """Add a row of `_SUMS` (sum_messages, …) to these totals."""
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + (row.get(f"sum_{name}") or 0))

    @property
    def operations_done(self) -> int:
        """Operations completed or failed."""
        return self.operations + self.operations_failed


@dataclass
class Point(Totals):
    """One bucket of a series: the sums of the minutes from `start`, for `bucket` seconds."""

    start: datetime = datetime.min
    bucket: int = 60


def minute_of(moment: datetime) -> datetime:
    """Return the start of the minute of `moment` (seconds and microseconds zero)."""
    return moment.replace(second=0, microsecond=0)


def record(
    queue: str,
    *,
    messages: int = 0,
    failed: int = 0,
    dead: int = 0,
    operations: int = 0,
    operations_failed: int = 0,
    seconds: float = 0.0,
    at: datetime | None = None,
) -> None:
    """Add these counts to `queue`'s row of the minute of `at` (now), in one statement.

    Raises DatabaseError; the hook logs it. Run outside a transaction, it commits at once.
    """
    minute = minute_of(at or timezone.now())
    table = connection.ops.quote_name(QueueMinute._meta.db_table)
    columns = ["queue", "minute", *COUNTERS]
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in COUNTERS)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT (queue, minute) DO UPDATE SET {updates}"
    )
    values = [
        queue,
        connection.ops.adapt_datetimefield_value(minute),
        messages,
        failed,
        dead,
        operations,
        operations_failed,
        float(seconds),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)


class MetricsHook(ConsumerHook):
    """Record each received batch's Outcome in its queue's QueueMinute row (one upsert)."""

    def after_process(self, runtime: ConsumerRuntime, outcome: Outcome) -> None:
        if not (outcome.received or outcome.work):
            return  # nothing was dealt with (everything given back): nothing to record
        try:
            record(
                runtime.consumer.queue,
                messages=outcome.processed,
                failed=outcome.failures,
                dead=outcome.dead,
                operations=outcome.work.get("operations", 0),
                operations_failed=outcome.work.get("operations_failed", 0),
                seconds=outcome.seconds,
            )
        except DatabaseError as exc:
            logger.warning(
                "consumer %s: the batch's metrics were not recorded: %s",
                runtime.consumer.name,
                exc,
            )


# -- reading -----------------------------------------------------------------------------


def series(queue: str | None, since: datetime, until: datetime, bucket: int = 60) -> list[Point]:
    """Return the sums per `bucket` seconds (60, 300 or 3600) of `queue` (every queue with
    None) from `since` to `until`, one Point per bucket, empty ones zero, oldest first.

    One query over QueueMinute: grouped by minute (by hour for hour buckets)."""
    if bucket not in (60, 300, 3600):
        raise ValueError("bucket must be 60, 300 or 3600 seconds")
    start = _floor(since, bucket)
    rows = QueueMinute.objects.filter(minute__gte=start, minute__lte=until)
    if queue is not None:
        rows = rows.filter(queue=queue)
    if bucket == 3600:
        grouped = rows.annotate(at=TruncHour("minute")).values("at").annotate(**_sums())
    else:
        grouped = rows.annotate(at=F("minute")).values("at").annotate(**_sums())
    points: dict[datetime, Point] = {}
    moment = start
    while moment <= until:
        points[moment] = Point(start=moment, bucket=bucket)
        moment += timedelta(seconds=bucket)
    for row in grouped.order_by():
        at = _floor(_aware(row["at"]), bucket)
        point = points.get(at)
        if point is not None:
            point.add(row)
    return list(points.values())


def series_by_queue(since: datetime, until: datetime) -> dict[str, list[Point]]:
    """Return each queue's per-minute series from `since` to `until` (one query), for
    the queues that have a minute in it."""
    start = minute_of(since)
    rows = (
        QueueMinute.objects.filter(minute__gte=start, minute__lte=until)
        .values_list("queue", "minute", *COUNTERS)
        .order_by()
    )
    result: dict[str, dict[datetime, Point]] = {}
    for queue, minute, *counts in rows:
        points = result.get(queue)
        if points is None:
            points = result[queue] = {}
            moment = start
            while moment <= until:
                points[moment] = Point(start=moment, bucket=60)
                moment += timedelta(minutes=1)
        point = points.get(minute_of(_aware(minute)))
        if point is not None:
            point.add({f"sum_{name}": value for name, value in zip(COUNTERS, counts, strict=True)})
    return {queue: list(points.values()) for queue, points in result.items()}


def totals(since: datetime, queue: str | None = None) -> Totals:
    """Return the sums of every queue's (or `queue`'s) minutes from `since` (one query)."""
    rows = QueueMinute.objects.filter(minute__gte=minute_of(since))
    if queue is not None:
        rows = rows.filter(queue=queue)
    result = Totals()
    result.add(rows.aggregate(**_sums()))
    return result


def by_queue(since: datetime) -> dict[str, Totals]:
    """Return the sums of each queue's minutes from `since` (one grouped query)."""
    rows = (
        QueueMinute.objects.filter(minute__gte=minute_of(since))
        .values("queue")
        .annotate(**_sums())
        .order_by()
    )
    found: dict[str, Totals] = {}
    for row in rows:
        found.setdefault(row["queue"], Totals()).add(row)
    return found


def forget_old(keep_days: float | None = None) -> int:
    """Delete the minutes older than `keep_days` (QUEUES["METRICS_KEEP_DAYS"]); return how many."""
    days = queue_settings.METRICS_KEEP_DAYS if keep_days is None else keep_days
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = QueueMinute.objects.filter(minute__lt=cutoff).delete()
    return deleted


def _sums() -> dict[str, Sum]:
    return {f"sum_{name}": Sum(name) for name in COUNTERS}


def _floor(moment: datetime, bucket: int) -> datetime:
    moment = minute_of(moment)
    if bucket == 3600:
        return moment.replace(minute=0)
    if bucket == 300:
        return moment.replace(minute=moment.minute - moment.minute % 5)
    return moment


def _aware(moment: datetime) -> datetime:
    if timezone.is_naive(moment):
        return timezone.make_aware(moment, UTC)
    return moment.astimezone(UTC)


__all__ = [
    "RANGES",
    "MetricsHook",
    "Point",
    "Totals",
    "by_queue",
    "forget_old",
    "record",
    "series",
    "series_by_queue",
    "totals",
]
