"""The contract every transport (`db`, `amqp`) implements.

The consumer runtime and the publisher only talk to this interface, so both
transports pass the same behavioural test suite. A transport owns its connections;
it is used from one thread at a time (create one per thread).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from queues.declarations import Topology


@dataclass(frozen=True)
class Envelope:
    """A message as published: JSON body, its id, its topic and the caller's headers."""

    message_id: str
    topic: str
    body: dict[str, Any]
    headers: dict[str, Any] = field(default_factory=dict)


@dataclass
class Delivery:
    """A message handed to a consumer. `tag` is the transport's own handle for ack/reject.

    `raw` holds the undecoded bytes when decoding failed (`envelope` is then None).
    `trials` counts earlier failed deliveries of this message (0 on first delivery).
    """

    queue: str
    tag: Any
    envelope: Envelope | None
    trials: int = 0
    redelivered: bool = False
    raw: bytes | None = None


@dataclass(frozen=True)
class Depth:
    """How full a queue is, as its transport tells: None where it cannot know.

    `waiting`: messages ready (or waiting for a retry's delay); `unacked`: delivered
    to a consumer and not yet acknowledged; `consumers`: connections consuming it
    (the broker's count; the db transport cannot know); `dead`: messages in its
    dead-letter queue.
    """

    waiting: int
    unacked: int | None = None
    consumers: int | None = None
    dead: int | None = None


class Transport(abc.ABC):
    """One connection to one transport. Not thread-safe: one instance per thread.

    `queues.transports.create_transport(name)` builds one with `from_settings()`.
    """

    name: str = ""

    # True when ack() writes to the Django database connection (the db transport): the
    # runtime then calls ack() inside the handler's transaction, so the work and the
    # ack commit together. False (amqp): ack() is called right after the commit.
    acks_in_transaction: bool = False

    @classmethod
    def from_settings(cls, *, fail_fast: bool = False) -> Transport:
        """Return a transport configured from `queues.conf` (settings.QUEUES).

        `fail_fast`: one connection attempt instead of the reconnection backoff, for
        probes that are repeated anyway (the runner's queue counts, listings).
        """
        return cls()

    def interrupt(self) -> None:
        """Cut short any reconnection backoff, now and later: the caller is stopping
        (safe from a signal handler). The interrupted operation raises TransportError."""
        return None

    def release(self, deliveries: Sequence[Delivery]) -> None:
        """Give back received deliveries that were not processed (a consumer stopping
        mid-batch), without counting a trial. Default: nothing, closing the connection
        returns them (amqp). The db transport makes them available at once."""
        return None

    @abc.abstractmethod
    def setup(self, topology: Topology) -> None:
        """Declare exchanges, queues (with their dead-letter queues) and bindings. Idempotent.

        `topology` is `queues.registry.topology(connection=self.name)`: only this
        transport's declarations, connections resolved.
        """

    @abc.abstractmethod
    def publish(self, exchange: str, envelopes: Sequence[Envelope]) -> None:
        """Route `envelopes` by topic through `exchange`, durably, confirmed as one batch.

        Return only when every message is stored; raise `PublishError` otherwise.
        """

    @abc.abstractmethod
    def receive(self, queue: str, max_count: int, timeout: float) -> list[Delivery]:
        """Return up to `max_count` deliveries from `queue`, waiting at most `timeout` seconds."""

    @abc.abstractmethod
    def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Acknowledge: the messages are done and will not be delivered again."""

    @abc.abstractmethod
    def retry(self, delivery: Delivery, error: str) -> None:
        """Give the message back for another trial (its `trials` grows by one)."""

    @abc.abstractmethod
    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """Move the message to the queue's dead-letter queue; it is never delivered again."""

    @abc.abstractmethod
    def count(self, queue: str) -> int:
        """Return how many messages wait in `queue` (not counting ones being processed)."""

    def depth(self, queue: str) -> Depth:
        """Return how full `queue` is (see Depth). Default: its `count()` only."""
        return Depth(waiting=self.count(queue))

    def depths(self, queues: Sequence[str]) -> dict[str, Depth]:
        """Return the Depth of each of `queues` (one query for the db transport)."""
        return {queue: self.depth(queue) for queue in queues}

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections. Safe to call twice."""
