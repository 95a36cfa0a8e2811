"""Dead letters: the messages each dead-letter queue holds, sent back or discarded."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse

from dashboard.views.common import operator_view


@operator_view
def dead_letter_list(request: HttpRequest) -> HttpResponse:
    raise Http404("not built yet")


@operator_view
def requeue_dead_letters(request: HttpRequest) -> HttpResponse:
    raise Http404("not built yet")


@operator_view
def discard_dead_letters(request: HttpRequest) -> HttpResponse:
    raise Http404("not built yet")
