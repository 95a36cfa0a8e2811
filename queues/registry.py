"""The declared topology: every Topic, Exchange, Queue, Binding, Publisher, Consumer
and Periodic that apps pass to `queues.declare(...)` from their `queues.py`.

Module-level helpers read the current registry:

    from queues import registry
    registry.topic("async.catalog.x.save.put")   # -> Topic | None (exact, else best pattern)
    registry.consumers                           # -> {name: Consumer}
    registry.topology(connection="amqp")         # -> Topology(exchanges, queues, bindings)

Tests swap in an empty registry with `registry.use(Registry())`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

from queues import conf, routing
from queues.declarations import (
    DEFAULT,
    Binding,
    Consumer,
    Exchange,
    Periodic,
    Publisher,
    Queue,
    Topic,
    Topology,
)
from queues.exceptions import DeclarationError

Declaration = Topic | Exchange | Queue | Binding | Publisher | Consumer | Periodic


class Registry:
    """Declarations by kind and name. Declaring a name twice raises DeclarationError."""

    def __init__(self) -> None:
        self.topics: dict[str, Topic] = {}
        self.exchanges: dict[str, Exchange] = {}
        self.queues: dict[str, Queue] = {}
        self.bindings: dict[str, Binding] = {}
        self.publishers: dict[tuple[str, str], Publisher] = {}
        self.consumers: dict[str, Consumer] = {}
        self.periodics: dict[str, Periodic] = {}

    # -- declaring ---------------------------------------------------------------
    def declare(self, *items: Declaration) -> None:
        """Register each item; raise DeclarationError on a duplicate or unknown kind."""
        for item in items:
            table, key = self._slot(item)
            if key in table:
                kind = type(item).__name__
                raise DeclarationError(
                    f"{kind} {key!r} is declared twice: {table[key]!r} and {item!r}"
                )
            table[key] = item

    def _slot(self, item: Any) -> tuple[dict, Any]:
        if isinstance(item, Topic):
            return self.topics, item.name
        if isinstance(item, Exchange):
            return self.exchanges, item.name
        if isinstance(item, Queue):
            return self.queues, item.name
        if isinstance(item, Binding):
            return self.bindings, item.id
        if isinstance(item, Publisher):
            return self.publishers, (item.topic, item.connection)
        if isinstance(item, Consumer):
            return self.consumers, item.name
        if isinstance(item, Periodic):
            return self.periodics, item.name
        raise DeclarationError(f"cannot declare {item!r}: not a queues declaration")

    # -- looking up --------------------------------------------------------------
    def topic(self, name: str) -> Topic | None:
        """Return the Topic declared as `name`, else the most specific Topic whose
        name is a pattern matching `name`, else None."""
        found = self.topics.get(name)
        if found is not None:
            return found
        candidates = [
            t
            for t in self.topics.values()
            if routing.is_pattern(t.name) and routing.matches(t.name, name)
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda t: routing.specificity(t.name))

    def consumer(self, name: str) -> Consumer:
        """Return the Consumer `name`; raise DeclarationError if it is not declared."""
        try:
            return self.consumers[name]
        except KeyError:
            known = ", ".join(sorted(self.consumers)) or "none"
            raise DeclarationError(f"no consumer named {name!r} (declared: {known})") from None

    def publisher(self, topic: str) -> Publisher:
        """Return the enabled Publisher for `topic`: declared for the exact topic, else
        for the most specific pattern matching it. Raise DeclarationError if none."""
        exact = [p for p in self.publishers.values() if not p.disabled and p.topic == topic]
        if not exact:
            exact = [
                p
                for p in self.publishers.values()
                if not p.disabled
                and routing.is_pattern(p.topic)
                and routing.matches(p.topic, topic)
            ]
        if not exact:
            raise DeclarationError(f"no enabled publisher is declared for topic {topic!r}")
        return max(exact, key=lambda p: routing.specificity(p.topic))

    def queue_connection(self, queue: str) -> str:
        """Return the resolved connection (`db`/`amqp`) of a declared queue."""
        try:
            return conf.resolve_connection(self.queues[queue].connection)
        except KeyError:
            raise DeclarationError(f"queue {queue!r} is not declared") from None

    def consumer_connection(self, consumer: Consumer) -> str:
        """Return the connection a consumer reads from: its queue's."""
        if consumer.queue in self.queues:
            return self.queue_connection(consumer.queue)
        return conf.resolve_connection(consumer.connection)

    def bindings_to(self, queue: str) -> list[Binding]:
        return [b for b in self.bindings.values() if b.queue == queue]

    def routes(self, exchange: str, topic: str) -> list[str]:
        """Return the queues a message with `topic` published on `exchange` reaches."""
        seen: dict[str, None] = {}
        for b in self.bindings.values():
            if b.exchange == exchange and routing.matches(b.topic, topic):
                seen.setdefault(b.queue, None)
        return list(seen)

    def topics_to(self, queue: str) -> list[str]:
        """Return the declared topic names (not patterns) that bindings deliver to `queue`."""
        bindings = self.bindings_to(queue)
        return sorted(
            name
            for name in self.topics
            if not routing.is_pattern(name)
            and any(routing.matches(b.topic, name) for b in bindings)
        )

    def periodics_for(self, consumer: str | None) -> list[Periodic]:
        """Return the Periodic tasks run by processes of `consumer` (None: unattached)."""
        return [p for p in self.periodics.values() if p.consumer == consumer]

    def topology(self, connection: str | None = None) -> Topology:
        """Return the exchanges, queues and bindings, with connections resolved,
        restricted to one connection (`db`/`amqp`/`default`) if given."""
        wanted = conf.resolve_connection(connection) if connection else None

        def resolved(item: Any) -> Any:
            return dataclasses.replace(item, connection=conf.resolve_connection(item.connection))

        exchanges = tuple(resolved(e) for e in self.exchanges.values())
        queues = tuple(resolved(q) for q in self.queues.values())
        if wanted is not None:
            exchanges = tuple(e for e in exchanges if e.connection == wanted)
            queues = tuple(q for q in queues if q.connection == wanted)
        names = {q.name for q in queues}
        exchange_names = {e.name for e in exchanges}
        bindings = tuple(
            b for b in self.bindings.values() if b.queue in names and b.exchange in exchange_names
        )
        return Topology(exchanges=exchanges, queues=queues, bindings=bindings)


_current = Registry()


def current() -> Registry:
    """Return the registry in use."""
    return _current


@contextlib.contextmanager
def use(registry: Registry) -> Iterator[Registry]:
    """Make `registry` the current one inside the block (tests)."""
    global _current
    previous, _current = _current, registry
    try:
        yield registry
    finally:
        _current = previous


def declare(*items: Declaration) -> None:
    """Declare topics, exchanges, queues, bindings, publishers, consumers and periodic
    tasks in the current registry; a duplicate name raises DeclarationError."""
    _current.declare(*items)


def topic(name: str) -> Topic | None:
    return _current.topic(name)


def consumer(name: str) -> Consumer:
    return _current.consumer(name)


def publisher(topic: str) -> Publisher:
    return _current.publisher(topic)


def topology(connection: str | None = None) -> Topology:
    return _current.topology(connection)


def queues_of(topic: str) -> list[str]:
    """Return the queues a message of `topic` reaches (its publisher's exchange and the
    bindings), or [] when no publisher is declared for it."""
    try:
        found = _current.publisher(topic)
    except DeclarationError:
        return []
    return _current.routes(found.exchange, topic)


def __getattr__(name: str) -> Any:
    # `registry.consumers`, `registry.topics`, … read the current registry.
    if name in (
        "topics",
        "exchanges",
        "queues",
        "bindings",
        "publishers",
        "consumers",
        "periodics",
    ):
        return getattr(_current, name)
    raise AttributeError(f"module 'queues.registry' has no attribute {name!r}")


__all__ = ["DEFAULT", "Registry", "current", "declare", "topic", "topology", "use"]
