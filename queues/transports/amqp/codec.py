"""How an `Envelope` travels as an AMQP message, and back.

The body is the message as JSON; the message id, topic and the caller's headers
(e.g. `store_id`) ride in the properties, like Magento's MassPublisher envelopes
(`delivery_mode` 2, `message_id`, application headers). Headers starting with `x-`
and `topic_name` belong to the transport and are not handed back to consumers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import pika
from django.core.serializers.json import DjangoJSONEncoder

from queues.transports.base import Envelope

CONTENT_TYPE = "application/json"
PERSISTENT = 2
TOPIC_HEADER = "topic_name"
TRIALS_HEADER = "x-trials"
LAST_ERROR_HEADER = "x-last-error"
DEAD_LETTER_REASON_HEADER = "x-dead-letter-reason"
DEAD_LETTER_QUEUE_HEADER = "x-dead-letter-queue"
DEAD_AT_HEADER = "x-dead-lettered-at"  # when it was dead-lettered, epoch seconds

_encoder = DjangoJSONEncoder(separators=(",", ":"))


def encode(envelope: Envelope) -> tuple[bytes, pika.BasicProperties]:
    """Return the body and properties of the persistent AMQP message for `envelope`."""
    headers = dict(envelope.headers)
    headers[TOPIC_HEADER] = envelope.topic
    properties = pika.BasicProperties(
        content_type=CONTENT_TYPE,
        delivery_mode=PERSISTENT,
        message_id=envelope.message_id,
        type=envelope.topic,
        timestamp=int(time.time()),
        headers=headers,
    )
    return _encoder.encode(envelope.body).encode(), properties


def decode(properties: pika.BasicProperties, body: bytes) -> Envelope | None:
    """Return the envelope of a delivered message, or None when it cannot be decoded.

    A message without a message id or topic, or whose body is not a JSON object,
    cannot be de-duplicated or routed to a handler, so it counts as undecodable.
    """
    headers = properties.headers or {}
    topic = properties.type or headers.get(TOPIC_HEADER)
    if not properties.message_id or not topic:
        return None
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(message, dict):
        return None
    return Envelope(
        message_id=properties.message_id,
        topic=_text(topic),
        body=message,
        headers=caller_headers(headers),
    )


def trials(properties: pika.BasicProperties) -> int:
    """Return how many earlier trials of this message failed (the `x-trials` header)."""
    value = (properties.headers or {}).get(TRIALS_HEADER, 0)
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


def caller_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """Return the headers the publisher gave, without the transport's own."""
    return {
        key: _text(value)
        for key, value in headers.items()
        if key != TOPIC_HEADER and not key.startswith("x-")
    }


def with_headers(properties: pika.BasicProperties, **extra: Any) -> pika.BasicProperties:
    """Return a persistent copy of `properties` whose headers also carry `extra`."""
    headers = dict(properties.headers or {})
    headers.update(extra)
    return pika.BasicProperties(
        content_type=properties.content_type,
        content_encoding=properties.content_encoding,
        delivery_mode=PERSISTENT,
        message_id=properties.message_id,
        type=properties.type,
        timestamp=properties.timestamp,
        correlation_id=properties.correlation_id,
        app_id=properties.app_id,
        headers=headers,
    )


def _text(value: Any) -> Any:
    # pika hands back long strings it cannot decode as UTF-8 as bytes.
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value
