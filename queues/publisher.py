"""Publishing: `publish`, `publish_many` and their `*_on_commit` variants.

A message is an Envelope: JSON body, `message_id`, topic and the caller's headers.
The topic's enabled Publisher names the connection and exchange. Transports are
kept in a pool per process and reused by whichever thread publishes next (under
ASGI every request may run in a thread of its own: a transport per thread would
open a RabbitMQ connection per request); one is used by one thread at a time, and
one left idle longer than IDLE_SECONDS is closed instead of reused. After a dropped
connection the send is retried on a fresh one with a bounded backoff. Consumers de-duplicate by
`message_id`, so a retried send that had in fact arrived is harmless.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from queues import conf, registry, schema
from queues.backoff import Backoff
from queues.exceptions import PublishError, TransportError
from queues.transports import Envelope, Transport, create_transport

logger = logging.getLogger(__name__)

# Attempts after a connection failure (TransportError), waiting 0.1 s, 0.5 s and 2 s
# between them, then PublishError. A PublishError (not confirmed, unroutable) is
# raised at once.
SEND_BACKOFF = Backoff(delay=0.1, max_delay=2.0, attempts=4, factor=5)


@dataclass(frozen=True)
class OutgoingMessage:
    """One message for `publish_many`: topic, JSON body, headers, optional id."""

    topic: str
    body: dict[str, Any]
    headers: Mapping[str, Any] | None = None
    message_id: str | None = None


MessageSpec = OutgoingMessage | tuple[str, dict[str, Any], Mapping[str, Any] | None]

# Idle transports per (connection, fail_fast), the most recently used last, with the
# time each was put back.
_pool: dict[tuple[str, bool], list[tuple[Transport, float]]] = {}
_pool_lock = threading.Lock()
IDLE_SECONDS = 30.0  # under RabbitMQ's heartbeat timeout: a connection older may be gone
MAX_IDLE = 8


def new_message_id() -> str:
    return uuid.uuid4().hex


def publish(
    topic: str,
    body: dict[str, Any],
    headers: Mapping[str, Any] | None = None,
    message_id: str | None = None,
) -> str:
    """Publish one message now and return its message_id.

    Raise PublishError if the transport does not confirm it. On the db transport the
    message is written in the caller's transaction; use `publish_on_commit` from
    inside a transaction that must commit first.
    """
    return publish_many([OutgoingMessage(topic, body, headers, message_id)])[0]


def publish_many(messages: Sequence[MessageSpec], *, patient: bool = True) -> list[str]:
    """Publish many messages now, one confirmed batch per exchange; return their ids
    in order. Raise MessageSchemaError (before sending anything) if a body does not
    follow its topic's schema, PublishError if any batch is not confirmed.

    `patient=False` makes one connection attempt and no retry, for a caller that has
    a fallback of its own (the operations' outbox relay): a web request must not wait
    out a broker outage."""
    outgoing = [_outgoing(m) for m in messages]
    groups: dict[tuple[str, str], list[Envelope]] = {}
    ids: list[str] = []
    for message in outgoing:
        topic = registry.topic(message.topic)
        if topic is not None and topic.schema:
            schema.validate(message.topic, message.body, topic.schema)
        pub = registry.publisher(message.topic)
        envelope = Envelope(
            message_id=message.message_id or new_message_id(),
            topic=message.topic,
            body=message.body,
            headers=dict(message.headers or {}),
        )
        key = (conf.resolve_connection(pub.connection), pub.exchange)
        groups.setdefault(key, []).append(envelope)
        ids.append(envelope.message_id)
    for (connection, exchange), envelopes in groups.items():
        _send(connection, exchange, envelopes, patient)
    return ids


def publish_on_commit(
    topic: str,
    body: dict[str, Any],
    headers: Mapping[str, Any] | None = None,
    message_id: str | None = None,
    *,
    using: str | None = None,
) -> str:
    """Publish after the current transaction commits (at once outside one).

    Return the message_id now, so the caller can store it. A failed publish after the
    commit raises from the commit hook; callers needing a guarantee keep an outbox.
    """
    return publish_many_on_commit([OutgoingMessage(topic, body, headers, message_id)], using=using)[
        0
    ]


def publish_many_on_commit(
    messages: Sequence[MessageSpec], *, using: str | None = None
) -> list[str]:
    """Publish many messages after the current transaction commits; return their ids now."""
    outgoing = [_outgoing(m) for m in messages]
    outgoing = [
        m if m.message_id else OutgoingMessage(m.topic, m.body, m.headers, new_message_id())
        for m in outgoing
    ]
    transaction.on_commit(lambda: publish_many(outgoing), using=using)
    return [m.message_id or "" for m in outgoing]


def _outgoing(message: MessageSpec) -> OutgoingMessage:
    if isinstance(message, OutgoingMessage):
        result = message
    else:
        topic, body, headers = message
        result = OutgoingMessage(topic, body, headers)
    if not isinstance(result.body, dict):
        raise TypeError(f"a message body must be a dict, got {type(result.body).__name__}")
    return result


def _send(connection: str, exchange: str, envelopes: list[Envelope], patient: bool) -> None:
    last: TransportError | None = None
    pauses = [0.0, *(SEND_BACKOFF.waits() if patient else ())]
    key = (connection, not patient)
    attempt, stale_retried = 0, False
    while attempt < len(pauses):
        if pauses[attempt]:
            time.sleep(pauses[attempt])
        attempt += 1
        transport, reused = _checkout(key)
        try:
            transport.publish(exchange, envelopes)
        except PublishError:
            _close(transport)
            raise  # the transport's own verdict (after its own attempts): not confirmed
        except TransportError as exc:
            last = exc
            logger.warning(
                "publishing %d message(s) on %s/%s failed (attempt %d): %s",
                len(envelopes),
                connection,
                exchange,
                attempt,
                exc,
            )
            _close(transport)
            if reused and not stale_retried:
                # Its connection may have dropped while it sat in the pool (a broker
                # restart), and so may the others': again at once, on a fresh one.
                stale_retried = True
                attempt -= 1
                close_transports(key)
        except BaseException:
            _close(transport)
            raise
        else:
            _checkin(key, transport)
            return
    raise PublishError(
        f"{len(envelopes)} message(s) on {connection}/{exchange} not confirmed: {last}"
    ) from last


def _checkout(key: tuple[str, bool]) -> tuple[Transport, bool]:
    """Take an idle transport of the pool, or make one (outside the lock); say which."""
    stale = []
    transport = None
    now = time.monotonic()
    with _pool_lock:
        idle = _pool.get(key, [])
        while idle:
            candidate, since = idle.pop()
            if now - since <= IDLE_SECONDS:
                transport = candidate
                break
            stale.append(candidate)
    for old in stale:
        _close(old)
    if transport is not None:
        return transport, True
    return create_transport(key[0], fail_fast=key[1]), False


def _checkin(key: tuple[str, bool], transport: Transport) -> None:
    with _pool_lock:
        idle = _pool.setdefault(key, [])
        if len(idle) < MAX_IDLE:
            idle.append((transport, time.monotonic()))
            return
    _close(transport)


def _close(transport: Transport) -> None:
    try:
        transport.close()
    except TransportError:
        logger.debug("closing a failed publishing transport failed too", exc_info=True)


def close_transports(key: tuple[str, bool] | None = None) -> None:
    """Close the idle publishing transports of the pool (a test's end, a shutdown), or
    those of one (connection, fail_fast) `key`."""
    with _pool_lock:
        keys = list(_pool) if key is None else [key]
        idle = [transport for k in keys for transport, _ in _pool.pop(k, [])]
    for transport in idle:
        _close(transport)
