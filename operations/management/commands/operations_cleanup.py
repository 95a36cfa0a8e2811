"""`manage.py operations_cleanup [--days N]`: delete bulks older than their lifetime."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from operations.actions import delete_old_bulks
from operations.conf import operations_settings


class Command(BaseCommand):
    help = "Delete bulks (with their operations and events) created more than N days ago."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=(
                "Age in days (default OPERATIONS['BULK_LIFETIME_DAYS'], "
                f"now {operations_settings.BULK_LIFETIME_DAYS})."
            ),
        )
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="Operations deleted per transaction."
        )

    def handle(self, *args, days: int | None, batch_size: int, **options) -> None:
        if days is not None and days < 0:
            raise CommandError("--days must be 0 or more.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        deleted = delete_old_bulks(days=days, batch_size=batch_size)
        self.stdout.write(f"Deleted {deleted} bulk(s).")
