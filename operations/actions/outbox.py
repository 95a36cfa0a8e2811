"""The outbox: publish open operations after commit; the relay and the sweeper.

An operation row is the outbox entry: `published` stays False until the transport
confirmed its message. The relay (a Periodic task run by the processes of the
`async.operations.all` consumer, see `operations.queues`) publishes again every
open operation that is still unpublished, so a broker that is down when a bulk
arrives costs latency, never data. A message published twice is harmless: the
handler runs an operation only while it is open, under a row lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from operations import events
from operations.actions.counters import record_transitions
from operations.conf import operations_settings
from operations.db import locked
from operations.models import EventKind, Operation, OperationEvent, OperationStatus
from queues import publish_many
from queues.exceptions import QueueError

logger = logging.getLogger(__name__)

# Messages per publish_many call: bounds memory and a broker round trip.
PUBLISH_CHUNK = 10_000
RELAY_CLAIM = 1_000


def message_for(
    operation_id: int, topic: str, store_id: int, bulk_uuid: str
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Return (topic, body, headers) of an operation's message (`store_id` in the headers)."""
    return topic, {"operation_id": operation_id, "bulk_uuid": bulk_uuid}, {"store_id": store_id}


class _Breaker:
    """After a failed publish, requests stop waiting for the broker for a while.

    The transport already retries with a backoff long enough to ride out a broker
    restart (tens of seconds). One request paying that is the price of an outage;
    every request paying it would make the API unusable. So for
    OPERATIONS["PUBLISH_PAUSE_SECONDS"] after a failure, after-commit publishes are
    skipped (the operations stay unpublished) and only the relay, which runs in the
    consumer processes, tries the broker; its first success closes the breaker.
    """

    open_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    def trip(self) -> None:
        self.open_until = time.monotonic() + operations_settings.PUBLISH_PAUSE_SECONDS

    def reset(self) -> None:
        self.open_until = 0.0


breaker = _Breaker()


def publish_after_commit(
    rows: Sequence[tuple[int, str, int, str]], *, whole_bulk: int | None = None
) -> None:
    """Publish (operation id, topic, store id, bulk uuid) rows in one batch once the
    current transaction commits. `whole_bulk`: see `publish_rows`.

    Operations whose publish fails stay unpublished for the relay; nothing is raised
    to the caller (the request that accepted them already succeeded).
    """
    rows = list(rows)
    transaction.on_commit(lambda: publish_rows(rows, respect_breaker=True, whole_bulk=whole_bulk))


def publish_operations_after_commit(operations: Sequence[Operation]) -> None:
    """Publish these open operations (their `bulk` loaded) after commit."""
    publish_after_commit([(op.pk, op.topic, op.store_id, str(op.bulk.uuid)) for op in operations])


def publish_rows(
    rows: Sequence[tuple[int, str, int, str]],
    *,
    event: str = "",
    respect_breaker: bool = False,
    whole_bulk: int | None = None,
) -> int:
    """Publish (operation id, topic, store id, bulk uuid) rows now and mark them published.

    With `event`, also record a `published` event with that message per operation
    (the relay and the sweeper do; the first publish is recorded by the flag alone).
    Return how many were published; on a transport failure, log and stop there.
    With `respect_breaker`, publish nothing while a recent failure holds the breaker open.
    `whole_bulk` (a bulk id) says the rows are every open operation of that bulk, so
    one UPDATE by bulk marks them published.
    """
    if respect_breaker and breaker.is_open():
        logger.info("%d operation(s) left for the relay: the broker failed moments ago", len(rows))
        return 0
    done = 0
    for start in range(0, len(rows), PUBLISH_CHUNK):
        chunk = rows[start : start + PUBLISH_CHUNK]
        try:
            publish_many([message_for(*row) for row in chunk])
        except QueueError as exc:
            breaker.trip()
            logger.warning(
                "%d operation(s) not published, the relay will retry: %s", len(rows) - done, exc
            )
            return done
        breaker.reset()
        if whole_bulk is not None and len(rows) <= PUBLISH_CHUNK:
            Operation.objects.filter(
                bulk_id=whole_bulk, status=OperationStatus.OPEN, published=False
            ).update(published=True)
        else:
            _mark_published([row[0] for row in chunk], event)
        done += len(chunk)
    return done


def _mark_published(ids: list[int], event: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        for start in range(0, len(ids), 500):
            Operation.objects.filter(
                pk__in=ids[start : start + 500], status=OperationStatus.OPEN
            ).update(published=True)
        if event:
            OperationEvent.objects.bulk_create(
                OperationEvent(operation_id=pk, kind=EventKind.PUBLISHED, at=now, message=event)
                for pk in ids
            )


def relay_unpublished(*, grace_seconds: float | None = None, limit: int = RELAY_CLAIM) -> int:
    """Publish open operations that were never confirmed published; return how many.

    Leave alone operations opened less than `grace_seconds` ago (their own
    after-commit publish may still be on its way). Rows are claimed with
    `SELECT … FOR UPDATE SKIP LOCKED`, so several relays never publish the same rows.
    """
    grace = operations_settings.RELAY_GRACE_SECONDS if grace_seconds is None else grace_seconds
    published = 0
    while True:
        cutoff = timezone.now() - timedelta(seconds=grace)
        with transaction.atomic():
            claimed = list(
                locked(
                    Operation.objects.filter(
                        status=OperationStatus.OPEN, published=False, opened_at__lte=cutoff
                    )
                    .order_by("opened_at", "id")
                    .values_list("pk", "topic", "store_id", "bulk__uuid")[:limit],
                    skip_locked=True,
                )
            )
            if not claimed:
                return published
            rows = [(pk, topic, store_id, str(uuid)) for pk, topic, store_id, uuid in claimed]
            count = publish_rows(rows, event="Published again by the outbox relay.")
        published += count
        if count < len(rows) or len(rows) < limit:
            return published


def sweep_stuck(
    *, stuck_after_seconds: float | None = None, limit: int = RELAY_CLAIM
) -> dict[str, int]:
    """Deal with operations open longer than STUCK_AFTER_SECONDS; return counts.

    An unpublished one is published (the relay's job, done here too). A published
    one whose message seems lost is published once more and given another period;
    one that stays stuck after that is marked retriably failed (2) with a message
    saying so, for a person to retry.
    """
    after = (
        operations_settings.STUCK_AFTER_SECONDS
        if stuck_after_seconds is None
        else stuck_after_seconds
    )
    now = timezone.now()
    cutoff = now - timedelta(seconds=after)
    counts = {"published": 0, "republished": 0, "failed": 0}
    counts["published"] = relay_unpublished(grace_seconds=after, limit=limit)
    with transaction.atomic():
        stuck = list(
            locked(
                Operation.objects.filter(
                    status=OperationStatus.OPEN, published=True, opened_at__lte=cutoff
                )
                .order_by("opened_at", "id")
                .values_list(
                    "pk", "topic", "store_id", "bulk__uuid", "sweeps", "bulk_id", "bulk__owner_id"
                )[:limit],
                skip_locked=True,
            )
        )
        again = [
            (pk, topic, store_id, str(uuid))
            for pk, topic, store_id, uuid, sweeps, *_bulk in stuck
            if sweeps == 0
        ]
        give_up = [
            (pk, bulk_id, str(uuid), owner_id)
            for pk, _topic, _store, uuid, sweeps, bulk_id, owner_id in stuck
            if sweeps > 0
        ]
        if again:
            Operation.objects.filter(pk__in=[r[0] for r in again]).update(sweeps=1, opened_at=now)
            counts["republished"] = publish_rows(
                again,
                event=f"Open for more than {after:g} seconds: published again by the sweeper.",
            )
        if give_up:
            counts["failed"] = _give_up(give_up, after, now)
    return counts


def _give_up(stuck: Sequence[tuple[int, int, str, int | None]], after: float, now: Any) -> int:
    """Mark retriably failed the operations (pk, bulk id, bulk uuid, owner id) of `stuck`,
    open and locked by the caller; count them in their bulks; emit `operations.swept`."""
    message = (
        f"The operation stayed open for more than {after:g} seconds, twice, "
        "without being processed. "
        "Check that the async.operations.all consumer is running, then retry it."
    )
    # Locked by the caller's SELECT … FOR UPDATE, so still open; on a database without
    # row locks, the transitions must name exactly the rows the UPDATE changes.
    still_open = set(
        Operation.objects.filter(
            pk__in=[row[0] for row in stuck], status=OperationStatus.OPEN
        ).values_list("pk", flat=True)
    )
    stuck = [row for row in stuck if row[0] in still_open]
    ids = [row[0] for row in stuck]
    count = Operation.objects.filter(pk__in=ids).update(
        status=OperationStatus.RETRIABLY_FAILED, result_message=message, finished_at=now
    )
    OperationEvent.objects.bulk_create(
        OperationEvent(
            operation_id=pk, kind=EventKind.FAILED, at=now, consumer="sweeper", message=message
        )
        for pk in ids
    )
    record_transitions(
        (
            (bulk_id, OperationStatus.OPEN, OperationStatus.RETRIABLY_FAILED)
            for _pk, bulk_id, *_ in stuck
        ),
        now=now,
    )
    per_bulk: dict[int, list[tuple[int, int, str, int | None]]] = {}
    for row in stuck:
        per_bulk.setdefault(row[1], []).append(row)
    for bulk_id, rows in per_bulk.items():
        events.emit(
            events.OPERATIONS_SWEPT,
            bulk_id=bulk_id,
            bulk_uuid=rows[0][2],
            owner_id=rows[0][3],
            count=len(rows),
        )
    return count
