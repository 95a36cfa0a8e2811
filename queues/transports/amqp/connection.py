"""One connection to RabbitMQ, opened lazily and again after it drops, with bounded backoff.

The transport keeps two: one for publishing and one for consuming, as RabbitMQ
advises (a broker under memory pressure blocks publishing connections, and a
consumer sharing one could then not even acknowledge).

Heartbeats: pika's BlockingConnection answers them only while the transport is
inside one of its calls, so a handler that keeps a consumer away for longer than
the heartbeat timeout (RabbitMQ proposes 60 s; `?heartbeat=N` in AMQP_URL changes
it) loses its connection; its unacknowledged messages are then delivered again
and the consumer runtime skips those already processed by message id.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import pika
from pika import exceptions as pika_exceptions
from pika.adapters.blocking_connection import BlockingConnection

from queues import backoff as retry
from queues.exceptions import TransportError

logger = logging.getLogger(__name__)

# The connection (or its socket) is gone: reconnect and carry on.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    pika_exceptions.AMQPConnectionError,
    pika_exceptions.ChannelWrongStateError,
    ConnectionError,
    socket.timeout,
)
# Reconnecting cannot help: wrong credentials, vhost or protocol.
FATAL_CONNECT_ERRORS: tuple[type[BaseException], ...] = (
    pika_exceptions.AuthenticationError,
    pika_exceptions.ProbableAuthenticationError,
    pika_exceptions.ProbableAccessDeniedError,
    pika_exceptions.IncompatibleProtocolError,
)


@dataclass(frozen=True)
class Backoff(retry.Backoff):
    """The reconnection backoff of a link: `queues.backoff.Backoff` with RabbitMQ's
    defaults, 10 attempts waiting 0.25 s, 0.5 s, 1 s … at most 5 s between them
    (about 28 s in all, enough for a broker restart)."""

    delay: float = 0.25
    max_delay: float = 5.0
    attempts: int | None = 10


def connection_parameters(url: str, role: str) -> pika.URLParameters:
    """Return pika's parameters for `url`, named after `role` so operators can see who is who."""
    parameters = pika.URLParameters(url)
    query = parse_qs(urlparse(url).query)
    parameters.connection_attempts = 1  # Link retries with its own backoff
    if "blocked_connection_timeout" not in query:
        # Under a memory or disk alarm RabbitMQ blocks publishers; give up (and let
        # the publish fail) instead of hanging forever.
        parameters.blocked_connection_timeout = 60
    parameters.client_properties = {
        "connection_name": f"asyncbulk {role} {socket.gethostname()} pid {os.getpid()}",
    }
    return parameters


def describe(url: str) -> str:
    """Return `host:port/vhost` of `url`, without credentials, for messages."""
    parsed = urlparse(url)
    vhost = parsed.path[1:] if parsed.path not in ("", "/") else "%2F"
    return f"{parsed.hostname or 'localhost'}:{parsed.port or 5672}/{vhost}"


class Link:
    """A BlockingConnection that is opened on demand and replaced once it drops."""

    def __init__(
        self,
        url: str,
        role: str,
        backoff: retry.Backoff,
        interrupted: threading.Event | None = None,
    ) -> None:
        self.url = url
        self.role = role
        self.backoff = backoff
        self.parameters = connection_parameters(url, role)
        self.connection: BlockingConnection | None = None
        # Set (by AmqpTransport.interrupt) when the owner stops: waits end at once.
        self.interrupted = interrupted or threading.Event()

    @property
    def is_open(self) -> bool:
        return self.connection is not None and self.connection.is_open

    def open(self) -> BlockingConnection:
        """Return the open connection, connecting (with backoff) if there is none.

        Raise `TransportError` once every attempt failed.
        """
        if self.connection is not None and self.connection.is_open:
            return self.connection
        self.drop()
        attempt = 0
        while True:
            attempt += 1
            try:
                self.connection = BlockingConnection(self.parameters)
            except FATAL_CONNECT_ERRORS as exc:
                raise TransportError(
                    f"RabbitMQ at {describe(self.url)} refused the {self.role} connection: {exc!r}"
                ) from exc
            except CONNECTION_ERRORS as exc:
                if self.backoff.gives_up_after(attempt):
                    raise TransportError(
                        f"cannot connect to RabbitMQ at {describe(self.url)} "
                        f"after {attempt} attempt{'s' if attempt != 1 else ''}: {exc!r}"
                    ) from exc
                pause = self.backoff.pause_before(attempt + 1)
                logger.warning(
                    "RabbitMQ %s connection to %s failed (attempt %d of %s): %r; retrying in %.2fs",
                    self.role,
                    describe(self.url),
                    attempt,
                    self.backoff.attempts or "∞",
                    exc,
                    pause,
                )
                if self.interrupted.wait(pause):
                    raise TransportError(
                        f"gave up connecting to RabbitMQ at {describe(self.url)}: stopping"
                    ) from exc
            else:
                if attempt > 1:
                    logger.info(
                        "RabbitMQ %s connection to %s is back", self.role, describe(self.url)
                    )
                return self.connection

    def drop(self) -> None:
        """Close the connection if it is open and forget it. Never raises."""
        connection, self.connection = self.connection, None
        if connection is None or not connection.is_open:
            return
        try:
            connection.close()
        except Exception as exc:  # noqa: BLE001 - closing a broken connection may fail any way
            logger.debug("closing the RabbitMQ %s connection failed: %r", self.role, exc)
