"""Failures across bulks: the failed operations of every visible bulk, grouped."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse

from dashboard.views.common import dashboard_view


@dashboard_view
def failure_list(request: HttpRequest) -> HttpResponse:
    raise Http404("not built yet")


@dashboard_view
def retry_failure_group(request: HttpRequest) -> HttpResponse:
    raise Http404("not built yet")
