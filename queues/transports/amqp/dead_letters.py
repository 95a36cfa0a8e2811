"""Dead letters on RabbitMQ: browse `<queue>.dlq` without losing a message, send back, discard.

`queues.dead_letters` is the interface; this is its RabbitMQ half (pika stays in
`queues/transports/amqp/`).

- Browsing takes messages with `basic.get` on a channel of its own, never
  acknowledging them, at most `scan_limit` per look, and gives them all back
  (`basic.nack` with requeue, then the channel closes; a dropped connection gives
  them back too). A classic queue keeps them in their places. While a look is under
  way the messages it holds are invisible to another look (and to the count).
- Sending back publishes a copy of each chosen message, with publisher confirms, to
  the original queue through the default exchange (so only that queue gets it),
  with its message id, topic and the caller's headers, and without the trials and
  dead-letter headers; only once every copy is confirmed are the dead ones
  acknowledged. A crash in between leaves a message in both places, never in neither.
- Discarding acknowledges the chosen messages.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pika
from pika import exceptions as pika_exceptions
from pika.adapters.blocking_connection import BlockingChannel

from queues.conf import queue_settings
from queues.dead_letters import DeadLetter, Page, pretty
from queues.exceptions import PublishError, TransportError

from . import codec
from .connection import CONNECTION_ERRORS, Backoff, Link, describe
from .publisher import Outgoing, Publisher
from .topology import dead_letter_queue

logger = logging.getLogger(__name__)

SCAN_LIMIT = 500  # messages read per look when a filter or a page after a key is asked

DEAD_AT_HEADER = codec.DEAD_AT_HEADER  # when a message was dead-lettered (epoch seconds)
# Headers about a message's failures and dead-lettering, dropped when it is sent back.
FAILURE_HEADERS = (
    codec.TRIALS_HEADER,
    codec.LAST_ERROR_HEADER,
    codec.DEAD_LETTER_REASON_HEADER,
    codec.DEAD_LETTER_QUEUE_HEADER,
    DEAD_AT_HEADER,
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
)


@dataclass(frozen=True)
class Got:
    """A message taken from a dead-letter queue and not acknowledged yet."""

    tag: int
    routing_key: str
    properties: pika.BasicProperties
    body: bytes

    @property
    def key(self) -> str:
        return message_key(self.properties, self.body)

    @property
    def topic(self) -> str:
        headers = self.properties.headers or {}
        topic = self.properties.type or headers.get(codec.TOPIC_HEADER) or self.routing_key
        return topic.decode("utf-8", "replace") if isinstance(topic, bytes) else str(topic)


def message_key(properties: pika.BasicProperties, body: bytes) -> str:
    """Return the handle of a dead letter: its message id, else a digest of its body."""
    if properties.message_id:
        return str(properties.message_id)
    return "sha1:" + hashlib.sha1(body).hexdigest()[:20]


class DeadLetterBrowser:
    """One connection (and one for confirmed publishing) to look at and act on dead letters.

    Use as a context manager, or call `close()`.
    """

    def __init__(self, url: str | None = None, *, backoff: Backoff | None = None) -> None:
        self.url = url or queue_settings.AMQP_URL
        backoff = backoff or Backoff(attempts=1)
        self._link = Link(self.url, "dead letters", backoff)
        self._publisher = Publisher(
            Link(self.url, "dead letters publisher", backoff),
            confirm=True,
            confirm_timeout=30.0,
            attempts=1,
            raise_unroutable=True,
        )

    @classmethod
    def from_settings(cls) -> DeadLetterBrowser:
        return cls()

    def __enter__(self) -> DeadLetterBrowser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._publisher.drop()
        self._link.drop()

    # -- reading -----------------------------------------------------------------------------
    def count(self, queue: str, *, topic: str | None = None, scan_limit: int = 500) -> int:
        """Return the dead letters of `queue` (of `topic`: among the first `scan_limit`)."""
        if topic is None:
            with self._channel(queue) as channel:
                return self._ready(channel, queue)
        with self._held(queue, scan_limit) as (_channel, held):
            return sum(1 for got in held if got.topic == topic)

    def browse(self, queue: str, *, topic: str | None, limit: int, after: str | None) -> Page:
        """Return up to `limit` dead letters of `queue` after key `after`, putting all back."""
        scan = limit + 1 if after is None and topic is None else SCAN_LIMIT
        with self._held(queue, scan) as (channel, held):
            unread = self._ready(channel, queue)
        letters: list[DeadLetter] = []
        more, seen_after = False, after is None
        for got in held:
            if not seen_after:
                seen_after = got.key == after
                continue
            if topic is not None and got.topic != topic:
                continue
            if len(letters) == limit:
                more = True
                break
            letters.append(to_dead_letter(queue, got))
        return Page(
            queue, letters, more=more or bool(unread and topic is None), scanned_all=not unread
        )

    # -- acting --------------------------------------------------------------------------------
    def act(
        self,
        kind: str,
        queue: str,
        *,
        keys: Sequence[str] | None,
        topic: str | None,
        limit: int,
        scan_limit: int,
    ) -> tuple[int, int, list[str]]:
        """Send back ("requeue") or discard up to `limit` dead letters of `queue` matching
        `keys` (None: all) and `topic`; return (done, still matching, keys acted on)."""
        wanted = set(keys) if keys is not None else None
        everything = wanted is None and topic is None
        scan = limit if everything else max(scan_limit, limit)
        with self._held(queue, scan) as (channel, held):
            matching = [
                got
                for got in held
                if (wanted is None or got.key in wanted) and (topic is None or got.topic == topic)
            ]
            matching_keys = list(dict.fromkeys(got.key for got in matching))
            chosen_keys = matching_keys[:limit]
            keep = set(chosen_keys)
            chosen = [got for got in matching if got.key in keep]
            if kind == "requeue" and chosen:
                self._send_back(queue, chosen)
            try:
                for got in chosen:
                    channel.basic_ack(got.tag)
            except CONNECTION_ERRORS as exc:
                # Sent back but still dead: sending them back again is harmless (de-duplication).
                raise TransportError(
                    f"the acknowledgement of {len(chosen)} dead letter(s) of {queue!r} was lost "
                    f"({exc!r}): they are back in the queue and still in the dead letters"
                ) from exc
            done = len(chosen)
            remaining = len(matching_keys) - len(chosen_keys)
        if everything:  # what was not even looked at remains too
            with self._channel(queue) as channel:
                remaining = self._ready(channel, queue)
        logger.info(
            "dead letters of %s: %d %s, %d remain",
            queue,
            done,
            "sent back" if kind == "requeue" else "discarded",
            remaining,
        )
        return done, remaining, chosen_keys

    def _send_back(self, queue: str, chosen: list[Got]) -> None:
        once: dict[str, Got] = {}
        for got in chosen:
            once.setdefault(got.key, got)
        outgoing = [
            Outgoing("", queue, got.body, sent_back_properties(got.properties))
            for got in once.values()
        ]
        try:
            self._publisher.publish(outgoing, mandatory=True)
        except PublishError as exc:
            raise PublishError(
                f"sending {len(outgoing)} dead letter(s) back to {queue!r} failed, none was "
                f"removed from the dead letters (some may be in the queue twice now): {exc}"
            ) from exc

    # -- channels ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _channel(self, queue: str) -> Iterator[BlockingChannel]:
        channel = self._open_channel()
        try:
            yield channel
        except pika_exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == 404:
                raise TransportError(
                    f"the dead-letter queue {dead_letter_queue(queue)!r} does not exist on "
                    f"RabbitMQ at {describe(self.url)}: run `manage.py queue_setup`"
                ) from exc
            raise TransportError(
                f"RabbitMQ refused access to {dead_letter_queue(queue)!r}: {exc!r}"
            ) from exc
        except CONNECTION_ERRORS as exc:
            self._link.drop()  # the broker gives back what this connection held
            raise TransportError(f"RabbitMQ connection lost: {exc!r}") from exc
        finally:
            if channel.is_open:
                with contextlib.suppress(*CONNECTION_ERRORS, pika_exceptions.AMQPChannelError):
                    channel.close()

    def _open_channel(self) -> BlockingChannel:
        # A connection kept between looks (the live counts) may have been closed by the
        # broker meanwhile: one fresh connection is tried before giving up.
        for attempt in (1, 2):
            try:
                return self._link.open().channel()
            except CONNECTION_ERRORS as exc:
                self._link.drop()
                if attempt == 2:
                    raise TransportError(f"RabbitMQ connection lost: {exc!r}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    @contextlib.contextmanager
    def _held(self, queue: str, scan_limit: int) -> Iterator[tuple[BlockingChannel, list[Got]]]:
        """Take up to `scan_limit` messages of the dead-letter queue without acknowledging
        them; give back, on leaving, every one not acknowledged meanwhile."""
        with self._channel(queue) as channel:
            held: list[Got] = []
            try:
                while len(held) < scan_limit:
                    method, properties, body = channel.basic_get(
                        dead_letter_queue(queue), auto_ack=False
                    )
                    if method is None:
                        break
                    held.append(Got(method.delivery_tag, method.routing_key, properties, body))
                yield channel, held
            finally:
                if held and channel.is_open:
                    with contextlib.suppress(*CONNECTION_ERRORS):
                        # Every unacknowledged message of the channel goes back in its place.
                        channel.basic_nack(0, multiple=True, requeue=True)

    @staticmethod
    def _ready(channel: BlockingChannel, queue: str) -> int:
        return channel.queue_declare(dead_letter_queue(queue), passive=True).method.message_count


def sent_back_properties(properties: pika.BasicProperties) -> pika.BasicProperties:
    """Return the properties of a dead letter sent back: as published, without the
    headers of its failures (trials start again at 0)."""
    headers = {
        key: value
        for key, value in (properties.headers or {}).items()
        if key not in FAILURE_HEADERS
    }
    return pika.BasicProperties(
        content_type=properties.content_type,
        content_encoding=properties.content_encoding,
        delivery_mode=codec.PERSISTENT,
        message_id=properties.message_id,
        type=properties.type,
        timestamp=properties.timestamp,
        correlation_id=properties.correlation_id,
        app_id=properties.app_id,
        headers=headers,
    )


def to_dead_letter(queue: str, got: Got) -> DeadLetter:
    """Return what the page shows of a message of `queue`'s dead-letter queue."""
    headers = got.properties.headers or {}
    envelope = codec.decode(got.properties, got.body)
    if envelope is not None:
        body, caller = pretty(envelope.body), envelope.headers
    else:
        body = got.body.decode("utf-8", errors="replace")
        caller = codec.caller_headers(headers)
    return DeadLetter(
        queue=queue,
        key=got.key,
        message_id=str(got.properties.message_id or ""),
        topic=got.topic,
        headers={k: _plain(v) for k, v in caller.items()},
        body=body,
        reason=reason_of(headers),
        dead_at=dead_at_of(headers),
        trials=codec.trials(got.properties),
        decodable=envelope is not None,
        published_at=_moment(got.properties.timestamp),
    )


def reason_of(headers: dict[str, Any]) -> str:
    """Return why a message was dead-lettered: the consumer's reason, else RabbitMQ's."""
    reason = headers.get(codec.DEAD_LETTER_REASON_HEADER)
    if reason:
        return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    deaths = headers.get("x-death") or []
    if deaths and isinstance(deaths[0], dict):
        why = deaths[0].get("reason")
        why = why.decode() if isinstance(why, bytes) else why
        return f"dead-lettered by RabbitMQ ({why}), without a reason from the consumer"
    return "no reason recorded"


def dead_at_of(headers: dict[str, Any]) -> datetime | None:
    """Return when a message was dead-lettered, if its headers say."""
    moment = _moment(headers.get(DEAD_AT_HEADER))
    if moment is not None:
        return moment
    deaths = headers.get("x-death") or []
    if deaths and isinstance(deaths[0], dict):
        return _moment(deaths[0].get("time"))
    return None


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, datetime):
        return value.isoformat()
    return value
