"""`manage.py queue_setup [--dry-run]`: declare the topology on the broker (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from queues import registry
from queues.exceptions import QueueError
from queues.transports import create_transport


class Command(BaseCommand):
    help = (
        "Declare the exchanges, queues (with dead-letter queues) and bindings on their transports."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the topology; change nothing."
        )
        parser.add_argument(
            "--connection",
            choices=["db", "amqp"],
            help="Only this connection (default: every one in use).",
        )

    def handle(self, *args, dry_run: bool, connection: str | None, **options) -> None:
        everything = registry.topology(connection)
        connections = sorted(
            {q.connection for q in everything.queues} | {e.connection for e in everything.exchanges}
        )
        for name in connections:
            topology = registry.topology(name)
            self.stdout.write(f"[{name}]")
            for exchange in topology.exchanges:
                self.stdout.write(
                    f"  exchange {exchange.name} ({exchange.type}, durable={exchange.durable})"
                )
            for queue in topology.queues:
                self.stdout.write(f"  queue {queue.name} (dead letters: {queue.dead_letter_queue})")
            for binding in topology.bindings:
                self.stdout.write(
                    f"  binding {binding.id}: "
                    f"{binding.exchange} --[{binding.topic}]--> {binding.queue}"
                )
            if dry_run:
                continue
            transport = create_transport(name)
            try:
                transport.setup(topology)
            except QueueError as exc:
                raise CommandError(f"setting up the {name} topology failed: {exc}") from exc
            finally:
                transport.close()
            self.stdout.write(self.style.SUCCESS(f"  {name}: topology declared"))
        if dry_run:
            self.stdout.write("(dry run: nothing declared)")
