"""Publishing with publisher confirms gathered for a whole batch.

pika's BlockingChannel waits for the broker's confirm after every `basic_publish`
once confirms are on: one round trip per message, about 1,600 messages/s here.
So this module drives the channel's underlying asynchronous channel (`_impl`, a
`pika.channel.Channel`, the class SelectConnection uses) for the publish itself:
it sends the whole batch, keeps each message's delivery tag, and lets the broker's
`basic.ack`/`basic.nack` frames (often `multiple=True`) settle them while the
BlockingConnection turns its I/O loop. pika is pinned below 2, where `_impl` is
stable; every use of it is in this module.

A batch whose connection drops is published again (only the unconfirmed part) on
a new connection, a bounded number of times; a message may therefore arrive twice,
which consumers absorb by de-duplicating on message id.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pika
from pika import exceptions as pika_exceptions
from pika.adapters.blocking_connection import BlockingChannel

from queues.exceptions import PublishError, TransportError, UnroutableError

from .connection import CONNECTION_ERRORS, Link, describe

logger = logging.getLogger(__name__)

T = TypeVar("T")

FLUSH_EVERY = 500  # messages between two turns of the I/O loop while publishing
MAX_IN_FLIGHT = 20_000  # unconfirmed messages before publishing waits for confirms


@dataclass(frozen=True)
class Outgoing:
    """One message to publish."""

    exchange: str
    routing_key: str
    body: bytes
    properties: pika.BasicProperties


class _Confirms:
    """The confirms awaited for one batch on one channel: delivery tag -> index in the batch."""

    def __init__(self) -> None:
        self.pending: OrderedDict[int, int] = OrderedDict()
        self.nacked: list[int] = []
        self.returned: list[str] = []
        self.wake_at = 0  # wake the waiting loop once no more than this many are pending
        self.woken = False

    def settle(self, tag: int, multiple: bool) -> list[int]:
        """Remove and return the indexes confirmed by an ack or nack of `tag`."""
        if not multiple:
            index = self.pending.pop(tag, None)
            return [] if index is None else [index]
        settled = []
        while self.pending and next(iter(self.pending)) <= tag:
            settled.append(self.pending.popitem(last=False)[1])
        return settled


class Publisher:
    """Publishes batches on its own connection and channel; also runs channel operations."""

    def __init__(
        self,
        link: Link,
        *,
        confirm: bool,
        confirm_timeout: float,
        attempts: int,
        raise_unroutable: bool,
    ) -> None:
        self._link = link
        self._raise_unroutable = raise_unroutable
        self._confirm = confirm
        self._timeout = confirm_timeout
        self._attempts = attempts
        self._channel: BlockingChannel | None = None
        self._next_tag = 0
        self._confirms: _Confirms | None = None
        self._closed_reason: BaseException | None = None

    def publish(self, messages: Sequence[Outgoing], *, mandatory: bool) -> None:
        """Publish `messages`; return once the broker confirmed every one.

        Raise `PublishError` naming how many were not confirmed (nacked, timed out,
        or still unconfirmed after the last reconnection). `mandatory` messages that
        nothing routes to a queue come back: they are logged, or raise
        `UnroutableError` if the publisher was made with `raise_unroutable`.
        """
        nacked: list[Outgoing] = []
        returned: list[str] = []
        remaining = list(messages)
        for attempt in range(1, self._attempts + 1):
            try:
                remaining = self._publish_once(remaining, mandatory, nacked, returned)
            except PublishError:
                raise
            except TransportError as exc:
                raise PublishError(
                    f"{len(remaining)} of {len(messages)} messages were not published: {exc}"
                ) from exc
            if not remaining:
                break
            logger.warning(
                "RabbitMQ connection lost while publishing: %d of %d messages unconfirmed, "
                "publishing them again (attempt %d of %d)",
                len(remaining),
                len(messages),
                attempt,
                self._attempts,
            )
        else:
            raise PublishError(
                f"{len(remaining)} of {len(messages)} messages were not confirmed by RabbitMQ "
                f"at {describe(self._link.url)}: the connection dropped {self._attempts} times"
            )
        if nacked:
            topics = sorted({m.routing_key for m in nacked})
            raise PublishError(
                f"RabbitMQ refused {len(nacked)} of {len(messages)} messages (basic.nack; "
                f"a full queue with x-overflow reject-publish, or an internal error); "
                f"topics: {', '.join(topics)}"
            )
        if returned:
            problem = (
                f"{len(returned)} of {len(messages)} messages were routed to no queue "
                f"(no binding matches their topic; the others were stored): "
                f"{', '.join(sorted(set(returned)))}"
            )
            if self._raise_unroutable:
                raise UnroutableError(problem)
            logger.warning("%s; RabbitMQ dropped them", problem)

    def run(self, operation: Callable[[BlockingChannel], T]) -> T:
        """Run `operation` on a fresh channel (closed afterwards), reconnecting once if needed.

        A channel the broker closes (a missing queue, a conflicting declaration)
        surfaces as pika's ChannelClosedByBroker for the caller to translate.
        """
        for attempt in (1, 2):
            connection = self._link.open()
            try:
                channel = connection.channel()
                try:
                    return operation(channel)
                finally:
                    if channel.is_open:
                        channel.close()
            except pika_exceptions.ChannelClosedByBroker:
                raise
            except CONNECTION_ERRORS as exc:
                self.drop()
                if attempt == 2:
                    raise TransportError(f"RabbitMQ connection lost: {exc!r}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def drop(self) -> None:
        """Forget the channel and the connection (after an error, or to close)."""
        self._channel = None
        self._link.drop()

    # -- one attempt ---------------------------------------------------------------

    def _publish_once(
        self, messages: list[Outgoing], mandatory: bool, nacked: list[Outgoing], returned: list[str]
    ) -> list[Outgoing]:
        """Publish `messages` on the current connection; return those left unconfirmed by a drop."""
        channel = self._open_channel()
        impl = channel._impl  # the asynchronous channel: see the module docstring
        confirms = self._confirms = _Confirms()
        sent = 0
        try:
            for message in messages:
                if self._confirm:
                    self._next_tag += 1
                    confirms.pending[self._next_tag] = sent
                impl.basic_publish(
                    message.exchange,
                    message.routing_key,
                    message.body,
                    message.properties,
                    mandatory,
                )
                sent += 1
                if sent % FLUSH_EVERY == 0:
                    self._await_confirms(channel, confirms, MAX_IN_FLIGHT)
            self._await_confirms(channel, confirms, 0)
        except CONNECTION_ERRORS as exc:
            self._raise_if_refused(channel, len(messages) - sent + len(confirms.pending), exc)
            logger.warning("RabbitMQ publisher connection lost: %r", exc)
            self.drop()
            unconfirmed = set(confirms.pending.values()) | set(range(sent, len(messages)))
            return [m for i, m in enumerate(messages) if i in unconfirmed]
        finally:
            self._confirms = None
            nacked.extend(messages[i] for i in confirms.nacked)
            returned.extend(confirms.returned)
        return []

    def _await_confirms(self, channel: BlockingChannel, confirms: _Confirms, at_most: int) -> None:
        """Turn the I/O loop until at most `at_most` confirms are pending.

        Raise `PublishError` when no confirm arrived for `confirm_timeout` seconds.
        """
        connection = self._link.connection
        assert connection is not None
        connection.process_data_events(0)  # flush what was published
        confirms.wake_at, confirms.woken = at_most, False
        last_count, deadline = len(confirms.pending), time.monotonic() + self._timeout
        while len(confirms.pending) > at_most:
            if channel.is_closed:
                if not connection.is_open:
                    raise pika_exceptions.ConnectionWrongStateError("the connection closed")
                self._raise_if_refused(channel, len(confirms.pending), None)
            if len(confirms.pending) != last_count:
                last_count, deadline = len(confirms.pending), time.monotonic() + self._timeout
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # Late confirms must not be taken for those of the next batch.
                self.drop()
                raise PublishError(
                    f"{len(confirms.pending)} messages were not confirmed by RabbitMQ "
                    f"within {self._timeout:g}s"
                )
            connection.process_data_events(min(remaining, 1.0))

    def _raise_if_refused(
        self, channel: BlockingChannel, unconfirmed: int, exc: BaseException | None
    ) -> None:
        """Raise `PublishError` if the broker closed the channel (the connection is fine)."""
        reason = self._closed_reason
        if not channel.is_closed or not isinstance(reason, pika_exceptions.ChannelClosedByBroker):
            if exc is None:
                raise PublishError(f"{unconfirmed} messages unconfirmed: the channel closed")
            return
        self._channel = None
        hint = " (run `manage.py queue_setup`)" if reason.reply_code == 404 else ""
        raise PublishError(
            f"RabbitMQ refused the batch, {unconfirmed} messages unconfirmed: "
            f"{reason.reply_code} {reason.reply_text}{hint}"
        ) from exc or reason

    # -- the channel -----------------------------------------------------------------

    def _open_channel(self) -> BlockingChannel:
        if self._channel is not None and self._channel.is_open and self._link.is_open:
            try:
                # Answer heartbeats and notice a close that happened while we were idle
                # (a publisher in a web process may sit unused for longer than the
                # heartbeat timeout), rather than losing a publish attempt to it.
                assert self._link.connection is not None
                self._link.connection.process_data_events(0)
            except CONNECTION_ERRORS as exc:
                logger.info(
                    "RabbitMQ publisher connection closed while idle (%r): reconnecting", exc
                )
                self.drop()
            else:
                if self._channel is not None and self._channel.is_open:
                    return self._channel
        self._channel = None
        connection = self._link.open()
        channel = connection.channel()
        impl = channel._impl
        self._closed_reason = None
        impl.add_on_close_callback(self._on_channel_closed)
        impl.add_on_return_callback(self._on_return)
        if self._confirm:
            selected: list[Any] = []

            def on_select_ok(frame: Any) -> None:
                selected.append(frame)
                connection.call_later(0, _wake)

            impl.confirm_delivery(ack_nack_callback=self._on_confirm, callback=on_select_ok)
            deadline = time.monotonic() + self._timeout
            while not selected:
                if channel.is_closed or time.monotonic() > deadline:
                    raise TransportError(
                        "RabbitMQ did not enable publisher confirms on the channel"
                    )
                connection.process_data_events(1.0)
        self._next_tag = 0
        self._channel = channel
        return channel

    def _on_confirm(self, frame: Any) -> None:
        confirms = self._confirms
        if confirms is None:
            return
        method = frame.method
        indexes = confirms.settle(method.delivery_tag, method.multiple)
        if isinstance(method, pika.spec.Basic.Nack):
            confirms.nacked.extend(indexes)
        if len(confirms.pending) <= confirms.wake_at and not confirms.woken:
            confirms.woken = True
            if self._link.connection is not None:
                self._link.connection.call_later(0, _wake)

    def _on_return(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        # RabbitMQ sends basic.return before the basic.ack of the same message.
        if self._confirms is not None:
            self._confirms.returned.append(method.routing_key)
        logger.debug(
            "RabbitMQ returned message %s (topic %s) from exchange %r: %s",
            properties.message_id,
            method.routing_key,
            method.exchange,
            method.reply_text,
        )

    def _on_channel_closed(self, channel: Any, reason: BaseException) -> None:
        self._closed_reason = reason


def _wake() -> None:
    """A no-op timer callback: its only effect is to end `process_data_events` early."""
