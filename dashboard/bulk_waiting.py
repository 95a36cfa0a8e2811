"""Why a bulk is not moving: what a bulk with open operations and no change for a while
waits for, in words.

Read when a bulk's page is opened and the bulk has open operations but its counters
have not changed for `QUIET_AFTER`: the queue its topic is routed to (through the
publisher and bindings of `queues.registry`), that queue's depth and consumers (the
shared, rate-limited sample of `queues.monitor`), and the outbox — the bulk's open
operations not yet confirmed by the transport (`published` False, see
`operations.actions.outbox`), counted up to `OUTBOX_LIMIT` over the bulk's own open
operations, never over all operations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from dashboard.templatetags.dashboard import duration
from operations.actions.outbox import breaker
from operations.conf import operations_settings
from operations.models import Bulk, Operation, OperationStatus
from queues import monitor, registry
from queues.exceptions import DeclarationError

QUIET_AFTER = timedelta(seconds=30)
OUTBOX_LIMIT = 10_000


@dataclass
class Waiting:
    """What a bulk waits for: a headline and the sentences that explain it."""

    quiet_for: timedelta
    sentences: list[str] = field(default_factory=list)
    stalled: bool = False  # nothing can move it until a person acts (no consumer, no broker)
    queues: list[str] = field(default_factory=list)
    unpublished: int = 0

    @property
    def headline(self) -> str:
        return f"Nothing has changed for {duration(self.quiet_for)}."


def why_not_moving(bulk: Bulk, *, now: datetime | None = None) -> Waiting | None:
    """Return what `bulk` waits for, or None if it is not waiting (nothing open, or it
    changed within QUIET_AFTER)."""
    now = now or timezone.now()
    if not bulk.open_count or now - bulk.changed_at < QUIET_AFTER:
        return None
    waiting = Waiting(quiet_for=now - bulk.changed_at)
    count = bulk.open_count
    waiting.sentences.append(f"{count:,} operation{'s are' if count != 1 else ' is'} still open.")
    waiting.unpublished = _unpublished(bulk)
    broker_down = breaker.is_open()
    names = registry.queues_of(bulk.topic) if bulk.topic else []
    waiting.queues = names
    if not names:
        waiting.stalled = True
        waiting.sentences.append(
            f"No queue receives the topic {bulk.topic or '(none)'}: nothing will run them."
        )
    states = [s for s in (monitor.queue_state(n) for n in names) if s is not None]
    for state in states:
        if state.error:
            broker_down = True
        waiting.sentences.append(_queue_sentence(state))
        if not state.alive:
            waiting.stalled = True
    queued = count - min(waiting.unpublished, count)
    if queued and any(s.waiting for s in states):
        one = queued == 1
        it, its = ("it", "its") if one else ("them", "their")
        waiting.sentences.append(
            f"{'This operation is' if one else f'These {queued:,} operations are'} waiting "
            f"in a long queue, not failed: {its} message{'' if one else 's'} keep"
            f"{'s' if one else ''} {its} place and {'it runs' if one else 'they run'} when a "
            f"consumer reaches {it}, however long that takes. Waiting alone never makes the "
            f"sweeper publish {it} again or give up on {it}."
        )
    if (
        states
        and not waiting.unpublished
        and all(s.alive and s.waiting == 0 and not s.unacked for s in states)
    ):
        if all(_connection(n) == "db" for n in names):
            then = (
                "the sweeper publishes them again once they have been open for "
                f"{duration(stuck_after())}."
            )
        else:
            then = (
                "the sweeper cannot look into this queue, so it leaves them open; "
                "check the broker (was the queue purged?)."
            )
        waiting.sentences.append(
            "The queue is empty and its consumers are alive, so these operations' messages "
            f"seem lost: {then}"
        )
    if waiting.unpublished:
        held = (
            f"more than {OUTBOX_LIMIT:,}"
            if waiting.unpublished > OUTBOX_LIMIT
            else f"{waiting.unpublished:,}"
        )
        one = waiting.unpublished == 1
        text = (
            f"{held} of them {'is' if one else 'are'} held in the outbox: not yet confirmed "
            "by the broker, so not in the queue"
        )
        if broker_down:
            waiting.stalled = True
            text += (
                "; the broker cannot be reached now. The outbox relay (run by the "
                f"{names[0] if names else 'async.operations.all'} consumer every "
                f"{operations_settings.RELAY_INTERVAL_SECONDS:g} s) publishes them once it "
                "is back."
            )
        else:
            text += (
                f"; the outbox relay publishes them within "
                f"{operations_settings.RELAY_INTERVAL_SECONDS:g} s of a consumer running."
            )
        waiting.sentences.append(text)
    return waiting


def _queue_sentence(state: monitor.QueueState) -> str:
    name = state.name
    if state.error:
        depth = f"the depth of the queue {name} is unknown ({state.error})"
    elif state.waiting is None:
        depth = f"the depth of the queue {name} is unknown"
    else:
        depth = (
            f"the queue {name} holds {state.waiting:,} message{'s' if state.waiting != 1 else ''}"
        )
        if state.unacked:
            depth += f" waiting and {state.unacked:,} being processed"
        else:
            depth += " waiting"
    alive = state.alive
    if alive:
        consumers = f"{len(alive)} consumer{'s are' if len(alive) != 1 else ' is'} alive on it" + (
            ", working through the messages before these" if state.waiting else ""
        )
    elif state.dead_for is not None:
        consumers = f"no consumer of it has been alive for {duration(state.dead_for)}"
    else:
        consumers = "no consumer of it is running"
    sentence = f"{depth[0].upper()}{depth[1:]}; {consumers}."
    if not alive and state.consumer_names:
        sentence += f" Start one: manage.py queue_consumers_start {state.consumer_names[0]}."
    return sentence


def _connection(queue: str) -> str:
    """The transport (`db`/`amqp`) of a declared queue, or "" if it is not declared."""
    try:
        return registry.current().queue_connection(queue)
    except DeclarationError:
        return ""


def _unpublished(bulk: Bulk) -> int:
    """How many of the bulk's open operations are not confirmed published (at most
    OUTBOX_LIMIT + 1 are counted)."""
    return (
        Operation.objects.filter(bulk=bulk, status=OperationStatus.OPEN, published=False)
        .order_by()[: OUTBOX_LIMIT + 1]
        .count()
    )


def stuck_after() -> timedelta:
    """When the sweeper republishes an open operation whose message is lost (for the
    page's hint)."""
    return timedelta(seconds=operations_settings.STUCK_AFTER_SECONDS)
