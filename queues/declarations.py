"""What apps declare in their `queues.py`: Magento's communication.xml,
queue_topology.xml, queue_publisher.xml and queue_consumer.xml as dataclasses.

Call `declare(...)` (re-exported as `queues.declare`) from an app's `queues.py`; the
registry (queues/registry.py) rejects duplicate names loudly and the system checks
(queues/checks.py) report inconsistencies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[..., Any] | str  # a callable, or its dotted path "app.module.function"


@dataclass(frozen=True)
class Topic:
    """communication.xml: a topic, the JSON schema of its messages, and its handler."""

    name: str
    handler: Handler | None = None
    schema: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Exchange:
    """A topic exchange on one connection (`amqp` or `db`)."""

    name: str
    connection: str = "amqp"
    type: str = "topic"
    durable: bool = True


@dataclass(frozen=True)
class Queue:
    """A durable queue. Every queue gets a dead-letter queue `<name>.dlq`."""

    name: str
    connection: str = "amqp"
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Binding:
    """queue_topology.xml: route topics matching `topic` (`*` one word, `#` zero or more) to `queue`."""

    id: str
    exchange: str
    topic: str
    queue: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Publisher:
    """queue_publisher.xml: which connection and exchange a topic (or pattern) is sent on."""

    topic: str
    connection: str
    exchange: str
    disabled: bool = False


@dataclass(frozen=True)
class Consumer:
    """queue_consumer.xml: a named consumer of one queue."""

    name: str
    queue: str
    handler: Handler | None = None
    connection: str = "amqp"
    max_messages: int | None = None
    max_idle_time: float | None = None
    sleep: float = 1.0
    only_spawn_when_messages_available: bool = True
    allow_shared_topics: bool = False  # opt out of the double-processing check


@dataclass(frozen=True)
class Periodic:
    """A task run every `interval` seconds by processes running `consumer`
    (or by the embedded consumers and the runner when `consumer` is None)."""

    name: str
    func: Handler
    interval: float
    consumer: str | None = None
