"""Writes of the imports app: create an import, run a dry run or the import itself.

An import runs in slices (`run_slice`): each slice reads on from the position the
last one stored, turns every `chunk_size` rows into bulks through
`operations.actions.accept_bulk` (the async bulk API's own accepting, one bulk per
chunk and route, with an Idempotency-Key derived from the file's hash, the mapping
and the chunk's index), records each chunk, its bad rows and the new position, and
stops after `IMPORTS_SLICE_SECONDS` (5). A slice is one transaction: a process killed half-way
leaves the import where the last slice ended, and running it again picks up there.
The same file imported again (a new import of the same bytes) replays the bulks the
first one accepted instead of creating them twice.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from imports import entities, readers
from imports.conf import imports_settings
from imports.exceptions import ImportFileError, RowError
from imports.models import Import, ImportChunk, ImportState
from imports.models import RowError as RowErrorRow
from imports.resolving import Resolver
from operations.actions import accept_bulk, request_fingerprint
from operations.items import item_body, item_params
from operations.models import Bulk
from operations.validation import error_message
from store.models import Store
from webapi.exceptions import LocalizedException
from webapi.execution import check_permission, validate_request
from webapi.routes import CallContext, Route, routes

PREVIEW_ROWS = 10
SQLITE_SLICE_SECONDS = 1.0
Progress = Callable[[Import], None]


def upload_dir() -> Path:
    configured = imports_settings.UPLOAD_DIR
    return Path(configured) if configured else Path(settings.BASE_DIR) / "var" / "imports"


def file_sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def create_import(
    *,
    owner: Any,
    source: Path | str,
    file_name: str = "",
    entity: str,
    behaviour: str = entities.APPEND,
    fmt: str = "",
    encoding: str = "",
    chunk_size: int | None = None,
    mapping: Mapping[str, str] | None = None,
    store_code: str = "all",
    copy: bool = True,
) -> Import:
    """Record an import of the file at `source` (copied to the upload directory unless
    `copy=False`); detect its format and encoding unless given; map its columns by
    default unless `mapping` is given. Raise ImportFileError for a file that cannot
    be imported as given (a message for a person)."""
    kind = entities.get(entity)
    if behaviour not in kind.routes:
        raise ImportFileError(f"{kind.label} cannot be imported with behaviour {behaviour!r}.")
    source = Path(source)
    name = file_name or source.name
    fmt = fmt or readers.detect_format(source, name)
    encoding = encoding or readers.detect_encoding(source)
    readers.check_file(source, fmt, encoding)
    path = source
    if copy:
        folder = upload_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = (
            folder / f"{timezone.now():%Y%m%d%H%M%S}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"
        )
        shutil.copyfile(source, path)
    job = Import(
        owner=owner,
        file_name=name[:255],
        file_path=str(path),
        file_size=path.stat().st_size,
        file_sha256=file_sha256(path),
        format=fmt,
        encoding=encoding,
        entity=entity,
        behaviour=behaviour,
        chunk_size=max(1, chunk_size or imports_settings.CHUNK_SIZE),
        store_code=store_code,
    )
    job.mapping = dict(mapping) if mapping is not None else kind.default_mapping(columns(job))
    job.save()
    return job


def columns(job: Import) -> list[str]:
    try:
        return readers.header(job.file_path, job.format, job.encoding)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"The first row is not {readers.ENCODINGS.get(job.encoding, job.encoding)} text: "
            "choose the file's encoding."
        ) from exc


def preview(job: Import, n: int = PREVIEW_ROWS) -> list[tuple[int, Any]]:
    """Return the first `n` rows of the file as read (number, row)."""
    out = []
    for number, row, _position in readers.rows(job.file_path, job.format, job.encoding):
        out.append((number, row))
        if len(out) >= n:
            break
    return out


def set_options(
    job: Import,
    *,
    mapping: Mapping[str, str] | None = None,
    encoding: str = "",
    behaviour: str = "",
    chunk_size: int | None = None,
) -> Import:
    """Change what the import will do before it starts (mapping, encoding, behaviour)."""
    if job.state not in (ImportState.UPLOADED, ImportState.VALIDATED):
        raise ImportFileError("The import has started: its options can no longer change.")
    kind = entities.get(job.entity)
    if encoding and encoding != job.encoding:
        readers.check_file(job.file_path, job.format, encoding)
        job.encoding = encoding
        job.mapping = kind.default_mapping(columns(job))
    if mapping is not None:
        allowed = set(kind.fields)
        for column, target in mapping.items():
            if target and target not in allowed and not target.startswith(entities.ATTRIBUTE):
                raise ImportFileError(f'Column "{column}" cannot map to "{target}".')
        job.mapping = dict(mapping)
    if behaviour:
        if behaviour not in kind.routes:
            raise ImportFileError(f"{kind.label} cannot be imported with behaviour {behaviour!r}.")
        job.behaviour = behaviour
    if chunk_size:
        job.chunk_size = max(1, chunk_size)
    job.state = ImportState.UPLOADED
    job.dry_run_rows = job.dry_run_errors = None
    job.save()
    return job


# -- running ------------------------------------------------------------------------
@dataclass
class _Group:
    route: Route
    store: str
    items: list[dict[str, Any]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)


def _context(job: Import, store_code: str) -> CallContext:
    code = "admin" if store_code in ("all", "admin") else store_code
    return CallContext(store=Store.objects.get(code=code), user=job.owner, user_type=2)


def _built_rows(
    job: Import, resolver: Resolver, start: tuple[int, int]
) -> Iterator[tuple[int, Any, tuple[int, int]]]:
    """Yield (row number, (route key, store, item) or RowError, position after)."""
    kind = entities.get(job.entity)
    mapping = job.mapping
    for number, row, position in readers.rows(job.file_path, job.format, job.encoding, start):
        if isinstance(row, RowError):
            yield number, row, position
            continue
        if not isinstance(row, dict):
            yield number, RowError(readers.NOT_AN_OBJECT), position
            continue
        try:
            built = kind.build(entities.apply_mapping(row, mapping), job.behaviour, resolver)
        except RowError as exc:
            yield number, RowError(exc.message, entities.column_of(mapping, exc.column)), position
        except LocalizedException as exc:
            yield number, RowError(exc.rendered), position
        else:
            yield number, built, position


def _route(key: tuple[str, str]) -> Route:
    return routes.resolve(*key)[0]


def _check(
    route: Route, ctx: CallContext, item: dict[str, Any], mapping: Mapping[str, str]
) -> RowError | None:
    """Validate one item as the async bulk API does; return its error, or None."""
    try:
        validate_request(
            route, ctx, item_params(item, route.param_names), item_body(item, route.param_names)
        )
    except (ValidationError, LocalizedException) as exc:
        return RowError(error_message(exc), _column(exc, mapping))
    return None


def _column(exc: Exception, mapping: Mapping[str, str]) -> str:
    """Return the column of the field a validation error names, when a column maps to it."""
    path: list[str] = [str(p) for p in getattr(exc, "path", ()) or ()]
    detail: Any = getattr(exc, "detail", None)
    while isinstance(detail, dict) and detail:
        key = next(iter(detail))
        path.append(str(key))
        detail = detail[key]
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            detail = detail[0]
    parameters = getattr(exc, "parameters", None)
    if isinstance(parameters, Mapping) and parameters.get("fieldName"):
        path.append(str(parameters["fieldName"]))
    targets = {target: column for column, target in mapping.items() if target}
    for name in reversed(path):
        if name in targets:
            return targets[name]
        if entities.ATTRIBUTE + name in targets:
            return targets[entities.ATTRIBUTE + name]
    return ""


def _check_permission(job: Import, route: Route) -> None:
    """Refuse an import whose owner may not call the route (the async API's own check)."""
    try:
        check_permission(job.owner, route)
    except LocalizedException as exc:
        raise ImportFileError(
            f"{job.owner.get_username()} may not call {route.method} {route.path}: {exc.rendered}"
        ) from exc


def idempotency_key(job: Import, index: int, group: str) -> str:
    """The key of one chunk's bulk: the same file, options and chunk give the same key."""
    options = json.dumps(
        [job.entity, job.behaviour, job.chunk_size, job.store_code, job.mapping, group],
        sort_keys=True,
    )
    return (
        f"import:{job.file_sha256[:32]}:{hashlib.sha256(options.encode()).hexdigest()[:16]}:{index}"
    )


def start(job: Import, *, dry_run: bool = False) -> Import:
    """Set the import (or its dry run) to run from the file's first row."""
    if not dry_run and job.state in (ImportState.QUEUED, ImportState.RUNNING, ImportState.DONE):
        return job
    job.state = ImportState.VALIDATING if dry_run else ImportState.QUEUED
    job.position_offset = job.position_row = job.position_chunk = 0
    job.error = ""
    if dry_run:
        job.dry_run_rows = job.dry_run_errors = 0
        RowErrorRow.objects.filter(job=job, dry_run=True).delete()
    job.save()
    return job


def run_slice(
    job_id: int, *, seconds: float | None = None, max_chunks: int | None = None
) -> Import:
    """Run the import (or dry run) on from its stored position for about `seconds`
    (or `max_chunks` chunks); return it. Assumes the caller's transaction, or opens one:
    the slice's bulks, chunks, errors and position commit together."""
    seconds = imports_settings.SLICE_SECONDS if seconds is None else seconds
    if connection.vendor == "sqlite":
        # SQLite has one writer: a long slice would hold every other write of the site.
        seconds = min(seconds, SQLITE_SLICE_SECONDS)
    with transaction.atomic():
        job = Import.objects.select_for_update().select_related("owner").get(pk=job_id)
        if job.state == ImportState.VALIDATING:
            _slice(job, dry_run=True, seconds=seconds, max_chunks=max_chunks)
        elif job.state in (ImportState.QUEUED, ImportState.RUNNING):
            if job.started_at is None:
                job.started_at = timezone.now()
            job.state = ImportState.RUNNING
            _slice(job, dry_run=False, seconds=seconds, max_chunks=max_chunks)
        return job


def _slice(job: Import, *, dry_run: bool, seconds: float, max_chunks: int | None) -> None:
    deadline = time.monotonic() + seconds
    resolver = Resolver(_context(job, job.store_code), create=not dry_run)
    contexts: dict[str, CallContext] = {}
    chunk: list[tuple[int, Any]] = []
    index = job.position_chunk
    done = 0
    position = (job.position_offset, job.position_row)
    try:
        for number, built, after in _built_rows(job, resolver, position):
            chunk.append((number, built))
            if len(chunk) >= job.chunk_size:
                _chunk(job, index, chunk, contexts, dry_run)
                index, done, chunk = index + 1, done + 1, []
                job.position_offset, job.position_row = after
                job.position_chunk = index
                if time.monotonic() > deadline or (max_chunks and done >= max_chunks):
                    _counters(job, dry_run)
                    job.save()
                    return
        if chunk:
            _chunk(job, index, chunk, contexts, dry_run)
            index += 1
    except ImportFileError as exc:
        job.error = str(exc)
        job.state = ImportState.FAILED
        job.finished_at = timezone.now()
        _counters(job, dry_run)
        job.save()
        return
    job.position_chunk = index
    job.state = ImportState.VALIDATED if dry_run else ImportState.DONE
    if not dry_run:
        job.finished_at = timezone.now()
    _counters(job, dry_run)
    job.save()


def _chunk(
    job: Import,
    index: int,
    rows: list[tuple[int, Any]],
    contexts: dict[str, CallContext],
    dry_run: bool,
) -> None:
    groups: dict[tuple[tuple[str, str], str], _Group] = {}
    errors: list[RowErrorRow] = []
    for number, built in rows:
        if isinstance(built, RowError):
            errors.append(
                RowErrorRow(
                    job=job,
                    row_number=number,
                    column=built.column,
                    message=built.message[:2000],
                    dry_run=dry_run,
                )
            )
            continue
        key, store, item = built
        group = groups.get((key, store))
        if group is None:
            group = groups[(key, store)] = _Group(route=_route(key), store=store)
        group.items.append(item)
        group.rows.append(number)
    if dry_run:
        for group in groups.values():
            _check_permission(job, group.route)
            ctx = contexts.get(group.store) or contexts.setdefault(
                group.store, _context(job, group.store)
            )
            for number, item in zip(group.rows, group.items, strict=True):
                problem = _check(group.route, ctx, item, job.mapping)
                if problem is not None:
                    errors.append(
                        RowErrorRow(
                            job=job,
                            row_number=number,
                            column=problem.column,
                            message=problem.message[:2000],
                            dry_run=True,
                        )
                    )
        RowErrorRow.objects.bulk_create(errors)
        job.dry_run_rows = (job.dry_run_rows or 0) + len(rows)
        job.dry_run_errors = (job.dry_run_errors or 0) + len(errors)
        job.rows_read = max(job.rows_read, rows[-1][0])
        return
    RowErrorRow.objects.filter(
        job=job, dry_run=False, row_number__gte=rows[0][0], row_number__lte=rows[-1][0]
    ).delete()
    for (key, store), group in sorted(groups.items()):
        _check_permission(job, group.route)
        name = f"{store}|{key[0]} {key[1]}"
        if ImportChunk.objects.filter(job=job, index=index, store_code=name).exists():
            continue
        ctx = contexts.get(store) or contexts.setdefault(store, _context(job, store))
        body = json.dumps(group.items, sort_keys=True, separators=(",", ":")).encode()
        accepted = accept_bulk(
            route=group.route,
            items=group.items,
            ctx=ctx,
            description=(
                f"Import {job.file_name} ({job.entity}), rows {group.rows[0]}–{group.rows[-1]}"
            ),
            idempotency_key=idempotency_key(job, index, name),
            fingerprint=request_fingerprint(
                "POST", "async/bulk/" + group.route.bulk_path, store, body
            ),
        )
        answers = accepted.response.get("request_items", [])
        rejected = [a for a in answers if a.get("status") == "rejected"]
        for answer in rejected:
            i = int(answer["id"])
            problem = _check(group.route, ctx, group.items[i], job.mapping)
            errors.append(
                RowErrorRow(
                    job=job,
                    row_number=group.rows[i],
                    column=problem.column if problem else "",
                    message=(answer.get("error_message") or (problem.message if problem else ""))[
                        :2000
                    ],
                )
            )
        ImportChunk.objects.create(
            job=job,
            index=index,
            store_code=name,
            bulk=Bulk.objects.filter(uuid=accepted.bulk_uuid).first(),
            row_numbers=group.rows,
            accepted=len(answers) - len(rejected),
            rejected=len(rejected),
            replayed=accepted.replayed,
        )
    RowErrorRow.objects.bulk_create(errors)
    job.rows_read = max(job.rows_read, rows[-1][0])


def _counters(job: Import, dry_run: bool) -> None:
    if dry_run:
        return
    totals = ImportChunk.objects.filter(job=job).aggregate(a=Sum("accepted"))
    job.rows_accepted = totals["a"] or 0
    job.rows_rejected = RowErrorRow.objects.filter(job=job, dry_run=False).count()
    job.chunks_done = ImportChunk.objects.filter(job=job).values("index").distinct().count()


def run_to_end(
    job: Import,
    *,
    dry_run: bool = False,
    on_progress: Progress | None = None,
    seconds: float | None = None,
) -> Import:
    """Start (or resume) the import and run its slices in this process until it ends
    (the command line's way; the dashboard queues `imports.run` messages instead)."""
    if dry_run or job.state in (ImportState.UPLOADED, ImportState.VALIDATED, ImportState.FAILED):
        start(job, dry_run=dry_run)
    while True:
        job = run_slice(job.pk, seconds=seconds)
        if on_progress is not None:
            on_progress(job)
        if job.state not in (ImportState.VALIDATING, ImportState.QUEUED, ImportState.RUNNING):
            return job


# -- outcome ------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """What an import's bulks did so far, summed over its chunks' bulks."""

    bulks: int
    operations: int
    complete: int
    failed: int
    open: int
    rejected: int


def outcome(job: Import) -> Outcome:
    totals = Bulk.objects.filter(
        pk__in=ImportChunk.objects.filter(job=job).values("bulk_id")
    ).aggregate(
        n=Sum("operation_count"),
        c=Sum("complete_count"),
        r=Sum("retriably_failed_count"),
        f=Sum("not_retriably_failed_count"),
        o=Sum("open_count"),
        x=Sum("rejected_count"),
    )
    return Outcome(
        bulks=ImportChunk.objects.filter(job=job, bulk__isnull=False).count(),
        operations=totals["n"] or 0,
        complete=totals["c"] or 0,
        failed=(totals["r"] or 0) + (totals["f"] or 0),
        open=totals["o"] or 0,
        rejected=totals["x"] or 0,
    )
