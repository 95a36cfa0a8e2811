"""The Dramatiq peer of bench/bench_peers.py: one actor running this project's operation function.

Started by the bench as `dramatiq bench._peer_dramatiq --processes P --threads T
--queues peers`, with `PEERS_BROKER_URL` (its own RabbitMQ vhost) and Django's
settings in the environment. Each message carries one operation id; the actor calls
`execute_operations([id])`, the function the project's `async.operations.all`
consumer runs. Dramatiq acknowledges a message after the actor returned.
"""

from __future__ import annotations

import os

import django
import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.middleware import default_middleware

django.setup()

from operations.actions.running import execute_operations  # noqa: E402

broker = RabbitmqBroker(
    url=os.environ.get("PEERS_BROKER_URL", "amqp://guest:guest@127.0.0.1//"),
    confirm_delivery=True,
    # Dramatiq's defaults without Prometheus (an exporter, not part of the work).
    middleware=[m() for m in default_middleware if m.__name__ != "Prometheus"],
)
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name="peers", max_retries=0, actor_name="peers_execute_operation")
def execute_operation(operation_id: int) -> None:
    execute_operations([operation_id])
