"""What the queues look like now: depth from the transports, consumers from their rows.

    for state in monitor.queue_states():
        state.name, state.waiting, state.unacked, state.dead, state.alive, state.error

`queue_states()` describes every declared queue (`queues.registry`): its transport,
its bindings (exchange, topic pattern), its depth as the transport tells it
(`Transport.depths`: the db transport in one grouped query, RabbitMQ by a passive
declare of the queue and its dead-letter queue, unacknowledged messages from the
management API if QUEUES["AMQP_MANAGEMENT_URL"] is set), and the ConsumerProcess
rows of the consumers declared on it. A sample is kept per process and taken at
most once per QUEUES["DEPTH_SAMPLE_INTERVAL"] seconds however many callers (pages,
threads) ask: one caller samples, the others wait for it and share the result. A
broker that cannot be reached gives its queues an `error` text, not an exception.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from queues import processes, registry
from queues.conf import queue_settings
from queues.exceptions import TransportError
from queues.models import ConsumerProcess
from queues.transports import Transport, create_transport
from queues.transports.base import Depth

logger = logging.getLogger(__name__)

RECENTLY_STOPPED = timedelta(hours=1)  # stopped processes still listed this long


@dataclass(frozen=True)
class ProcessState:
    """One ConsumerProcess row, with what the pages say about it."""

    row: ConsumerProcess
    queue: str  # of its declared consumer ("" if it is not declared any more)
    alive: bool  # not stopped, its pid runs (this host) or its heartbeat is fresh
    stale: bool  # not stopped, but silent for more than 3 heartbeat intervals

    @property
    def rate(self) -> float:
        """Messages processed per minute since it started (its own counters)."""
        end = self.row.stopped_at or self.row.last_heartbeat
        seconds = max((end - self.row.started).total_seconds(), 1.0)
        return self.row.processed * 60.0 / seconds


@dataclass(frozen=True)
class QueueState:
    """One declared queue as sampled."""

    name: str
    transport: str  # db / amqp
    bindings: tuple[tuple[str, str], ...]  # (exchange, topic pattern)
    consumer_names: tuple[str, ...]  # the consumers declared on it
    waiting: int | None = None  # None: the transport could not be asked (see error)
    unacked: int | None = None  # None: unknown (RabbitMQ without the management API)
    dead: int | None = None
    broker_consumers: int | None = None  # connections consuming it, as RabbitMQ counts
    processes: tuple[ProcessState, ...] = ()  # running rows of its consumers
    last_seen: datetime | None = None  # when a consumer of it last ran (alive: now)
    error: str = ""
    sampled_at: datetime = field(default_factory=timezone.now)

    @property
    def alive(self) -> tuple[ProcessState, ...]:
        return tuple(p for p in self.processes if p.alive)

    @property
    def stalled(self) -> bool:
        """Messages wait and no consumer of it is alive."""
        return bool(self.waiting) and not self.alive

    @property
    def dead_for(self) -> timedelta | None:
        """How long no consumer of it has been alive (None: one is, or none ever ran)."""
        if self.alive or self.last_seen is None:
            return None
        return max(self.sampled_at - self.last_seen, timedelta(0))


_lock = threading.Lock()
_cache: dict[int, tuple[float, list[QueueState]]] = {}  # registry id -> (monotonic, states)
_transports: dict[str, Transport] = {}  # one per broker connection, used under _lock only
samples = 0  # how many samples this process took (tests count them)


def queue_states(*, max_age: float | None = None) -> list[QueueState]:
    """Return every declared queue's state, sampled at most once per `max_age` seconds
    (QUEUES["DEPTH_SAMPLE_INTERVAL"]) in this process, whoever asks. Thread-safe."""
    age = queue_settings.DEPTH_SAMPLE_INTERVAL if max_age is None else max_age
    key = id(registry.current())
    found = _cache.get(key)
    if found is not None and time.monotonic() - found[0] < age:
        return found[1]
    with _lock:
        found = _cache.get(key)  # another thread may have sampled while this one waited
        if found is not None and time.monotonic() - found[0] < age:
            return found[1]
        states = _sample()
        _cache.clear()
        _cache[key] = (time.monotonic(), states)
        return states


def queue_state(name: str) -> QueueState | None:
    """Return the state of one declared queue (from the shared sample), or None."""
    return next((s for s in queue_states() if s.name == name), None)


def forget() -> None:
    """Drop the sample and the broker connections (tests; a settings change)."""
    with _lock:
        _cache.clear()
        for transport in _transports.values():
            try:
                transport.close()
            except Exception:  # noqa: BLE001 - closing, whatever
                logger.debug("closing a monitor transport failed", exc_info=True)
        _transports.clear()


def process_states(rows: Sequence[ConsumerProcess]) -> list[ProcessState]:
    """Return the rows with whether each is alive or stale, and its consumer's queue."""
    consumers = registry.current().consumers
    silent = timedelta(seconds=3 * queue_settings.HEARTBEAT_INTERVAL)
    now = timezone.now()
    states = []
    for row in rows:
        declared = consumers.get(row.name)
        running = row.stopped_at is None and processes.is_running(row)
        stale = row.stopped_at is None and now - row.last_heartbeat > silent
        states.append(
            ProcessState(
                row=row,
                queue=declared.queue if declared is not None else "",
                alive=running and not stale,
                stale=stale,
            )
        )
    return states


def _sample() -> list[QueueState]:
    global samples
    samples += 1
    current = registry.current()
    by_connection: dict[str, list[str]] = {}
    for name in current.queues:
        by_connection.setdefault(current.queue_connection(name), []).append(name)
    depths: dict[str, Depth] = {}
    errors: dict[str, str] = {}
    for connection, queue_names in by_connection.items():
        for name, found in _depths(connection, queue_names).items():
            if isinstance(found, str):
                errors[name] = found
            else:
                depths[name] = found
    consumers_of: dict[str, list[str]] = {}
    for consumer in current.consumers.values():
        consumers_of.setdefault(consumer.queue, []).append(consumer.name)
    names = [n for ns in consumers_of.values() for n in ns]
    cutoff = timezone.now() - RECENTLY_STOPPED
    rows = list(
        ConsumerProcess.objects.filter(name__in=names).filter(
            Q(stopped_at__isnull=True) | Q(stopped_at__gte=cutoff)
        )
    )
    states = process_states(rows)
    now = timezone.now()
    result = []
    for name in current.queues:
        mine = [s for s in states if s.queue == name]
        running = tuple(s for s in mine if s.row.stopped_at is None)
        last_seen = now if any(s.alive for s in mine) else _last_seen(mine)
        depth = depths.get(name)
        result.append(
            QueueState(
                name=name,
                transport=current.queue_connection(name),
                bindings=tuple(
                    (b.exchange, b.topic) for b in current.bindings.values() if b.queue == name
                ),
                consumer_names=tuple(consumers_of.get(name, ())),
                waiting=depth.waiting if depth else None,
                unacked=depth.unacked if depth else None,
                dead=depth.dead if depth else None,
                broker_consumers=depth.consumers if depth else None,
                processes=running,
                last_seen=last_seen,
                error=errors.get(name, ""),
                sampled_at=now,
            )
        )
    return result


def _last_seen(states: Sequence[ProcessState]) -> datetime | None:
    moments = [s.row.stopped_at or s.row.last_heartbeat for s in states]
    return max(moments, default=None)


def _depths(connection: str, names: list[str]) -> dict[str, Depth | str]:
    """Return the depth of each queue of one connection, or the text of why not."""
    transport = _transports.get(connection)
    try:
        if transport is None:
            transport = _transports[connection] = create_transport(connection, fail_fast=True)
        if transport.name == "db":
            return dict(transport.depths(names))
        found: dict[str, Depth | str] = {}
        for name in names:
            try:
                found[name] = transport.depth(name)
            except TransportError as exc:
                if "does not exist" not in str(exc):
                    raise
                found[name] = str(exc)
        return found
    except TransportError as exc:
        _drop(connection)
        return dict.fromkeys(names, f"The {connection} transport cannot be reached: {exc}")
    except Exception as exc:  # noqa: BLE001 - a page must show why, not fail
        logger.warning("queue depths of %s failed: %s", connection, exc)
        _drop(connection)
        return dict.fromkeys(names, f"Asking the {connection} transport failed: {exc}")


def _drop(connection: str) -> None:
    transport = _transports.pop(connection, None)
    if transport is not None:
        try:
            transport.close()
        except Exception:  # noqa: BLE001 - it failed already
            logger.debug("closing a failed monitor transport failed", exc_info=True)


__all__ = ["ProcessState", "QueueState", "forget", "process_states", "queue_state", "queue_states"]
