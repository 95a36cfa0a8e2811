"""`manage.py operations_recount [--check]`: find (and fix) bulk counters that drifted."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from operations.actions import recount_bulks
from operations.actions.counters import RECOUNT_BATCH


class Command(BaseCommand):
    help = (
        "Recompute every bulk's per-status counters from its operations, fix those that "
        "drifted and list them; with --check, fix nothing and exit 1 if any drifted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only report: change nothing, exit with status 1 if any bulk drifted.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=RECOUNT_BATCH,
            help=f"Bulks compared per query (default {RECOUNT_BATCH}).",
        )

    def handle(self, *args, check: bool, batch_size: int, **options) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        drifts = recount_bulks(fix=not check, batch_size=batch_size)
        for drift in drifts:
            self.stdout.write(str(drift))
        if not drifts:
            self.stdout.write("No bulk's counters drifted.")
            return
        if check:
            raise CommandError(f"{len(drifts)} bulk(s) drifted; run without --check to fix them.")
        self.stdout.write(f"Fixed the counters of {len(drifts)} bulk(s).")
