"""The operations app's message queue declarations (Magento's WebapiAsync topology).

- one Topic per async route (`webapi.routes.discover().async_routes()`), all with
  the operation handler;
- the exchange `magento`; the queue `async.operations.all`; a binding of `async.#`
  to it, and a publisher of `async.#` on the exchange; all on the "default"
  connection (`QUEUES["CONNECTION"]`: db embedded, amqp in production);
- the consumer `async.operations.all` (per message, or per batch with `--batch-size`),
  with the `operations.events.ConsumerEvents` hook (events once per batch);
- the outbox relay and the sweeper, run by processes of that consumer.

Routing some topics to their own queues (the seed article's products and customers
apart): declare the queues, bindings and consumers in your own app's `queues.py` and
list the patterns in `OPERATIONS["ROUTED_APART"]`, so the catch-all binding is
narrowed to the other topics. Without that, `manage.py check` reports queues.E010:
the topic would reach two consumed queues and run twice. See docs/operations.md.
"""

from __future__ import annotations

from typing import Any

from operations.conf import operations_settings
from queues import Binding, Consumer, Exchange, Periodic, Publisher, Queue, Topic, declare
from queues.routing import matches
from webapi.routes import discover

EXCHANGE = "magento"
QUEUE = "async.operations.all"
CONSUMER = "async.operations.all"
CATCH_ALL = "async.#"
HANDLER = "operations.handlers.handle_operation"
BATCH_HANDLER = "operations.handlers.handle_operations"
ON_DEAD_LETTER = "operations.handlers.dead_lettered"
ON_REQUEUE = "operations.handlers.requeued"
# Delivers the events (`operations.events`) of each received batch once, merged.
HOOKS = ("operations.events.ConsumerEvents",)
MESSAGE_SCHEMA = {
    "type": "object",
    "required": ["operation_id"],
    "properties": {"operation_id": {"type": "integer"}, "bulk_uuid": {"type": "string"}},
}


def declarations(
    routed_apart: list[str] | None = None,
    *,
    exchange: str = EXCHANGE,
    queue: str = QUEUE,
    consumer: str = CONSUMER,
    connection: str = "default",
    periodic_prefix: str = "operations",
) -> list[Any]:
    """Return the declarations, with the catch-all binding narrowed by `routed_apart`
    (default `OPERATIONS["ROUTED_APART"]`): patterns of topics other queues take.

    The names are parameters so that tests can declare the same topology under names
    no other test uses.
    """
    apart = list(operations_settings.ROUTED_APART if routed_apart is None else routed_apart)
    # Discovered here, not assumed: this module may be imported before the apps
    # declaring routes are ready (INSTALLED_APPS order is not a contract).
    topics = sorted({route.topic for route in discover().async_routes()})
    if apart:
        bindings = [
            Binding(id=f"{queue}:{topic}", exchange=exchange, topic=topic, queue=queue)
            for topic in topics
            if not any(matches(pattern, topic) for pattern in apart)
        ]
    else:
        bindings = [Binding(id=queue, exchange=exchange, topic=CATCH_ALL, queue=queue)]
    return [
        *(Topic(name=topic, handler=HANDLER, schema=MESSAGE_SCHEMA) for topic in topics),
        Exchange(name=exchange, connection=connection),
        Queue(name=queue, connection=connection),
        *bindings,
        Publisher(topic=CATCH_ALL, connection=connection, exchange=exchange),
        Consumer(
            name=consumer,
            queue=queue,
            handler=HANDLER,
            batch_handler=BATCH_HANDLER,
            on_dead_letter=ON_DEAD_LETTER,
            on_requeue=ON_REQUEUE,
            hooks=HOOKS,
            batch_size=max(1, operations_settings.CONSUMER_BATCH_SIZE),
        ),
        Periodic(
            name=f"{periodic_prefix}.relay",
            func="operations.handlers.relay",
            interval=operations_settings.RELAY_INTERVAL_SECONDS,
            consumer=consumer,
        ),
        Periodic(
            name=f"{periodic_prefix}.sweeper",
            func="operations.handlers.sweep",
            interval=operations_settings.SWEEP_INTERVAL_SECONDS,
            consumer=consumer,
        ),
    ]


declare(*declarations())
