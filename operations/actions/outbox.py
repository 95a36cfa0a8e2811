"""The outbox: publish open operations after commit; the relay and the sweeper.

An operation row is the outbox entry: `published` stays False until the transport
confirmed its message. The relay (a Periodic task run by the processes of the
`async.operations.all` consumer, see `operations.queues`) publishes again every
open operation that is still unpublished, so a broker that is down when a bulk
arrives costs latency, never data. A message published twice is harmless: the
handler runs an operation only while it is open, under a row lock. The sweeper
(`sweep_stuck`) publishes again, then fails, only operations whose message is known
to be lost, never those merely waiting in a long queue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from operations import events
from operations.actions.counters import record_transitions
from operations.conf import operations_settings
from operations.db import locked
from operations.models import EventKind, Operation, OperationEvent, OperationStatus
from queues import processes, publish_many, registry
from queues.exceptions import DeclarationError, QueueError
from queues.models import ConsumerProcess, QueueMessage

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
            # A request's own publish gives up at once (the relay is its fallback).
            publish_many([message_for(*row) for row in chunk], patient=not respect_breaker)
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

    An unpublished one is published (the relay's job, done here too). A published one
    is swept only when its message is known to be lost:

    - a consumer started it (`started_at` set) and no live consumer holds it (no
      running ConsumerProcess of the consumer that recorded its start, or of the
      consumers of its topic's queues); or
    - it never started, its topic goes to `db` queues only, and no waiting or claimed
      QueueMessage of those queues carries it (the row was deleted, or acknowledged
      without running it).

    A never-started operation whose message may still wait in a queue is left alone,
    however long the queue: a backlog or a consumer outage is waiting, not failure (on
    `amqp` a queue cannot be looked into, so never-started operations are never swept
    there). A swept operation is published once more and given another period; one
    swept again after that is marked retriably failed (2) with a message saying so,
    for a person to retry.
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
    stuck_open = Operation.objects.filter(
        status=OperationStatus.OPEN, published=True, opened_at__lte=cutoff
    )
    lost = _orphaned_started(stuck_open, limit) + _gone_from_db_queues(stuck_open, limit)
    if not lost:
        return counts
    with transaction.atomic():
        # Lock what was found, skipping rows a consumer holds (running them now), and
        # check again that they are still open, published and past the timeout.
        stuck = list(
            locked(
                stuck_open.filter(pk__in=lost)
                .order_by("opened_at", "id")
                .values_list(
                    "pk", "topic", "store_id", "bulk__uuid", "sweeps", "bulk_id", "bulk__owner_id"
                ),
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
                event=(
                    f"Open for more than {after:g} seconds and its message lost: "
                    "published again by the sweeper."
                ),
            )
        if give_up:
            counts["failed"] = _give_up(give_up, after, now)
    return counts


# Pages of `limit` never-started operations the sweeper compares with their db queues
# per run: bounds the work a long queue costs it.
SCAN_PAGES = 10


def _consumers_of(queues: Sequence[str]) -> set[str]:
    return {c.name for c in registry.current().consumers.values() if c.queue in queues}


def _live_consumer_names() -> set[str]:
    """Names of the consumers with a process that runs now (a recent heartbeat, and on
    this host a live pid)."""
    alive = ConsumerProcess.objects.alive(processes.stale_after())
    return {p.name for p in alive if processes.is_running(p)}


def _orphaned_started(stuck_open: QuerySet[Operation], limit: int) -> list[int]:
    """Ids of stuck operations a consumer started that no live consumer holds."""
    started = list(
        stuck_open.filter(started_at__isnull=False)
        .order_by("opened_at", "id")
        .values_list("pk", "topic")[:limit]
    )
    if not started:
        return []
    live = _live_consumer_names()
    recorded: dict[int, set[str]] = {}
    for pk, consumer in OperationEvent.objects.filter(
        operation_id__in=[pk for pk, _topic in started], kind=EventKind.STARTED
    ).values_list("operation_id", "consumer"):
        if consumer:
            recorded.setdefault(pk, set()).add(consumer)
    by_topic: dict[str, set[str]] = {}
    orphaned = []
    for pk, topic in started:
        if topic not in by_topic:
            by_topic[topic] = _consumers_of(registry.queues_of(topic))
        if not (recorded.get(pk, set()) | by_topic[topic]) & live:
            orphaned.append(pk)
    return orphaned


def _gone_from_db_queues(stuck_open: QuerySet[Operation], limit: int) -> list[int]:
    """Ids of never-started stuck operations whose message is provably gone: their
    topic goes to `db` queues only, and none of those holds a waiting or claimed
    message for them. Operations of other topics (an `amqp` queue cannot be looked
    into) are never returned."""
    current = registry.current()
    db_queues: dict[str, list[str]] = {}
    gone: list[int] = []
    after: tuple[Any, int] | None = None
    never_started = stuck_open.filter(started_at__isnull=True).order_by("opened_at", "id")
    for _page in range(SCAN_PAGES):
        page = never_started
        if after is not None:
            page = page.filter(Q(opened_at__gt=after[0]) | Q(opened_at=after[0], id__gt=after[1]))
        rows = list(page.values_list("pk", "topic", "opened_at")[:limit])
        if not rows:
            break
        after = (rows[-1][2], rows[-1][0])
        candidates: dict[int, list[str]] = {}
        for pk, topic, _opened in rows:
            if topic not in db_queues:
                names = registry.queues_of(topic)
                on_db = bool(names) and all(_connection_of(current, name) == "db" for name in names)
                db_queues[topic] = names if on_db else []
            if db_queues[topic]:
                candidates[pk] = db_queues[topic]
        if candidates:
            queued = {
                int(value)
                for value in QueueMessage.objects.filter(
                    queue__in={q for names in candidates.values() for q in names},
                    status__in=[QueueMessage.Status.WAITING, QueueMessage.Status.CLAIMED],
                    body__operation_id__in=list(candidates),
                ).values_list("body__operation_id", flat=True)
                if value is not None
            }
            gone.extend(pk for pk in candidates if pk not in queued)
        if len(gone) >= limit or len(rows) < limit:
            break
    return gone[:limit]


def _connection_of(current: registry.Registry, queue: str) -> str:
    try:
        return current.queue_connection(queue)
    except DeclarationError:
        return ""


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
