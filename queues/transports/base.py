"""The contract every transport (`db`, `amqp`) implements.

The consumer runtime and the publisher only talk to this interface, so both
transports pass the same behavioural test suite. A transport owns its connections;
it is used from one thread at a time (create one per thread).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


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


class Transport(abc.ABC):
    """One connection to one transport. Not thread-safe: one instance per thread."""

    name: str = ""

    @abc.abstractmethod
    def setup(self, topology: Any) -> None:
        """Declare exchanges, queues (with their dead-letter queues) and bindings. Idempotent."""

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

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections. Safe to call twice."""
