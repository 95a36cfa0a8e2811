"""The `amqp` transport: RabbitMQ through pika. The only place that imports pika.

- Topology (`setup`): durable topic exchanges, durable queues (classic, or quorum by
  configuration), a dead-letter exchange and queue `<queue>.dlq` per queue, bindings
  from topic patterns. See `topology.py`.
- Publishing: persistent JSON messages with `message_id`, the topic as `type`,
  routing key and `topic_name` header, and the caller's headers; publisher confirms
  gathered for the whole batch; messages routed nowhere raise `UnroutableError`.
  See `publisher.py`.
- Consuming: prefetch per consumer, manual acknowledgement. See `consumer.py`.
- Reconnection with bounded exponential backoff for publishers and consumers alike.
  See `connection.py`.

pika's errors are translated into `queues.exceptions` (`TransportError`,
`PublishError`).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from pika import exceptions as pika_exceptions

from queues.conf import queue_settings
from queues.exceptions import PublishError, TransportError, UnroutableError
from queues.transports.base import Delivery, Depth, Envelope, Transport

from . import codec
from .connection import Backoff, Link, describe
from .consumer import Consumer, DeliveryTag
from .publisher import Outgoing, Publisher
from .topology import amqp_part, dead_letter_exchange, dead_letter_queue, declare

__all__ = [
    "AmqpTransport",
    "Backoff",
    "DeliveryTag",
    "UnroutableError",
    "dead_letter_exchange",
    "dead_letter_queue",
]

logger = logging.getLogger(__name__)

QUEUE_TYPES = ("classic", "quorum")


class AmqpTransport(Transport):
    """RabbitMQ: one publishing and one consuming connection, each opened on first use.

    `prefetch` (default QUEUES["AMQP_PREFETCH"]) is applied per consumer, raised to the
    batch size asked of `receive`. `queue_type` is "classic" or "quorum" (default
    QUEUES["AMQP_QUEUE_TYPE"]). `confirm` turns publisher confirms on (the default;
    without them `publish` cannot know a message is stored). Messages are published
    `mandatory`: one that no binding routes is returned by RabbitMQ, and `publish` raises
    `UnroutableError` (as the db transport does) after the batch is confirmed; with
    `raise_unroutable=False` it is only logged.
    `confirm_timeout` bounds the wait for confirms (without progress), `publish_attempts`
    the publishes of a batch over reconnections, `backoff` each reconnection.
    """

    name = "amqp"

    def __init__(
        self,
        url: str | None = None,
        *,
        prefetch: int | None = None,
        queue_type: str | None = None,
        confirm: bool = True,
        mandatory: bool = True,
        raise_unroutable: bool = True,
        confirm_timeout: float = 30.0,
        publish_attempts: int = 3,
        backoff: Backoff | None = None,
    ) -> None:
        self.url: str = url or queue_settings.AMQP_URL
        self.prefetch = int(prefetch or queue_settings.AMQP_PREFETCH or 100)
        self.queue_type = queue_type or queue_settings.AMQP_QUEUE_TYPE or "classic"
        if self.queue_type not in QUEUE_TYPES:
            raise ImproperlyConfigured(
                f"AMQP queue type must be one of {', '.join(QUEUE_TYPES)}, not {self.queue_type!r}"
            )
        self.mandatory = mandatory
        backoff = backoff or Backoff(
            attempts=queue_settings.AMQP_RECONNECT_ATTEMPTS,
            max_delay=queue_settings.AMQP_RECONNECT_MAX_DELAY,
        )
        self._interrupted = threading.Event()
        self._publisher = Publisher(
            Link(self.url, "publisher", backoff, self._interrupted),
            confirm=confirm,
            confirm_timeout=confirm_timeout,
            attempts=publish_attempts,
            raise_unroutable=raise_unroutable,
        )
        self._consumer = Consumer(
            Link(self.url, "consumer", backoff, self._interrupted), prefetch=self.prefetch
        )

    @classmethod
    def from_settings(cls, *, fail_fast: bool = False) -> AmqpTransport:
        """Return a transport for QUEUES["AMQP_URL"], its prefetch and queue type;
        with `fail_fast`, one that gives up after one connection attempt."""
        return cls(backoff=Backoff(attempts=1)) if fail_fast else cls()

    def __repr__(self) -> str:
        return f"<AmqpTransport {describe(self.url)}>"

    def setup(self, topology: Any) -> None:
        """Declare the amqp exchanges, queues (each with `<queue>.dlq`) and bindings of
        `topology`."""
        part = amqp_part(topology)
        try:
            self._publisher.run(lambda channel: declare(channel, part, self.queue_type))
        except pika_exceptions.ChannelClosedByBroker as exc:
            hint = ""
            if exc.reply_code == 406:
                hint = (
                    " — RabbitMQ cannot change an existing queue's arguments or type: "
                    "delete the queue (after draining it) and run queue_setup again"
                )
            raise TransportError(
                f"RabbitMQ refused the topology: {exc.reply_code} {exc.reply_text}{hint}"
            ) from exc
        logger.info(
            "declared %d exchanges, %d queues and %d bindings on RabbitMQ at %s",
            len(part.exchanges),
            len(part.queues),
            len(part.bindings),
            describe(self.url),
        )

    def teardown(self, topology: Any) -> None:
        """Delete the amqp queues of `topology` with their dead-letter queues and exchanges,
        then its exchanges. Their messages are lost: for tests and decommissioning."""
        part = amqp_part(topology)

        def delete(channel: Any) -> None:
            for queue in part.queues:
                channel.queue_delete(queue.name)
                channel.queue_delete(dead_letter_queue(queue.name))
                channel.exchange_delete(dead_letter_exchange(queue.name))
            for exchange in part.exchanges:
                channel.exchange_delete(exchange.name)

        try:
            self._publisher.run(delete)
        except pika_exceptions.ChannelClosedByBroker as exc:
            raise TransportError(f"RabbitMQ refused to delete the topology: {exc!r}") from exc

    def publish(self, exchange: str, envelopes: Sequence[Envelope]) -> None:
        """Publish `envelopes` through `exchange` (routing key = topic), confirmed as one batch."""
        if not envelopes:
            return
        messages = []
        for envelope in envelopes:
            body, properties = codec.encode(envelope)
            messages.append(Outgoing(exchange, envelope.topic, body, properties))
        self._publisher.publish(messages, mandatory=self.mandatory)

    def receive(self, queue: str, max_count: int, timeout: float) -> list[Delivery]:
        return self._consumer.receive(queue, max_count, timeout)

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        self._consumer.ack(deliveries)

    def release(self, deliveries: Sequence[Delivery]) -> None:
        """Requeue deliveries that were received but not processed (no trial counted)."""
        for delivery in deliveries:
            self._consumer.reject(delivery, requeue=True)

    def retry(self, delivery: Delivery, error: str) -> None:
        """Publish a copy with one more trial to the end of the queue, confirmed; then ack."""
        held = self._consumer.held(delivery)
        if held is None:
            logger.info("retry of a message on a closed channel skipped: it is delivered again")
            return
        properties = codec.with_headers(
            held.properties,
            **{codec.TRIALS_HEADER: delivery.trials + 1, codec.LAST_ERROR_HEADER: error[:1000]},
        )
        try:
            # The default exchange routes by queue name: the copy goes to this queue only.
            self._publisher.publish(
                [Outgoing("", delivery.queue, held.body, properties)], mandatory=True
            )
        except PublishError:
            self._consumer.reject(delivery, requeue=True)
            raise
        self._consumer.ack([delivery])

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """Publish a copy with the reason to `<queue>.dlq`, confirmed; then ack the original."""
        held = self._consumer.held(delivery)
        if held is None:
            logger.info(
                "dead-lettering a message on a closed channel skipped: it is delivered again"
            )
            return
        properties = codec.with_headers(
            held.properties,
            **{
                codec.DEAD_LETTER_REASON_HEADER: reason[:1000],
                codec.DEAD_LETTER_QUEUE_HEADER: delivery.queue,
                codec.TRIALS_HEADER: delivery.trials,
                codec.DEAD_AT_HEADER: int(time.time()),
            },
        )
        outgoing = Outgoing(
            dead_letter_exchange(delivery.queue), held.routing_key, held.body, properties
        )
        try:
            self._publisher.publish([outgoing], mandatory=True)
        except PublishError as exc:
            logger.error(
                "cannot publish message %s to %s (%s): rejecting it instead, so that RabbitMQ "
                "dead-letters it through the queue's x-dead-letter-exchange, without the reason",
                held.properties.message_id,
                dead_letter_queue(delivery.queue),
                exc,
            )
            self._consumer.reject(delivery, requeue=False)
            return
        self._consumer.ack([delivery])

    def count(self, queue: str) -> int:
        """Return the number of messages ready in `queue` (passive declare)."""
        try:
            return self._publisher.run(
                lambda channel: channel.queue_declare(queue, passive=True).method.message_count
            )
        except pika_exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == 404:
                raise TransportError(
                    f"queue {queue!r} does not exist on RabbitMQ at {describe(self.url)}: "
                    "run `manage.py queue_setup`"
                ) from exc
            raise TransportError(f"RabbitMQ refused to count {queue!r}: {exc!r}") from exc

    def depth(self, queue: str) -> Depth:
        """Return `queue`'s ready messages and consumers (passive declare), the messages
        of its dead-letter queue, and its unacknowledged ones from RabbitMQ's management
        API if QUEUES["AMQP_MANAGEMENT_URL"] is set (else None)."""

        def declared(channel: Any) -> tuple[Any, Any]:
            main = channel.queue_declare(queue, passive=True).method
            dead = channel.queue_declare(dead_letter_queue(queue), passive=True).method
            return main, dead

        try:
            main, dead = self._publisher.run(declared)
        except pika_exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == 404:
                raise TransportError(
                    f"queue {queue!r} (or its dead-letter queue) does not exist on RabbitMQ "
                    f"at {describe(self.url)}: run `manage.py queue_setup`"
                ) from exc
            raise TransportError(f"RabbitMQ refused to describe {queue!r}: {exc!r}") from exc
        return Depth(
            waiting=main.message_count,
            unacked=self._unacked(queue),
            consumers=main.consumer_count,
            dead=dead.message_count,
        )

    def _unacked(self, queue: str) -> int | None:
        """Return the queue's unacknowledged messages from the management API, or None
        (no AMQP_MANAGEMENT_URL, or the API did not answer within a second)."""
        base = queue_settings.AMQP_MANAGEMENT_URL
        if not base:
            return None
        parts = urllib.parse.urlsplit(base)
        vhost = urllib.parse.unquote(urllib.parse.urlsplit(self.url).path[1:] or "/")
        quote = urllib.parse.quote
        path = f"/api/queues/{quote(vhost, safe='')}/{quote(queue, safe='')}"
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        url = urllib.parse.urlunsplit((parts.scheme, netloc, path, "", ""))
        request = urllib.request.Request(url)
        user = urllib.parse.unquote(parts.username or "guest")
        password = urllib.parse.unquote(parts.password or "guest")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=1.0) as response:  # noqa: S310 - configured URL
                data = json.loads(response.read())
            return int(data.get("messages_unacknowledged", 0))
        except (OSError, ValueError) as exc:
            logger.info("RabbitMQ management API at %s did not answer: %s", describe(base), exc)
            return None

    def purge(self, queue: str) -> int:
        """Delete the messages waiting in `queue`; return how many there were."""
        try:
            return self._publisher.run(
                lambda channel: channel.queue_purge(queue).method.message_count
            )
        except pika_exceptions.ChannelClosedByBroker as exc:
            raise TransportError(f"RabbitMQ refused to purge {queue!r}: {exc!r}") from exc

    def interrupt(self) -> None:
        """End reconnection waits at once (a consumer stopping on SIGTERM)."""
        self._interrupted.set()

    def close(self) -> None:
        self._consumer.drop()
        self._publisher.drop()
