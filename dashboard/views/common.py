"""What every dashboard view shares: who may open it, the bulk it is about, page or fragment."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from dashboard import queries
from operations.models import Bulk

VIEW = "operations.view_bulk"
VIEW_ALL = "operations.view_all_bulks"
RETRY = "operations.retry_operations"
EDIT = "operations.edit_operations"
ACKNOWLEDGE = "operations.acknowledge_bulks"
VIEW_QUEUES = "queues.view_queues"
OPERATE_QUEUES = "queues.operate_queues"

NO_ACCESS = (
    "Your account may not see bulk operations: it needs the permission "
    "“Can view bulk” (operations.view_bulk). Ask an administrator."
)
NO_QUEUES = (
    "Your account may not see queues and consumers: it needs the permission "
    "“Can view queues, consumers and dead letters” (queues.view_queues). Ask an administrator."
)
NO_OPERATING = (
    "Your account may not operate queues: it needs the permission “Can restart consumers "
    "and send back or discard dead letters” (queues.operate_queues). Ask an administrator."
)

View = Callable[..., HttpResponseBase]


def requiring(permission: str, refusal: str) -> Callable[[View], View]:
    """Return a decorator requiring a signed-in user holding `permission` (anonymous
    visitors go to sign in; others get a 403 saying `refusal`)."""

    def decorator(view: View) -> View:
        @login_required
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.has_perm(permission):
                raise PermissionDenied(refusal)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


dashboard_view = requiring(VIEW, NO_ACCESS)  # the bulks' pages
operator_view = requiring(VIEW_QUEUES, NO_QUEUES)  # the overview, queues, consumers, dead letters


def require_operate(request: HttpRequest) -> None:
    """Refuse (403) a user who may not restart consumers or act on dead letters."""
    if not request.user.has_perm(OPERATE_QUEUES):
        raise PermissionDenied(NO_OPERATING)


def visible_bulk(request: HttpRequest, bulk_uuid: Any) -> Bulk:
    """Return the bulk if the user may see it; 404 otherwise (another's bulk does not exist)."""
    bulk = queries.get_visible_bulk(request.user, bulk_uuid)
    if bulk is None:
        raise Http404("No such bulk.")
    return bulk


def page_or_fragment(
    request: HttpRequest, page: str, fragment: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """Render the full `page`, or only `fragment` for an htmx request (not a boosted one)."""
    htmx = getattr(request, "htmx", None)
    template = fragment if htmx and not htmx.boosted else page
    return render(request, template, context, status=status)


def user_abilities(user: Any) -> dict[str, bool]:
    """Return what the user may do, for the templates (the server checks again anyway)."""
    return {
        "can_view_all": user.has_perm(VIEW_ALL),
        "can_retry": user.has_perm(RETRY),
        "can_edit": user.has_perm(EDIT) and user.has_perm(RETRY),
        "can_acknowledge": user.has_perm(ACKNOWLEDGE),
        "can_view_queues": user.has_perm(VIEW_QUEUES),
        "can_operate_queues": user.has_perm(OPERATE_QUEUES),
    }


def groups_context(bulk: Bulk) -> dict[str, Any]:
    """Return the bulk's error groups as the templates name them."""
    to_retry, cannot_update = queries.error_groups([bulk.pk])[bulk.pk]
    return {"to_retry": to_retry, "cannot_update": cannot_update}
