"""Failures across bulks: the failed operations of every visible bulk, grouped, and
"Retry a group" as one tracked action whose progress the page shows live.

Reads go through `dashboard.failures`; the retry is `operations.actions.people.
retry_failure_group`, which checks the permission and the bulks' visibility again and
records who asked. The retries' progress is the page's live panel (kind "failures").
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from dashboard import failures
from dashboard.live import panels
from dashboard.live.render import Abilities
from dashboard.views.common import RETRY, dashboard_view, page_or_fragment, user_abilities
from operations.actions.people import retry_failure_group as retry_group_action
from operations.exceptions import OperationsError

NO_RETRY = (
    "Your account may not retry operations: it needs the permission "
    "“Can retry failed operations” (operations.retry_operations). Ask an administrator."
)


@dashboard_view
def failure_list(request: HttpRequest) -> HttpResponse:
    """The failed operations of the user's visible bulks in a time range, grouped by topic,
    error code and message; the recent group retries and their progress."""
    filters = failures.parse_filters(request.GET)
    groups = failures.failure_groups(request.user, filters)
    context = {
        **user_abilities(request.user),
        "active": "failures",
        "filters": filters,
        "groups": groups,
        "topics": failures.topics(groups),
        "ranges": list(failures.RANGE_WORDS.items()),
        **_retries(request.user),
        "filters_query": urlencode(filters.query()),
        "max_groups": failures.MAX_GROUPS,
    }
    return page_or_fragment(
        request, "dashboard/failures.html", "dashboard/_failures_groups.html", context
    )


@require_POST
@dashboard_view
def retry_failure_group(request: HttpRequest) -> HttpResponse:
    """Retry every failed operation of one group (topic, code, message) in the range."""
    if not request.user.has_perm(RETRY):
        raise PermissionDenied(NO_RETRY)
    filters = failures.parse_filters(request.POST)
    topic = request.POST.get("topic", "")
    message = request.POST.get("message", "")
    if filters.problems or not topic or not filters.code_given:
        return _answer(request, filters, "That failure group does not exist.", error=True)
    try:
        retry = retry_group_action(
            request.user,
            topic=topic,
            error_code=filters.code,
            message=message,
            since=filters.since,
            range_label=filters.range,
        )
    except OperationsError as exc:
        return _answer(request, filters, str(exc), error=True)
    text = (
        f"{retry.total} failed operation{'s' if retry.total != 1 else ''} in "
        f"{retry.bulk_count} bulk{'s' if retry.bulk_count != 1 else ''} queued again; "
        "their progress is shown below."
    )
    return _answer(request, filters, text)


def _answer(request: HttpRequest, filters: failures.Filters, text: str, *, error: bool = False):
    """For htmx: the message for the live region and, out of band, the groups and the
    retries. Otherwise a redirect back to the page with the message."""
    if not getattr(request, "htmx", None):
        (messages.error if error else messages.success)(request, text)
        return redirect(reverse("dashboard:failures") + "?" + urlencode(filters.query()))
    groups = failures.failure_groups(request.user, filters)
    context = {
        **user_abilities(request.user),
        "filters": filters,
        "groups": groups,
        **_retries(request.user),
        "filters_query": urlencode(filters.query()),
        "max_groups": failures.MAX_GROUPS,
        "message": text,
        "error": error,
        "oob": True,
    }
    return render(request, "dashboard/_failures_after_retry.html", context)


def _retries(user: Any) -> dict[str, Any]:
    retries = failures.recent_retries(user)
    return {"retries": retries, "retries_running": any(not p.settled for p in retries)}


def render_panel(abilities: Abilities, user_id: int | None) -> list[str]:
    """The live panel of the failures page: the recent group retries and their progress,
    all of them (`user_id` None: for those who see every bulk) or one user's own."""
    if user_id is None:
        retries = failures.recent_retries(None, everyone=True)
    else:
        retries = failures.recent_retries(get_user_model().objects.filter(pk=user_id).first())
    context: dict[str, Any] = {**abilities.context(), "retries": retries, "oob": True}
    return [render_to_string("dashboard/_failures_retries.html", context)]


panels.register(panels.Panel(kind="failures", render=render_panel, interval=1.0, per_user=True))
