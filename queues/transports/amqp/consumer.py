"""Consuming: one channel, one basic.consume per queue, deliveries buffered until received.

The broker pushes up to `prefetch` unacknowledged messages per consumer (per
queue); they wait in a buffer until `receive` hands them out. Acknowledgements go
out as one `multiple=True` ack when the acknowledged deliveries are the oldest
ones held, as they are when a consumer works through its batches in order.

Delivery tags only mean something on the channel that delivered them: each
`Delivery.tag` is a `DeliveryTag(channel, number)`, and after a reconnection the
deliveries of the old channel are ignored by `ack`, `retry` and `dead_letter`
(RabbitMQ delivers them again; the consumer runtime skips the ones it already
processed by message id).
"""

from __future__ import annotations

import functools
import logging
import time
from collections import deque
from collections.abc import Sequence
from typing import Any, NamedTuple

import pika
from pika import exceptions as pika_exceptions
from pika.adapters.blocking_connection import BlockingChannel

from queues.exceptions import TransportError
from queues.transports.base import Delivery

from . import codec
from .connection import CONNECTION_ERRORS, Link, describe

logger = logging.getLogger(__name__)


class DeliveryTag(NamedTuple):
    """The transport's handle of a delivery: which consumer channel, and RabbitMQ's tag on it."""

    channel: int
    number: int


class Held(NamedTuple):
    """An unacknowledged message, kept so that it can be published again (retry, dead letter)."""

    queue: str
    routing_key: str
    properties: pika.BasicProperties
    body: bytes


class Consumer:
    """Receives from any number of queues over one connection and one channel."""

    def __init__(self, link: Link, *, prefetch: int) -> None:
        self._link = link
        self._prefetch = prefetch
        self._channel: BlockingChannel | None = None
        self._generation = 0
        self._subscriptions: dict[str, str] = {}  # queue -> consumer tag
        self._buffers: dict[str, deque[Delivery]] = {}
        self._held: dict[int, Held] = {}  # delivery tag -> message, ascending

    def receive(self, queue: str, max_count: int, timeout: float) -> list[Delivery]:
        """Return up to `max_count` deliveries from `queue` within `timeout` seconds.

        Return as soon as `max_count` are there, or as soon as some are there and no
        more are waiting on the socket. Reconnect when the connection drops.
        """
        deadline = time.monotonic() + timeout
        losses = 0
        while True:
            try:
                return self._receive(queue, max_count, deadline)
            except pika_exceptions.ChannelClosedByBroker as exc:
                self._forget_channel()
                if exc.reply_code == 404:
                    raise TransportError(
                        f"queue {queue!r} does not exist on RabbitMQ at "
                        f"{describe(self._link.url)}: run `manage.py queue_setup`"
                    ) from exc
                raise TransportError(
                    f"RabbitMQ closed the channel consuming {queue!r}: "
                    f"{exc.reply_code} {exc.reply_text}"
                ) from exc
            except CONNECTION_ERRORS as exc:
                losses += 1
                self.drop()
                attempts = self._link.backoff.attempts
                if attempts is not None and losses > attempts:
                    raise TransportError(
                        f"RabbitMQ consumer connection keeps dropping: {exc!r}"
                    ) from exc
                logger.warning(
                    "RabbitMQ consumer connection lost while receiving from %s (%r): reconnecting; "
                    "its unacknowledged messages are delivered again",
                    queue,
                    exc,
                )

    def held(self, delivery: Delivery) -> Held | None:
        """Return the unacknowledged message of `delivery`, or None when its channel is gone."""
        tag = delivery.tag
        if not isinstance(tag, DeliveryTag) or tag.channel != self._generation:
            return None
        return self._held.get(tag.number)

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Acknowledge the deliveries still held; ignore those of a closed channel."""
        numbers = {d.tag.number for d in deliveries if self.held(d) is not None}
        if len(numbers) < len(deliveries):
            logger.info(
                "%d acknowledgements skipped: their channel closed, RabbitMQ delivers them again",
                len(deliveries) - len(numbers),
            )
        if not numbers or self._channel is None:
            return
        last_of_prefix = 0
        for number in self._held:  # ascending: delivery tags grow on a channel
            if number not in numbers:
                break
            last_of_prefix = number
        try:
            if last_of_prefix:
                self._channel.basic_ack(last_of_prefix, multiple=True)
            for number in sorted(n for n in numbers if n > last_of_prefix):
                self._channel.basic_ack(number)
        except CONNECTION_ERRORS as exc:
            logger.warning(
                "%d acknowledgements lost with the RabbitMQ connection (%r): "
                "RabbitMQ delivers those messages again",
                len(numbers),
                exc,
            )
            self.drop()
            return
        for number in numbers:
            del self._held[number]

    def reject(self, delivery: Delivery, *, requeue: bool) -> None:
        """Reject `delivery` (requeued, or dead-lettered by the queue's x-dead-letter-exchange)."""
        if self.held(delivery) is None or self._channel is None:
            return
        number = delivery.tag.number
        try:
            self._channel.basic_reject(number, requeue=requeue)
        except CONNECTION_ERRORS as exc:
            logger.warning(
                "reject of %s lost with the RabbitMQ connection: %r", delivery.queue, exc
            )
            self.drop()
            return
        del self._held[number]

    def drop(self) -> None:
        """Forget the channel, its deliveries and the connection."""
        self._forget_channel()
        self._link.drop()

    # -- internals -----------------------------------------------------------------

    def _receive(self, queue: str, max_count: int, deadline: float) -> list[Delivery]:
        buffer = self._subscribe(queue, max_count)
        while len(buffer) < max_count:
            connection, channel = self._link.connection, self._channel
            if connection is None or channel is None or channel.is_closed:
                raise pika_exceptions.ChannelWrongStateError("the consumer channel closed")
            if queue not in self._subscriptions:  # cancelled by the broker
                buffer = self._subscribe(queue, max_count)
            if buffer:
                connection.process_data_events(0)  # take what already arrived, don't wait
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            connection.process_data_events(remaining)
        return [buffer.popleft() for _ in range(min(max_count, len(buffer)))]

    def _subscribe(self, queue: str, max_count: int) -> deque[Delivery]:
        if self._channel is None or self._channel.is_closed or not self._link.is_open:
            self._open_channel()
        assert self._channel is not None
        if queue not in self._subscriptions:
            # global_qos=False: RabbitMQ applies the prefetch to each new consumer. Twice
            # the batch, so that the next batch is on its way while this one is handled.
            self._channel.basic_qos(prefetch_count=max(self._prefetch, 2 * max_count))
            self._buffers.setdefault(queue, deque())
            self._subscriptions[queue] = self._channel.basic_consume(
                queue, functools.partial(self._on_delivery, queue)
            )
        return self._buffers[queue]

    def _open_channel(self) -> None:
        self._forget_channel()
        channel = self._link.open().channel()
        channel.add_on_cancel_callback(self._on_cancelled)
        self._channel = channel

    def _forget_channel(self) -> None:
        channel, self._channel = self._channel, None
        self._generation += 1
        self._subscriptions.clear()
        self._buffers.clear()
        self._held.clear()
        if channel is not None and channel.is_open:
            try:
                channel.close()
            except CONNECTION_ERRORS + (pika_exceptions.AMQPChannelError,) as exc:
                logger.debug("closing the RabbitMQ consumer channel failed: %r", exc)

    def _on_delivery(
        self, queue: str, channel: Any, method: Any, properties: pika.BasicProperties, body: bytes
    ) -> None:
        number = method.delivery_tag
        self._held[number] = Held(queue, method.routing_key, properties, body)
        envelope = codec.decode(properties, body)
        self._buffers[queue].append(
            Delivery(
                queue=queue,
                tag=DeliveryTag(self._generation, number),
                envelope=envelope,
                trials=codec.trials(properties),
                redelivered=bool(method.redelivered),
                raw=None if envelope is not None else body,
            )
        )

    def _on_cancelled(self, frame: Any) -> None:
        # The queue was deleted, or (quorum queues) its leader moved: subscribe again.
        tag = frame.method.consumer_tag
        for queue, consumer_tag in list(self._subscriptions.items()):
            if consumer_tag == tag:
                logger.warning("RabbitMQ cancelled the consumer of %s", queue)
                del self._subscriptions[queue]
