"""Declare a topology on RabbitMQ: topic exchanges, queues with dead-letter queues, bindings.

Per queue `Q` this declares a fanout exchange `Q.dlx` and a queue `Q.dlq` bound to
it, and declares `Q` with `x-dead-letter-exchange: Q.dlx`, so that a message
rejected without requeue (or dropped by a length limit or a TTL) lands in `Q.dlq`.
Everything is durable. Declaring is idempotent; declaring an existing queue with
other arguments (say, a classic queue now configured as quorum) fails with a
`TransportError` naming the queue, because RabbitMQ cannot change a queue in place.
Bindings that were removed from the declarations are not unbound here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pika.adapters.blocking_connection import BlockingChannel

from queues import conf
from queues.declarations import Binding, Exchange, Queue

CONNECTION = "amqp"


def dead_letter_exchange(queue: str) -> str:
    """Return the name of the dead-letter exchange of `queue`."""
    return f"{queue}.dlx"


def dead_letter_queue(queue: str) -> str:
    """Return the name of the dead-letter queue of `queue`."""
    return f"{queue}.dlq"


@dataclass(frozen=True)
class AmqpTopology:
    """The part of a topology that lives on RabbitMQ."""

    exchanges: tuple[Exchange, ...]
    queues: tuple[Queue, ...]
    bindings: tuple[Binding, ...]


def amqp_part(topology: Any, connection: str = CONNECTION) -> AmqpTopology:
    """Return the exchanges, queues and bindings of `topology` on `connection`.

    `topology` is any object with `exchanges`, `queues` and `bindings` iterables of
    declarations; a "default" connection stands for QUEUES["CONNECTION"]. A binding
    belongs to the connection of its exchange.
    """
    exchanges = tuple(
        e
        for e in _values(topology.exchanges)
        if conf.resolve_connection(e.connection) == connection
    )
    names = {e.name for e in exchanges}
    queues = tuple(
        q for q in _values(topology.queues) if conf.resolve_connection(q.connection) == connection
    )
    bindings = tuple(b for b in _values(topology.bindings) if b.exchange in names)
    return AmqpTopology(exchanges, queues, bindings)


def queue_arguments(queue: Queue, queue_type: str) -> dict[str, Any]:
    """Return the arguments `queue` is declared with on the broker."""
    arguments: dict[str, Any] = {"x-dead-letter-exchange": dead_letter_exchange(queue.name)}
    if queue_type != "classic":
        arguments["x-queue-type"] = queue_type
    arguments.update(queue.arguments)
    return arguments


def declare(channel: BlockingChannel, topology: AmqpTopology, queue_type: str) -> None:
    """Declare `topology` through `channel` (which the broker closes on a conflict)."""
    for exchange in topology.exchanges:
        channel.exchange_declare(
            exchange.name, exchange_type=exchange.type, durable=exchange.durable
        )
    for queue in topology.queues:
        dlq_arguments = {"x-queue-type": queue_type} if queue_type != "classic" else None
        channel.exchange_declare(
            dead_letter_exchange(queue.name), exchange_type="fanout", durable=True
        )
        channel.queue_declare(dead_letter_queue(queue.name), durable=True, arguments=dlq_arguments)
        channel.queue_bind(dead_letter_queue(queue.name), dead_letter_exchange(queue.name))
        channel.queue_declare(
            queue.name, durable=True, arguments=queue_arguments(queue, queue_type)
        )
    for binding in topology.bindings:
        channel.queue_bind(
            binding.queue,
            binding.exchange,
            routing_key=binding.topic,
            arguments=dict(binding.arguments) or None,
        )


def _values(items: Iterable[Any] | dict[str, Any]) -> Iterable[Any]:
    # A registry may keep its declarations in dicts keyed by name.
    return items.values() if isinstance(items, dict) else items
