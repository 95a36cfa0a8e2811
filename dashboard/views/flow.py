"""Operators' pages: is work flowing? The overview, the queues, the consumers.

Each page is rendered once here and kept live by its panel (dashboard.flow, registered
at start-up): the server redraws it at most once a second however many are open.
Restarting consumers is a POST (CSRF-protected) refused without queues.operate_queues.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from dashboard import flow
from dashboard.live.render import Abilities
from dashboard.views.common import VIEW_QUEUES, operator_view, require_operate
from queues import actions


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """The front page: the overview for operators, the bulk log for everyone else."""
    if not request.user.has_perm(VIEW_QUEUES):
        return redirect("dashboard:bulks")
    chart_range = flow.range_of(request.GET.get("range"))
    context = flow.overview(Abilities.of(request.user), chart_range, user=request.user)
    context.update(active="overview", page_kind=flow.page_kind(chart_range))
    return render(request, "dashboard/overview.html", context)


@operator_view
def queue_list(request: HttpRequest) -> HttpResponse:
    context = {**flow.queues(Abilities.of(request.user)), "active": "queues"}
    return render(request, "dashboard/queues.html", context)


@operator_view
def consumer_list(request: HttpRequest) -> HttpResponse:
    context = {**flow.consumers(Abilities.of(request.user)), "active": "consumers"}
    return render(request, "dashboard/consumers.html", context)


@require_POST
@operator_view
def restart_consumers(request: HttpRequest) -> HttpResponse:
    """Ask one consumer process (`process`: its id) or all (`all`) to restart."""
    require_operate(request)
    process = request.POST.get("process", "")
    if process:
        try:
            process_id: int | None = int(process)
        except ValueError:
            return _done(request, "That is not a consumer process.", error=True)
    elif request.POST.get("all"):
        process_id = None
    else:
        return _done(request, "Choose a consumer process to restart, or all.", error=True)
    count = actions.restart_consumers(request.user.get_username(), process_id)
    if process_id is not None and not count:
        text = "That consumer process has stopped already or is restarting."
        return _done(request, text, error=True)
    if process_id is None:
        text = (
            f"Asked {count} consumer process{'es' if count != 1 else ''} to restart."
            if count
            else "No consumer process is running."
        )
    else:
        text = "Asked the consumer process to restart: it finishes its current message first."
    return _done(request, text)


def _done(request: HttpRequest, text: str, *, error: bool = False) -> HttpResponse:
    """For htmx: the message for the live region and the consumers' table out of band;
    otherwise a redirect to the consumers page with the message."""
    if not getattr(request, "htmx", None):
        (messages.error if error else messages.success)(request, text)
        return redirect(reverse("dashboard:consumers"))
    context = {**flow.consumers(Abilities.of(request.user)), "oob": True}
    html = render_to_string(
        "dashboard/_toast.html", {"message": text, "error": error}, request=request
    )
    html += render_to_string("dashboard/_flow_consumer_table.html", context, request=request)
    html += render_to_string("dashboard/_flow_actions.html", context, request=request)
    return HttpResponse(html)  # htmx swaps 200s only: the message says it failed
