"""Publishing: `publish`, `publish_many` and their `*_on_commit` variants.

A message is an Envelope: JSON body, `message_id`, topic and the caller's headers.
The topic's enabled Publisher names the connection and exchange. Each thread keeps
one transport per connection and reuses it; after a dropped connection the send is
retried on a fresh one with a bounded backoff. Consumers de-duplicate by
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

_local = threading.local()


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
    waits = SEND_BACKOFF.waits() if patient else ()
    for attempt, pause in enumerate([0.0, *waits], start=1):
        if pause:
            time.sleep(pause)
        transport = _transport(connection, fail_fast=not patient)
        try:
            transport.publish(exchange, envelopes)
            return
        except PublishError:
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
            _drop_transport(connection, fail_fast=not patient)
    raise PublishError(
        f"{len(envelopes)} message(s) on {connection}/{exchange} not confirmed: {last}"
    ) from last


def _transport(connection: str, *, fail_fast: bool = False) -> Transport:
    cache: dict[tuple[str, bool], Transport] = _local.__dict__.setdefault("transports", {})
    key = (connection, fail_fast)
    if key not in cache:
        cache[key] = create_transport(connection, fail_fast=fail_fast)
    return cache[key]


def _drop_transport(connection: str, *, fail_fast: bool = False) -> None:
    transport = _local.__dict__.get("transports", {}).pop((connection, fail_fast), None)
    if transport is not None:
        try:
            transport.close()
        except TransportError:
            logger.debug("closing a failed %s transport failed too", connection, exc_info=True)


def close_transports() -> None:
    """Close this thread's publishing transports (end of a thread or a test)."""
    for connection, fail_fast in list(_local.__dict__.get("transports", {})):
        _drop_transport(connection, fail_fast=fail_fast)
