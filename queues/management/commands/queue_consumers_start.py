"""`manage.py queue_consumers_start NAME`: run one consumer in this process."""

from __future__ import annotations

import signal

from django.core.management.base import BaseCommand, CommandError, CommandParser

from queues.consumer import ConsumerRuntime
from queues.exceptions import ConsumerAlreadyRunning, DeclarationError


class Command(BaseCommand):
    help = (
        "Run a consumer until --max-messages or --max-idle-time is reached, a restart is "
        "requested, or SIGTERM/SIGINT (the current message finishes first)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The consumer's name (see queue_consumers_list).")
        parser.add_argument(
            "--max-messages", type=int, default=None, help="Exit after this many messages."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help=(
                "Take and handle messages N at a time (default: the consumer's declared"
                " batch size, shown by queue_consumers_list; 1 handles them one by one)."
            ),
        )
        parser.add_argument(
            "--single-thread",
            action="store_true",
            help="Refuse to start if this consumer already runs anywhere.",
        )
        parser.add_argument(
            "--max-idle-time",
            type=float,
            default=None,
            help="Exit after this many seconds without a message.",
        )

    def handle(
        self,
        *args,
        name: str,
        max_messages,
        batch_size: int | None,
        single_thread: bool,
        max_idle_time,
        **options,
    ) -> None:
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            runtime = ConsumerRuntime(
                name,
                max_messages=max_messages,
                batch_size=batch_size,
                max_idle_time=max_idle_time,
                single_instance=single_thread,
            )
        except DeclarationError as exc:
            raise CommandError(str(exc)) from exc

        def finish(signum, frame) -> None:
            runtime.stop(signal.Signals(signum).name)

        signal.signal(signal.SIGTERM, finish)
        signal.signal(signal.SIGINT, finish)
        try:
            result = runtime.run()
        except ConsumerAlreadyRunning as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"consumer {name} stopped ({result.reason}): {result.processed} processed, "
            f"{result.duplicates} duplicates, {result.failures} failures, "
            f"{result.dead} dead-lettered"
        )
