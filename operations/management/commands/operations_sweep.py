"""`manage.py operations_sweep`: publish unpublished operations and deal with stuck ones.

The same work runs periodically inside the `async.operations.all` consumer processes;
this command is for cron or for an operator after an incident.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from operations.actions import relay_unpublished, sweep_stuck


class Command(BaseCommand):
    help = (
        "Publish open operations never confirmed published, "
        "then republish or fail operations stuck open."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stuck-after",
            type=float,
            default=None,
            help="Seconds an operation may stay open (default OPERATIONS['STUCK_AFTER_SECONDS']).",
        )
        parser.add_argument(
            "--relay-only",
            action="store_true",
            help="Only publish unpublished operations (the outbox relay).",
        )

    def handle(self, *args, stuck_after: float | None, relay_only: bool, **options) -> None:
        if stuck_after is not None and stuck_after < 0:
            raise CommandError("--stuck-after must be 0 or more.")
        published = relay_unpublished()
        self.stdout.write(f"Relay: published {published} operation(s).")
        if relay_only:
            return
        counts = sweep_stuck(stuck_after_seconds=stuck_after)
        self.stdout.write(
            f"Sweeper: published {counts['published']}, republished {counts['republished']}, "
            f"marked retriably failed {counts['failed']} operation(s)."
        )
