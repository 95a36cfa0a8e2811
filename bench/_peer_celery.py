"""The Celery peer of bench/bench_peers.py: one task running this project's operation function.

Started by the bench as
`celery -A bench._peer_celery worker --pool solo -Q peers ...`, with
`PEERS_BROKER_URL` (its own RabbitMQ vhost) and `PEERS_PREFETCH` in the environment
and Django's settings (DATABASE_URL, ...) as the project's consumer gets them. Each
message carries one operation id; the task calls `execute_operations([id])`, the
function the project's `async.operations.all` consumer runs, and is acknowledged
after it returned (`task_acks_late`).
"""

from __future__ import annotations

import os

import django
from celery import Celery

django.setup()

from operations.actions.running import execute_operations  # noqa: E402

app = Celery("peers", broker=os.environ.get("PEERS_BROKER_URL", "amqp://guest:guest@127.0.0.1//"))
app.conf.update(
    task_acks_late=True,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    task_default_queue="peers",
    worker_prefetch_multiplier=int(os.environ.get("PEERS_PREFETCH", "4")),
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name="peers.execute_operation")
def execute_operation(operation_id: int) -> None:
    execute_operations([operation_id])
