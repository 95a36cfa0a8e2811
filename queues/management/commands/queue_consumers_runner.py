"""`manage.py queue_consumers_runner [--once]`: supervise the configured consumers."""

from __future__ import annotations

import signal

from django.core.management.base import BaseCommand, CommandError, CommandParser

from queues.exceptions import DeclarationError
from queues.runner import Runner


class Command(BaseCommand):
    help = (
        "Spawn and supervise consumer processes per settings QUEUES['RUNNER_*']; "
        "SIGTERM stops them gracefully. "
        "--once: one pass for cron (start what is missing, then return)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Start what is missing and return (for cron)."
        )

    def handle(self, *args, once: bool, **options) -> None:
        try:
            runner = Runner()
        except DeclarationError as exc:
            raise CommandError(f"QUEUES['RUNNER_CONSUMERS']: {exc}") from exc
        if once:
            started = runner.run_once()
            summary = ", ".join(f"{name} x{n}" for name, n in started.items()) or "nothing to start"
            self.stdout.write(f"runner: {summary}")
            return

        def finish(signum, frame) -> None:
            runner.stop()

        signal.signal(signal.SIGTERM, finish)
        signal.signal(signal.SIGINT, finish)
        self.stdout.write(f"runner: supervising {', '.join(runner.slots) or 'no consumers'}")
        runner.run()
        self.stdout.write("runner: all consumers stopped")
