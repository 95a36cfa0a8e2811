"""Reading pages: the bulk log, a bulk's page, an operation's details, the CSV export."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify

from dashboard import queries
from dashboard.bulk_waiting import why_not_moving
from dashboard.forms import BulkFilterForm, OperationFilterForm, parse_cursor
from dashboard.views.common import (
    dashboard_view,
    groups_context,
    page_or_fragment,
    user_abilities,
    visible_bulk,
)
from operations.models import Operation, OperationStatus


@dashboard_view
def bulk_list(request: HttpRequest) -> HttpResponse:
    """The bulk log: one row per bulk, newest first, filtered, keyset-paginated."""
    abilities = user_abilities(request.user)
    form = BulkFilterForm(request.GET or None, can_view_all=abilities["can_view_all"])
    filters = form.filters()
    page = queries.bulk_log(
        request.user,
        filters,
        before=parse_cursor(request.GET.get("before")),
        after=parse_cursor(request.GET.get("after")),
    )
    kept = _kept(request)
    context = {
        **abilities,
        "form": form,
        "page": page,
        "bulks": page.rows,
        "at_top": not request.GET.get("before") and not page.newer,
        "filters_query": urlencode(kept),
        "newer_url": _page_url(kept, after=page.newer),
        "older_url": _page_url(kept, before=page.older),
        "watch_filters": kept,
    }
    return page_or_fragment(
        request, "dashboard/bulk_list.html", "dashboard/_bulk_table.html", context
    )


def _kept(request: HttpRequest) -> dict[str, str]:
    """Return the query's filters, without its page cursor."""
    return {k: str(v) for k, v in request.GET.items() if k not in ("before", "after") and v}


def _index_url(kept: dict[str, str], **cursor: int | None) -> str | None:
    for name, value in cursor.items():
        if value is not None:
            return "?" + urlencode({**kept, name: value})
    return None


def _page_url(kept: dict[str, str], **cursor: Any) -> str | None:
    for name, value in cursor.items():
        if value is not None:
            return "?" + urlencode({**kept, name: format_cursor_key(value)})
    return None


def format_cursor_key(key: tuple[float, int]) -> str:
    return f"{key[0]:.6f}_{key[1]}"


@dashboard_view
def bulk_detail(request: HttpRequest, bulk_uuid: Any) -> HttpResponse:
    """A bulk's page: summary, failures grouped by error, the operations table."""
    bulk = visible_bulk(request, bulk_uuid)
    form = OperationFilterForm(request.GET or None)
    filters = form.filters()
    page = queries.operations_page(bulk, filters)
    kept = _kept(request)
    context = {
        **user_abilities(request.user),
        "bulk": bulk,
        "form": form,
        "filters": filters,
        "page": page,
        "operations": page.rows,
        **groups_context(bulk),
        "filters_query": urlencode(kept),
        "newer_url": _index_url(kept, before=page.newer),
        "older_url": _index_url(kept, after=page.older),
        "statuses": OperationStatus,
        "acknowledged": bulk.acknowledgements.select_related("user").order_by("at"),
        # What a bulk that is not moving waits for (the full page only, not its fragments).
        "waiting": None if getattr(request, "htmx", None) else why_not_moving(bulk),
    }
    return page_or_fragment(
        request, "dashboard/bulk_detail.html", "dashboard/_operations.html", context
    )


@dashboard_view
def operation_detail(request: HttpRequest, bulk_uuid: Any, operation_id: int) -> HttpResponse:
    """An operation's request, result, message and whole history (a fragment for the
    expanded row, or a page of its own for a link)."""
    bulk = visible_bulk(request, bulk_uuid)
    operation = Operation.objects.filter(bulk=bulk, pk=operation_id).first()
    if operation is None:
        return render(request, "404.html", {"message": "No such operation."}, status=404)
    context = {
        **user_abilities(request.user),
        "bulk": bulk,
        "operation": operation,
        "events": queries.operation_events(operation),
    }
    return page_or_fragment(
        request, "dashboard/operation_page.html", "dashboard/_operation_detail.html", context
    )


EXPORT_COLUMNS = (
    "id",
    "index",
    "topic",
    "status",
    "status_label",
    "error_code",
    "result_message",
    "attempts",
    "started_at",
    "finished_at",
    "serialized_data",
    "result_serialized_data",
)


class _Echo:
    """A file-like object whose write returns what it was given (csv.writer into a stream)."""

    def write(self, value: str) -> str:
        return value


@dashboard_view
def export_operations(request: HttpRequest, bulk_uuid: Any) -> StreamingHttpResponse:
    """The operations the table shows (its current filter, every page) as CSV, streamed."""
    bulk = visible_bulk(request, bulk_uuid)
    filters = OperationFilterForm(request.GET or None).filters()
    filters.pop("after", None)
    filters.pop("before", None)
    rows = (
        queries.filter_operations(Operation.objects.filter(bulk=bulk), filters)
        .order_by("index")
        .values_list(*(c for c in EXPORT_COLUMNS if c != "status_label"))
    )
    labels = dict(OperationStatus.choices)
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(EXPORT_COLUMNS)
        for row in rows.iterator(chunk_size=2000):
            values = list(row)
            values.insert(4, labels.get(values[3], values[3]))
            yield writer.writerow(_csv_safe(v) for v in values)

    name = slugify(bulk.description)[:40] or "bulk"
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = (
        f'attachment; filename="operations-{name}-{str(bulk.uuid)[:8]}-{stamp}.csv"'
    )
    return response


def _csv_safe(value: Any) -> Any:
    """Keep a spreadsheet from reading a cell as a formula (`=`, `+`, `-`, `@` first)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
