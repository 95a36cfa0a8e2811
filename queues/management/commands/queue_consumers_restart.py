"""`manage.py queue_consumers_restart`: running consumers finish their message and exit."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from queues import actions


class Command(BaseCommand):
    help = (
        "Ask every running consumer (or the named ones) to finish its current message and exit, "
        "so that its supervisor starts it on the new code (after a deploy)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="*", help="Only these consumers (default: all).")

    def handle(self, *args, names: list[str], **options) -> None:
        asked = (
            sum(actions.request_restart(name) for name in names)
            if names
            else actions.request_restart()
        )
        self.stdout.write(
            f"{asked} running consumer(s) asked to restart; they exit after their current message."
        )
