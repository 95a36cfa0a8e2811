"""Operators' pages: is work flowing? The overview, the queues, the consumers."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from dashboard.views.common import VIEW_QUEUES, operator_view


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """The front page: the overview for operators, the bulk log for everyone else."""
    if not request.user.has_perm(VIEW_QUEUES):
        return redirect("dashboard:bulks")
    raise Http404("not built yet")


@operator_view
def queue_list(request: HttpRequest) -> HttpResponse:
    raise Http404("not built yet")


@operator_view
def consumer_list(request: HttpRequest) -> HttpResponse:
    raise Http404("not built yet")


@operator_view
def restart_consumers(request: HttpRequest) -> HttpResponse:
    raise Http404("not built yet")
