"""`manage.py import_file PATH --entity products [--behaviour delete] [--dry-run]
[--chunk-size N]`: import a CSV or JSON file into bulks, with a progress bar.

With `--url URL --token TOKEN` the file is sent to a remote instance's async bulk API
instead (client mode, imports.client). See docs/imports.md.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from imports import actions, client, entities, readers
from imports.conf import imports_settings
from imports.exceptions import ImportFileError, RowError
from imports.models import Import, ImportState


class Command(BaseCommand):
    help = "Import a CSV, JSON lines or JSON array file into bulks of the entity's async routes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--entity", required=True, choices=sorted(entities.REGISTRY))
        parser.add_argument(
            "--behaviour", default=entities.APPEND, choices=sorted(entities.BEHAVIOURS)
        )
        parser.add_argument("--dry-run", action="store_true", help="validate every row, send none")
        parser.add_argument("--chunk-size", type=int, default=None, help="rows per bulk")
        parser.add_argument("--format", default="", choices=["", *readers.FORMATS])
        parser.add_argument("--encoding", default="", choices=["", *readers.ENCODINGS])
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="map a column (FIELD empty: leave it out; attribute:CODE: a custom attribute)",
        )
        parser.add_argument("--store", default="all", help="store code of the bulks (default all)")
        parser.add_argument("--user", default="", help="owner of the bulks (default: a superuser)")
        parser.add_argument(
            "--resume",
            type=int,
            default=None,
            metavar="IMPORT_ID",
            help="resume an interrupted import",
        )
        parser.add_argument("--url", default="", help="client mode: the remote instance")
        parser.add_argument(
            "--token", default="", help="client mode: an admin or integration token"
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        self.progress = not options["no_progress"] and sys.stderr.isatty()
        self.started = time.monotonic()
        overrides = self._mapping(options)
        try:
            if options["url"]:
                self._client(options, overrides)
            else:
                self._local(options, overrides)
        except (ImportFileError, RowError, client.ClientError) as exc:
            raise CommandError(str(exc)) from exc

    def _mapping(self, options: dict[str, Any]) -> dict[str, str]:
        out = {}
        for pair in options["map"]:
            column, sep, target = pair.partition("=")
            if not sep:
                raise CommandError(f"--map {pair!r}: write COLUMN=FIELD.")
            out[column] = target
        return out

    def _owner(self, username: str) -> Any:
        users = get_user_model().objects
        user = (
            users.filter(username=username).first()
            if username
            else (users.filter(is_superuser=True, is_active=True).order_by("pk").first())
        )
        if user is None:
            raise CommandError(
                f"No user {username!r}." if username else "No superuser: give --user USERNAME."
            )
        return user

    def _local(self, options: dict[str, Any], overrides: dict[str, str]) -> None:
        if options["resume"] is not None:
            job = Import.objects.filter(pk=options["resume"]).first()
            if job is None:
                raise CommandError(f"No import {options['resume']}.")
        else:
            job = actions.create_import(
                owner=self._owner(options["user"]),
                source=options["path"],
                entity=options["entity"],
                behaviour=options["behaviour"],
                fmt=options["format"],
                encoding=options["encoding"],
                chunk_size=options["chunk_size"] or imports_settings.CHUNK_SIZE,
                store_code=options["store"],
                copy=False,
            )
            if overrides:
                actions.set_options(job, mapping={**job.mapping, **overrides})
        self.stdout.write(
            f"Import {job.pk}: {job.file_name} ({job.format}, {job.encoding}), "
            f"{job.entity}, {job.behaviour}, {job.chunk_size} rows per bulk"
        )
        for column, target in job.mapping.items():
            self.stdout.write(f"  {column} -> {target or '(not imported)'}")
        job = actions.run_to_end(job, dry_run=options["dry_run"], on_progress=self._bar)
        self._end_bar()
        if job.state == ImportState.FAILED:
            raise CommandError(f"Import {job.pk} stopped: {job.error}")
        errors = job.row_errors.filter(dry_run=options["dry_run"])
        for error in errors[:20]:
            column = f", column {error.column}" if error.column else ""
            self.stdout.write(f"  row {error.row_number}{column}: {error.message}")
        if errors.count() > 20:
            self.stdout.write(f"  … and {errors.count() - 20} more")
        seconds = time.monotonic() - self.started
        if options["dry_run"]:
            self.stdout.write(
                f"Dry run: {job.dry_run_rows} rows checked, {job.dry_run_errors} with errors, "
                f"nothing created ({seconds:.1f} s)."
            )
            return
        self.stdout.write(
            f"Import {job.pk}: {job.rows_read} rows read, {job.rows_accepted} accepted, "
            f"{job.rows_rejected} rejected, in {job.chunks_done} chunks ({seconds:.1f} s, "
            f"{job.rows_read / max(seconds, 1e-6):.0f} rows/s)."
        )

    def _client(self, options: dict[str, Any], overrides: dict[str, str]) -> None:
        if not options["token"]:
            raise CommandError("--url needs --token (an admin or integration token).")
        if options["dry_run"]:
            raise CommandError("--dry-run runs locally: leave out --url.")
        mapping = None
        if overrides:
            fmt = options["format"] or readers.detect_format(options["path"])
            encoding = options["encoding"] or readers.detect_encoding(options["path"])
            kind = entities.get(options["entity"])
            mapping = {
                **kind.default_mapping(readers.header(options["path"], fmt, encoding)),
                **overrides,
            }
        summary = client.send_file(
            options["path"],
            url=options["url"],
            token=options["token"],
            entity=options["entity"],
            behaviour=options["behaviour"],
            fmt=options["format"],
            encoding=options["encoding"],
            chunk_size=options["chunk_size"] or imports_settings.CHUNK_SIZE,
            mapping=mapping,
            on_chunk=lambda s: self._draw(s.rows, s.accepted, s.rejected),
        )
        self._end_bar()
        for number, column, message in summary.errors[:20]:
            where = f", column {column}" if column else ""
            self.stdout.write(f"  row {number}{where}: {message}")
        self.stdout.write(
            f"Sent to {options['url']}: {summary.rows} rows read, {summary.accepted} accepted, "
            f"{summary.rejected} rejected, {len(summary.bulks)} bulks "
            f"({summary.replayed} already accepted before)."
        )
        for uuid in summary.bulks[:50]:
            self.stdout.write(f"  bulk {uuid}")

    # -- the progress bar (on stderr, only on a terminal) ------------------------------
    def _bar(self, job: Import) -> None:
        self._draw(job.rows_read, job.rows_accepted, job.rows_rejected)

    def _draw(self, rows: int, accepted: int, rejected: int) -> None:
        if not self.progress:
            return
        seconds = max(time.monotonic() - self.started, 1e-6)
        sys.stderr.write(
            f"\r{rows:>10} rows read  {accepted:>10} accepted  {rejected:>7} rejected  "
            f"{rows / seconds:>8.0f} rows/s"
        )
        sys.stderr.flush()

    def _end_bar(self) -> None:
        if self.progress:
            sys.stderr.write("\n")
