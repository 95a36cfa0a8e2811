"""What happened to bulks, told after commit: for live pages and anything else that listens.

    from operations import events

    def on_events(batch: Sequence[events.Event]) -> None:
        for event in batch:
            ...

    events.subscribe(on_events)

Every action that changes operations or bulks calls `emit` inside its transaction;
the event is delivered once that transaction commits (`transaction.on_commit`), so
a rolled-back transaction or savepoint tells nothing, and outside a transaction it
is delivered at once. Receivers get a list of events, in the thread that committed;
a receiver's exception is logged with its traceback and never reaches the action
nor the other receivers. Receivers should be quick (hand the events on to a
channel layer, a queue): they run in the request or the consumer that committed.

In a consumer, the `ConsumerEvents` hook (declared on `async.operations.all` in
`operations.queues`) holds back what each received batch committed and delivers it
when the batch is done, merged into one event per kind and bulk with the counts
summed: 100 operations of one bulk completed in one batch are ONE
`operations.completed` event with `count=100`, whatever the processing mode.

No Django signals: emitting is a plain call in the actions, subscribing a plain call.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from queues.consumer import ConsumerHook

if TYPE_CHECKING:
    from queues.consumer import ConsumerRuntime, Outcome
    from queues.transports import Delivery

logger = logging.getLogger(__name__)

BULK_ACCEPTED = "bulk.accepted"
OPERATIONS_STARTED = "operations.started"
OPERATIONS_COMPLETED = "operations.completed"
OPERATIONS_FAILED = "operations.failed"
OPERATIONS_RETRIED = "operations.retried"
OPERATION_EDITED = "operation.edited"
BULK_ACKNOWLEDGED = "bulk.acknowledged"
OPERATIONS_SWEPT = "operations.swept"
KINDS = frozenset(
    {
        BULK_ACCEPTED,
        OPERATIONS_STARTED,
        OPERATIONS_COMPLETED,
        OPERATIONS_FAILED,
        OPERATIONS_RETRIED,
        OPERATION_EDITED,
        BULK_ACKNOWLEDGED,
        OPERATIONS_SWEPT,
    }
)


@dataclass(frozen=True)
class Event:
    """One change of one bulk, as committed."""

    kind: str  # one of KINDS
    bulk_id: int
    bulk_uuid: str
    owner_id: int | None
    count: int  # operations concerned (1 for bulk-level events)
    at: datetime
    actor_id: int | None = None  # the person, for retried / edited / acknowledged


Receiver = Callable[[Sequence[Event]], None]

_receivers: list[Receiver] = []
_receivers_lock = threading.Lock()
_local = threading.local()  # `buffer`: a list while a consumer batch is in hand, else absent


def subscribe(receiver: Receiver) -> None:
    """Have `receiver(events)` called with the events of every commit from now on.
    Subscribing the same receiver again changes nothing."""
    with _receivers_lock:
        if receiver not in _receivers:
            _receivers.append(receiver)


def unsubscribe(receiver: Receiver) -> None:
    """Stop calling `receiver` (nothing happens if it was not subscribed)."""
    with _receivers_lock:
        if receiver in _receivers:
            _receivers.remove(receiver)


def emit(
    kind: str,
    *,
    bulk_id: int,
    bulk_uuid: str,
    owner_id: int | None,
    count: int = 1,
    actor_id: int | None = None,
) -> None:
    """Tell the receivers of `kind` for a bulk once the current transaction commits
    (at once outside a transaction; never if it rolls back)."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    event = Event(
        kind=kind,
        bulk_id=bulk_id,
        bulk_uuid=str(bulk_uuid),
        owner_id=owner_id,
        count=count,
        at=timezone.now(),
        actor_id=actor_id,
    )
    transaction.on_commit(lambda: _committed(event))


def _committed(event: Event) -> None:
    buffer = getattr(_local, "buffer", None)
    if buffer is not None:
        buffer.append(event)
    else:
        deliver([event])


def deliver(events: Sequence[Event]) -> None:
    """Call every receiver with `events` now; log a receiver's exception and go on."""
    if not events:
        return
    with _receivers_lock:
        receivers = tuple(_receivers)
    for receiver in receivers:
        try:
            receiver(events)
        except Exception:
            logger.exception("events receiver %r failed on %d event(s)", receiver, len(events))


def merged(events: Sequence[Event]) -> list[Event]:
    """Return one event per (kind, bulk), counts summed, at the latest time, in the
    order each (kind, bulk) first appeared."""
    by_key: dict[tuple[str, int], Event] = {}
    for event in events:
        key = (event.kind, event.bulk_id)
        earlier = by_key.get(key)
        if earlier is None:
            by_key[key] = event
        else:
            by_key[key] = replace(
                earlier, count=earlier.count + event.count, at=max(earlier.at, event.at)
            )
    return list(by_key.values())


def start_buffering() -> None:
    """Hold back the events committed in this thread until `flush()`."""
    _local.buffer = []


def flush() -> list[Event]:
    """Stop holding back events in this thread; deliver those held, merged; return them."""
    buffer = getattr(_local, "buffer", None)
    _local.buffer = None
    events = merged(buffer or [])
    deliver(events)
    return events


class ConsumerEvents(ConsumerHook):
    """Deliver the events of a consumer's received batch once, merged, when it is done.

    `before_process` starts holding back what this thread commits; `after_process`
    (always called, also when processing failed midway) delivers what the batch
    committed and stops holding back, and adds the batch's completed and failed
    operations to `outcome.work` ("operations", "operations_failed") for the metrics.
    Periodic tasks (the relay, the sweeper) run between batches, so their events are
    delivered at their own commit.
    """

    def before_process(self, runtime: ConsumerRuntime, deliveries: Sequence[Delivery]) -> None:
        start_buffering()

    def after_process(self, runtime: ConsumerRuntime, outcome: Outcome) -> None:
        delivered = flush()
        # The batch's operations, for the per-minute metrics (queues.metrics.MetricsHook).
        work = ((OPERATIONS_COMPLETED, "operations"), (OPERATIONS_FAILED, "operations_failed"))
        for kind, name in work:
            count = sum(event.count for event in delivered if event.kind == kind)
            if count:
                outcome.work[name] = outcome.work.get(name, 0) + count
