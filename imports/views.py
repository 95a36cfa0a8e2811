"""/dashboard/imports/: upload a file, check its mapping and a dry run, start, watch.

Every page needs `imports.run_imports`; an import's rows are written with its owner's
permissions (each route's own, checked when a chunk is accepted and again when its
operations run). The progress fragment is live over the dashboard's websocket
(`imports.live`, once a second) and fetched again every 3 s by htmx while the import
or its bulks are still running (pages without a websocket; the page reloads when a
dry run or an import ends); the bulks it links to are the live bulk pages.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from dashboard.views.common import requiring
from imports import actions, entities, readers, reports
from imports.exceptions import ImportFileError
from imports.forms import UploadForm
from imports.handlers import RUNNING, enqueue
from imports.models import Import, ImportChunk, ImportState

RUN = "imports.run_imports"
NO_IMPORTS = (
    "Your account may not import files: it needs the permission “Can upload and run "
    "imports” (imports.run_imports). Ask an administrator."
)
import_view = requiring(RUN, NO_IMPORTS)
PAGE = 50


def _visible(request: HttpRequest, import_uuid: Any) -> Import:
    job = Import.objects.filter(uuid=import_uuid).select_related("owner").first()
    if job is None or (
        job.owner_id != request.user.pk and not request.user.has_perm("operations.view_all_bulks")
    ):
        raise Http404("No such import.")
    return job


@import_view
def import_list(request: HttpRequest) -> HttpResponse:
    form = UploadForm()
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            job = _upload(request, form)
            if job is not None:
                return redirect("imports:detail", job.uuid)
    imports = Import.objects.select_related("owner")
    if not request.user.has_perm("operations.view_all_bulks"):
        imports = imports.filter(owner_id=request.user.pk)
    context = {"form": form, "imports": imports[:PAGE], "active": "imports"}
    return render(request, "imports/list.html", context, status=400 if form.errors else 200)


def _upload(request: HttpRequest, form: UploadForm) -> Import | None:
    upload = form.cleaned_data["file"]
    with tempfile.NamedTemporaryFile(suffix=Path(upload.name).suffix, delete=False) as handle:
        for block in upload.chunks():
            handle.write(block)
        temp = Path(handle.name)
    try:
        return actions.create_import(
            owner=request.user,
            source=temp,
            file_name=upload.name,
            entity=form.cleaned_data["entity"],
            behaviour=form.cleaned_data["behaviour"],
            encoding=form.cleaned_data["encoding"],
        )
    except ImportFileError as exc:
        form.add_error("file", str(exc))
        return None
    finally:
        temp.unlink(missing_ok=True)


@import_view
def import_detail(request: HttpRequest, import_uuid: Any) -> HttpResponse:
    job = _visible(request, import_uuid)
    kind = entities.get(job.entity)
    columns: list[str] = []
    rows: list[list[str]] = []
    problem = ""
    try:
        columns = actions.columns(job)
        for _number, row in actions.preview(job):
            values = row if isinstance(row, dict) else {}
            rows.append([reports._cell(values.get(c, "")) for c in columns])
    except (ImportFileError, UnicodeDecodeError) as exc:
        problem = str(exc)
    targets = [("", "(not imported)"), *((f, f) for f in kind.fields)]
    mapping = [(c, job.mapping.get(c, "")) for c in columns]
    for _column, target in mapping:
        if target.startswith(entities.ATTRIBUTE) and (target, target) not in targets:
            targets.append((target, f"custom attribute {target[len(entities.ATTRIBUTE) :]}"))
    context = {
        **_progress_context(job),
        "kind": kind,
        "columns": columns,
        "rows": rows,
        "mapping": mapping,
        "targets": targets,
        "encodings": readers.ENCODINGS.items(),
        "behaviours": [(b, entities.BEHAVIOURS[b]) for b in kind.routes],
        "editable": job.state in (ImportState.UPLOADED, ImportState.VALIDATED),
        "problem": problem,
        "active": "imports",
    }
    return render(request, "imports/detail.html", context)


def _progress_context(job: Import) -> dict[str, Any]:
    outcome = actions.outcome(job)
    dry = job.state in (ImportState.VALIDATING, ImportState.VALIDATED)
    errors = job.row_errors.filter(dry_run=dry)[:PAGE]
    bulks = (
        ImportChunk.objects.filter(job=job, bulk__isnull=False)
        .select_related("bulk")
        .order_by("index", "store_code")[:PAGE]
    )
    live = job.state in RUNNING or outcome.open > 0
    done = outcome.complete + outcome.failed + outcome.rejected
    return {
        "job": job,
        "outcome": outcome,
        "errors": errors,
        "dry": dry,
        "bulks": bulks,
        "live": live,
        "done_percent": round(100 * done / outcome.operations) if outcome.operations else 0,
        "bad_percent": round(100 * (outcome.failed + outcome.rejected) / outcome.operations)
        if outcome.operations
        else 0,
        "ok_percent": round(100 * outcome.complete / outcome.operations)
        if outcome.operations
        else 0,
    }


@import_view
def progress(request: HttpRequest, import_uuid: Any) -> HttpResponse:
    job = _visible(request, import_uuid)
    if request.GET.get("from") in RUNNING and job.state not in RUNNING:
        # The dry run or the import ended: the whole page changes (mapping, buttons).
        return HttpResponseClientRefresh()
    return render(request, "imports/_progress.html", _progress_context(job))


def _owned(request: HttpRequest, import_uuid: Any) -> Import:
    job = _visible(request, import_uuid)
    if job.owner_id != request.user.pk:
        raise PermissionDenied("Only the person who uploaded an import may change or start it.")
    return job


@import_view
@require_POST
def save_options(request: HttpRequest, import_uuid: Any) -> HttpResponse:
    job = _owned(request, import_uuid)
    mapping = {
        column: request.POST.get(f"map-{i}", "")
        for i, column in enumerate(actions.columns(job))
        if f"map-{i}" in request.POST
    }
    try:
        actions.set_options(
            job,
            mapping={**job.mapping, **mapping} if mapping else None,
            encoding=request.POST.get("encoding", ""),
            behaviour=request.POST.get("behaviour", ""),
        )
    except ImportFileError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The options are saved.")
    return redirect("imports:detail", job.uuid)


@import_view
@require_POST
def dry_run(request: HttpRequest, import_uuid: Any) -> HttpResponse:
    job = _owned(request, import_uuid)
    if job.state not in (ImportState.UPLOADED, ImportState.VALIDATED):
        messages.error(request, "The import has started: a dry run is for before it starts.")
        return redirect("imports:detail", job.uuid)
    with transaction.atomic():
        enqueue(actions.start(job, dry_run=True))
    messages.info(request, "The dry run is queued: every row is checked, nothing is created.")
    return redirect("imports:detail", job.uuid)


@import_view
@require_POST
def start(request: HttpRequest, import_uuid: Any) -> HttpResponse:
    job = _owned(request, import_uuid)
    if job.state not in (ImportState.UPLOADED, ImportState.VALIDATED, ImportState.FAILED):
        messages.error(request, "The import has already started.")
        return redirect("imports:detail", job.uuid)
    with transaction.atomic():
        enqueue(actions.start(job))
    messages.success(request, "The import is queued: its progress shows below.")
    return redirect("imports:detail", job.uuid)


@import_view
def failed_rows(request: HttpRequest, import_uuid: Any) -> StreamingHttpResponse:
    job = _visible(request, import_uuid)
    dry = request.GET.get("dry_run") == "1"
    response = StreamingHttpResponse(
        reports.failed_rows_csv(job, dry_run=dry), content_type="text/csv; charset=utf-8"
    )
    stem = Path(job.file_name).stem or "import"
    response["Content-Disposition"] = f'attachment; filename="{stem}-failed-rows.csv"'
    return response
