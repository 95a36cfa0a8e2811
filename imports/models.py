"""An import: a file, an entity, a behaviour; its chunks (one bulk each) and its bad rows."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from operations.models import Bulk


class ImportState(models.TextChoices):
    UPLOADED = "uploaded", "uploaded"
    VALIDATING = "validating", "dry run running"
    VALIDATED = "validated", "dry run done"
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    DONE = "done", "all rows sent"
    FAILED = "failed", "stopped by an error"


class Import(models.Model):
    """One file to import. Counters are updated once per chunk, in the chunk's transaction."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="imports"
    )
    created = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file_name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=1024)
    file_size = models.BigIntegerField(default=0)
    file_sha256 = models.CharField(max_length=64)
    format = models.CharField(max_length=8)  # csv, jsonl, json
    encoding = models.CharField(max_length=32, default="utf-8")
    entity = models.CharField(max_length=32)
    behaviour = models.CharField(max_length=16, default="append")
    chunk_size = models.PositiveIntegerField(default=1000)
    store_code = models.CharField(max_length=32, default="all")
    # {column: field}: what each column of the file becomes ("" ignores it).
    mapping = models.JSONField(default=dict, blank=True)
    state = models.CharField(
        max_length=16, choices=ImportState.choices, default=ImportState.UPLOADED
    )
    error = models.TextField(blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    rows_accepted = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    # Where the next slice reads on: byte offset, rows read, chunks done (see actions).
    position_offset = models.BigIntegerField(default=0)
    position_row = models.PositiveIntegerField(default=0)
    position_chunk = models.PositiveIntegerField(default=0)
    # The last dry run: rows validated and rows with an error (None: never run).
    dry_run_rows = models.PositiveIntegerField(null=True, blank=True)
    dry_run_errors = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        permissions = [("run_imports", "Can upload and run imports")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.entity}, {self.behaviour})"


class ImportChunk(models.Model):
    """A chunk of rows sent as one bulk: the import's progress, kept per chunk."""

    job = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    store_code = models.CharField(max_length=300, default="all")  # store|route
    bulk = models.ForeignKey(Bulk, null=True, on_delete=models.SET_NULL, related_name="+")
    # The file's row number of each operation of the bulk, by operation index.
    row_numbers = models.JSONField(default=list)
    accepted = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    replayed = models.BooleanField(default=False)

    class Meta:
        ordering = ["job_id", "index", "store_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "index", "store_code"], name="imports_chunk_unique"
            )
        ]


class RowError(models.Model):
    """A row that was not sent, or was rejected: its number in the file, the column, why."""

    job = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField()
    column = models.CharField(max_length=255, blank=True)
    message = models.TextField()
    dry_run = models.BooleanField(default=False)

    class Meta:
        ordering = ["job_id", "row_number", "id"]
        indexes = [models.Index(fields=["job", "dry_run", "row_number"], name="imports_err_idx")]
