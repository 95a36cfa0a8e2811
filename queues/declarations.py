"""What apps declare in their `queues.py`: Magento's communication.xml,
queue_topology.xml, queue_publisher.xml and queue_consumer.xml as dataclasses.

Call `declare(...)` (re-exported as `queues.declare`) from an app's `queues.py`; the
registry (queues/registry.py) rejects duplicate names loudly and the system checks
(queues/checks.py) report inconsistencies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from queues.consumer.hooks import ConsumerHook

Handler = Callable[..., Any] | str  # a callable, or its dotted path "app.module.function"

# The connection "default" stands for settings.QUEUES["CONNECTION"] (db or amqp), so
# the same declarations run embedded and in production; see queues.conf.
DEFAULT = "default"


@dataclass(frozen=True)
class Topic:
    """communication.xml: a topic, the JSON schema of its messages, and its handler.

    `name` may be a pattern (`async.#`): it then declares every topic it matches that
    has no declaration of its own (`registry.topic()` prefers the exact name, then the
    most specific pattern). `handler(envelope)` runs for each message of the topic
    unless the consumer has its own handler.
    """

    name: str
    handler: Handler | None = None
    schema: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Exchange:
    """A topic exchange on one connection (`amqp` or `db`)."""

    name: str
    connection: str = DEFAULT
    type: str = "topic"
    durable: bool = True


@dataclass(frozen=True)
class Queue:
    """A durable queue. Every queue gets a dead-letter queue `<name>.dlq`."""

    name: str
    connection: str = DEFAULT
    arguments: Mapping[str, Any] = field(default_factory=dict)

    @property
    def dead_letter_queue(self) -> str:
        return dead_letter_queue(self.name)


@dataclass(frozen=True)
class Binding:
    """queue_topology.xml: route topics matching `topic` (`*` one word, `#` zero or more)
    to `queue`."""

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
    """queue_consumer.xml: a named consumer of one queue.

    `handler(envelope)` runs per message (it wins over the topic's handler).
    `batch_handler(envelopes)` runs instead for a whole batch of up to `batch_size`
    messages (N > 1: the declared default, or `--batch-size N`); a handler with an
    attribute `batch = True` serves as both. A batch never waits to fill up: it takes
    what is there. Declare `batch_size` > 1 only with a batch handler whose
    transaction covers each message's whole effect (a handler that must see one
    message at a time keeps 1). `connection` "default" follows the queue's connection.
    `on_dead_letter(envelope, reason)` is called, in a transaction of its own, after
    a decodable message was dead-lettered, so that the app can record that its work
    was given up (an error there is logged; the message stays in the dead letters).
    `on_requeue(bodies, actor)` takes over sending this consumer's dead letters back
    (`queues.dead_letters.requeue`): it is called in a transaction with the decoded
    bodies of the chosen messages and the operator's username, puts their work back
    its own way (the operations app retries the operations, which publishes them
    afresh), and the dead copies are then removed.
    `hooks` are runtime hooks attached to every run of this consumer: ConsumerHook
    subclasses, instances of one, or dotted paths of subclasses (see
    queues/consumer/hooks.py).
    """

    name: str
    queue: str
    handler: Handler | None = None
    connection: str = DEFAULT
    max_messages: int | None = None
    max_idle_time: float | None = None
    sleep: float = 1.0
    only_spawn_when_messages_available: bool = True
    allow_shared_topics: bool = False  # opt out of the double-processing check
    batch_handler: Handler | None = None
    on_dead_letter: Handler | None = None
    on_requeue: Handler | None = None
    hooks: tuple[Handler | ConsumerHook, ...] = ()
    batch_size: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "hooks", tuple(self.hooks))  # a list given, or read from JSON
        if int(self.batch_size) < 1:
            raise ValueError(f"consumer {self.name!r}: batch_size must be at least 1")


@dataclass(frozen=True)
class Periodic:
    """A task run every `interval` seconds by processes running `consumer`
    (or by the embedded consumers and the runner when `consumer` is None)."""

    name: str
    func: Handler
    interval: float
    consumer: str | None = None


@dataclass(frozen=True)
class Topology:
    """What a transport's `setup()` declares: exchanges, queues and bindings of one
    connection, with `connection` already resolved (never "default")."""

    exchanges: tuple[Exchange, ...] = ()
    queues: tuple[Queue, ...] = ()
    bindings: tuple[Binding, ...] = ()


def dead_letter_queue(queue: str) -> str:
    """Return the name of `queue`'s dead-letter queue."""
    return f"{queue}.dlq"


def resolve_handler(handler: Handler | None) -> Callable[..., Any] | None:
    """Return the callable for a handler given as a callable or a dotted path."""
    if handler is None or callable(handler):
        return handler
    return import_string(handler)
