"""`manage.py queue_consumers_list`: the declared consumers, their queues and who runs them."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from queues import processes, registry
from queues.exceptions import QueueError
from queues.transports import Transport, create_transport


class Command(BaseCommand):
    help = "List consumers: name, queue, connection, handler, waiting messages, running instances."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--names-only", action="store_true", help="Print only the names, one a line."
        )
        parser.add_argument(
            "--topics",
            action="store_true",
            help="Also list, under each consumer, the topics its queue receives.",
        )

    def handle(self, *args, names_only: bool, topics: bool, **options) -> None:
        consumers = sorted(registry.consumers.values(), key=lambda c: c.name)
        if names_only:
            for consumer in consumers:
                self.stdout.write(consumer.name)
            return
        transports: dict[str, Transport | None] = {}
        problems: dict[str, str] = {}
        rows = [("NAME", "QUEUE", "CONNECTION", "HANDLER", "BATCH", "WAITING", "RUNNING")]
        for consumer in consumers:
            connection = registry.current().consumer_connection(consumer)
            rows.append(
                (
                    consumer.name,
                    consumer.queue,
                    connection,
                    _handler_name(consumer),
                    str(consumer.batch_size),
                    _waiting(transports, problems, connection, consumer.queue),
                    str(len(processes.running(consumer.name))),
                )
            )
        for transport in transports.values():
            if transport is not None:
                transport.close()
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
        for connection, problem in problems.items():
            self.stderr.write(f"WAITING unknown (?) on {connection}: {problem}")
        if topics:
            for consumer in consumers:
                self.stdout.write(f"\n{consumer.name} receives:")
                for name in registry.current().topics_to(consumer.queue):
                    self.stdout.write(f"  {name}")


def _handler_name(consumer) -> str:
    handler = consumer.batch_handler or consumer.handler
    if handler is None:
        return "(topic handlers)"
    if isinstance(handler, str):
        return handler
    return f"{handler.__module__}.{handler.__qualname__}"


def _waiting(
    transports: dict[str, Transport | None], problems: dict[str, str], connection: str, queue: str
) -> str:
    try:
        if connection not in transports:
            transports[connection] = create_transport(connection, fail_fast=True)
        transport = transports[connection]
        return "?" if transport is None else str(transport.count(queue))
    except QueueError as exc:
        transports[connection] = None  # unreachable: do not try again for every consumer
        problems[connection] = str(exc)
        return "?"
