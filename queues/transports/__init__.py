"""Transports: `db` (rows in the project's database) and `amqp` (RabbitMQ via pika)."""

from __future__ import annotations

from django.utils.module_loading import import_string

from queues import conf
from queues.transports.base import Delivery, Envelope, Transport

TRANSPORT_CLASSES = {
    "db": "queues.transports.db.DbTransport",
    "amqp": "queues.transports.amqp.AmqpTransport",
}


def transport_class(connection: str) -> type[Transport]:
    """Return the Transport class of a connection (`db`, `amqp` or `default`)."""
    return import_string(TRANSPORT_CLASSES[conf.resolve_connection(connection)])


def create_transport(connection: str, *, fail_fast: bool = False) -> Transport:
    """Return a new transport for `connection`, configured from settings.

    A transport is not thread-safe: create one per thread and close it. `fail_fast`:
    one connection attempt, no reconnection backoff (for probes repeated anyway).
    """
    return transport_class(connection).from_settings(fail_fast=fail_fast)


__all__ = ["Delivery", "Envelope", "Transport", "create_transport", "transport_class"]
