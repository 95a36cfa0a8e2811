"""The imports app's queue declarations: import jobs run by the `imports.jobs` consumer.

A message `{"import_id": N}` on the topic `imports.run` runs one slice of the import
(`imports.actions.run_slice`, about five seconds of rows) and, when rows remain,
publishes the next message after its transaction commits: a long import never holds
one transaction, its progress shows slice by slice, and a crashed consumer's message
is delivered again and resumes from the last committed slice. On the "default"
connection: the db transport's embedded consumers of `manage.py serve` run it; in
production start `manage.py queue_consumers_start imports.jobs` beside the
operations consumer.
"""

from __future__ import annotations

from queues import Binding, Consumer, Exchange, Publisher, Queue, Topic, declare

TOPIC = "imports.run"
EXCHANGE = "imports"
QUEUE = "imports.jobs"
CONSUMER = "imports.jobs"
SCHEMA = {
    "type": "object",
    "required": ["import_id"],
    "properties": {"import_id": {"type": "integer"}},
}

declare(
    Topic(name=TOPIC, handler="imports.handlers.run_import", schema=SCHEMA),
    Exchange(name=EXCHANGE, connection="default"),
    Queue(name=QUEUE, connection="default"),
    Binding(id=QUEUE, exchange=EXCHANGE, topic=TOPIC, queue=QUEUE),
    Publisher(topic=TOPIC, connection="default", exchange=EXCHANGE),
    Consumer(name=CONSUMER, queue=QUEUE, handler="imports.handlers.run_import"),
)
