"""What staff do from the pages: retry (one, selected, a group, all failed), edit, dismiss.

Every view is a POST (CSRF-protected by Django's middleware) that calls one
`operations.actions` function, which checks the permission and the bulk's
visibility again and records who did it. An htmx request gets the fragments that
changed and a message in the page's live region; a plain form post is redirected
back to the bulk with the message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from dashboard import queries
from dashboard.forms import EditOperationForm, OperationFilterForm
from dashboard.views.common import dashboard_view, groups_context, user_abilities, visible_bulk
from operations import actions
from operations.exceptions import InvalidOperationData, OperationsError
from operations.items import deserialize_item
from operations.models import Bulk, Operation


def _done(
    request: HttpRequest,
    bulk: Bulk,
    text: str,
    *,
    error: bool = False,
    operation: Operation | None = None,
) -> HttpResponse:
    """Answer an action. For htmx: the bulk's summary, error groups and the operation
    rows of the page it was sent from (its filters and page, from HX-Current-URL), out of
    band, a message for the live region, and `operation`'s details as the main content.
    Otherwise a redirect to the bulk's page, the message shown there."""
    htmx = getattr(request, "htmx", None)
    if not htmx:
        (messages.error if error else messages.success)(request, text)
        return redirect(reverse("dashboard:bulk", args=[bulk.uuid]))
    bulk.refresh_from_db()
    query = QueryDict(urlsplit(htmx.current_url or "").query)
    rows = queries.operations_page(bulk, OperationFilterForm(query).filters()).rows
    context = {
        **_bulk_context(request, bulk),
        "message": text,
        "error": error,
        "rows": rows,
        "operation": operation,
    }
    if operation is not None:
        operation.refresh_from_db()
        context["events"] = queries.operation_events(operation)
    return render(request, "dashboard/_after_action.html", context)


def _bulk_context(request: HttpRequest, bulk: Bulk) -> dict[str, Any]:
    return {**user_abilities(request.user), "bulk": bulk, **groups_context(bulk)}


def _operation_ids(request: HttpRequest) -> list[int]:
    ids = []
    for value in request.POST.getlist("operation"):
        try:
            ids.append(int(value))
        except ValueError:
            continue
    return ids


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


@require_POST
@dashboard_view
def retry_one(request: HttpRequest, bulk_uuid: Any, operation_id: int) -> HttpResponse:
    bulk = visible_bulk(request, bulk_uuid)
    if not Operation.objects.filter(bulk=bulk, pk=operation_id).exists():
        return _done(request, bulk, f"This bulk has no operation {operation_id}.", error=True)
    try:
        actions.retry_operations([operation_id], request.user)
    except OperationsError as exc:
        return _done(request, bulk, str(exc), error=True)
    return _done(request, bulk, f"Operation {operation_id} queued again.")


@require_POST
@dashboard_view
def retry_selected(request: HttpRequest, bulk_uuid: Any) -> HttpResponse:
    bulk = visible_bulk(request, bulk_uuid)
    ids = _operation_ids(request)
    if not ids:
        return _done(request, bulk, "Select the operations to retry first.", error=True)
    chosen = set(Operation.objects.filter(bulk=bulk, pk__in=ids).values_list("pk", flat=True))
    if chosen != set(ids):
        missing = sorted(set(ids) - chosen)
        return _done(request, bulk, f"This bulk has no operation {missing}.", error=True)
    try:
        count = actions.retry_operations(ids, request.user)
    except OperationsError as exc:
        return _done(request, bulk, str(exc), error=True)
    return _done(request, bulk, f"{_plural(count, 'operation', 'operations')} queued again.")


@require_POST
@dashboard_view
def retry_all_failed(request: HttpRequest, bulk_uuid: Any) -> HttpResponse:
    bulk = visible_bulk(request, bulk_uuid)
    try:
        count = actions.retry_failed(bulk, request.user)
    except OperationsError as exc:
        return _done(request, bulk, str(exc), error=True)
    if not count:
        return _done(request, bulk, "No failed operation to retry.")
    return _done(
        request, bulk, f"{_plural(count, 'failed operation', 'failed operations')} queued again."
    )


@require_POST
@dashboard_view
def retry_group(request: HttpRequest, bulk_uuid: Any) -> HttpResponse:
    """Retry every failed operation of the bulk with one error code and message."""
    bulk = visible_bulk(request, bulk_uuid)
    raw_code = request.POST.get("code", "")
    try:
        code = int(raw_code) if raw_code not in ("", "None") else None
    except ValueError:
        return _done(request, bulk, "That error group does not exist.", error=True)
    try:
        count = actions.retry_group(
            bulk, request.user, error_code=code, message=request.POST.get("message", "")
        )
    except OperationsError as exc:
        return _done(request, bulk, str(exc), error=True)
    if not count:
        return _done(request, bulk, "Nothing left to retry in that group.")
    return _done(
        request, bulk, f"{_plural(count, 'operation', 'operations')} of the group queued again."
    )


@dashboard_view
def edit_operation(request: HttpRequest, bulk_uuid: Any, operation_id: int) -> HttpResponse:
    """Show the payload form (GET), or validate it with the route's serializer and retry (POST)."""
    bulk = visible_bulk(request, bulk_uuid)
    operation = Operation.objects.filter(bulk=bulk, pk=operation_id).first()
    if operation is None:
        return render(request, "404.html", {"message": "No such operation."}, status=404)
    if request.method == "POST":
        form = EditOperationForm(request.POST)
        if form.is_valid():
            try:
                actions.edit_operation(operation, form.cleaned_data["payload"], request.user)
            except InvalidOperationData as exc:
                form.add_error("payload", exc.message)
            except OperationsError as exc:
                form.add_error(None, str(exc))
            else:
                return _done(
                    request,
                    bulk,
                    f"Operation {operation.index} edited and queued again.",
                    operation=operation,
                )
        status = 400 if not getattr(request, "htmx", None) else 200
    else:
        form = EditOperationForm(initial={"payload": _pretty_payload(operation)})
        status = 200
    context = {**user_abilities(request.user), "bulk": bulk, "operation": operation, "form": form}
    template = (
        "dashboard/_edit_form.html"
        if getattr(request, "htmx", None)
        else "dashboard/edit_page.html"
    )
    return render(request, template, context, status=status)


def _pretty_payload(operation: Operation) -> str:
    import json

    return json.dumps(deserialize_item(operation.serialized_data), indent=2, ensure_ascii=False)


@require_POST
@dashboard_view
def dismiss_bulk(request: HttpRequest, bulk_uuid: Any) -> HttpResponse:
    bulk = visible_bulk(request, bulk_uuid)
    try:
        actions.acknowledge_bulk(bulk, request.user)
    except OperationsError as exc:
        return _notifications_or_done(request, bulk, str(exc), error=True)
    return _notifications_or_done(request, bulk, "Dismissed.")


def _notifications_or_done(
    request: HttpRequest, bulk: Bulk, text: str, *, error: bool = False
) -> HttpResponse:
    if request.POST.get("from") == "notifications" and getattr(request, "htmx", None):
        return render(
            request,
            "dashboard/_notifications.html",
            {"notifications": queries.notifications(request.user), "message": text, "error": error},
        )
    return _done(request, bulk, text, error=error)


@require_POST
@dashboard_view
def dismiss_all(request: HttpRequest) -> HttpResponse:
    """Dismiss every finished bulk of the user (Magento's "Dismiss All Completed Tasks")."""
    try:
        dismissed = actions.acknowledge_finished(request.user)
        text = f"{_plural(dismissed, 'task', 'tasks')} dismissed."
    except OperationsError as exc:
        text = str(exc)
    if getattr(request, "htmx", None):
        return render(
            request,
            "dashboard/_notifications.html",
            {"notifications": queries.notifications(request.user), "message": text},
        )
    messages.success(request, text)
    return redirect(request.POST.get("next") or reverse("dashboard:bulks"))
