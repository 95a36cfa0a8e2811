"""Dead letters: the messages each dead-letter queue holds, sent back or discarded.

The page lists, per declared queue, how many dead letters it holds and the first of
them (topic, message id, headers, body, reason, when); `?queue=` and `?topic=`
narrow it. Sending back and discarding are POSTs (CSRF-protected) that need
`queues.operate_queues` and call `queues.dead_letters.requeue` / `discard`, which
record who did it. The counts and the log of actions are live (the panel of kind
"dead-letters", drawn at most once per second whatever the number of open pages);
when a queue's count differs from the one its list was drawn with, the page fetches
that queue's section again (static/dashboard/dead_letters.js).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from dashboard.live import panels
from dashboard.live.render import Abilities
from dashboard.views.common import operator_view, require_operate, user_abilities
from queues import dead_letters
from queues.exceptions import QueueError, TransportError
from queues.models import OperatorAction

PAGE_SIZE = 50
MAX_TOPIC = 255
_TOPIC = re.compile(r"^[A-Za-z0-9_.:*#-]+$")


@dataclass
class Section:
    """One queue's part of the page: `total` dead letters, `count` of them matching the
    topic filter (the same without one)."""

    queue: str
    slug: str
    transport: str
    total: int | None = None
    count: int | None = None
    letters: list[dead_letters.DeadLetter] = field(default_factory=list)
    more: bool = False
    error: str = ""


def slug(queue: str) -> str:
    """Return an HTML id for `queue` (queue names hold dots; two names never share one)."""
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", queue).strip("-")[:60]
    return f"{readable}-{hashlib.sha1(queue.encode()).hexdigest()[:6]}"


def row_id(section_slug: str, key: str) -> str:
    return f"dl-{section_slug}-{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def clean_filters(queue: str, topic: str) -> tuple[str, str, list[str]]:
    """Return the queue and topic to show, and what was wrong with the ones asked for."""
    problems = []
    queue, topic = queue.strip(), topic.strip()
    if queue and queue not in dead_letters.queues():
        problems.append(f"No declared queue is named “{queue[:200]}”: showing every queue.")
        queue = ""
    if topic and (len(topic) > MAX_TOPIC or not _TOPIC.match(topic)):
        problems.append(
            f"“{topic[:200]}” is not a topic (words of letters, digits, _ and -, "
            "separated by dots): showing every topic."
        )
        topic = ""
    return queue, topic, problems


def build_section(queue: str, topic: str, total: int | None = None) -> Section:
    """Read one queue's dead letters: how many (`total` if given), how many of `topic`,
    and the first page of them."""
    try:
        transport = dead_letters.connection_of(queue)
    except QueueError as exc:
        return Section(queue, slug(queue), "?", error=str(exc))
    section = Section(queue, slug(queue), transport, total)
    try:
        if section.total is None:
            section.total = dead_letters.count(queue)
        section.count = dead_letters.count(queue, topic) if topic else section.total
        if section.count:
            page = dead_letters.list_dead(queue, topic=topic or None, limit=PAGE_SIZE)
            section.letters, section.more = page.letters, page.more or not page.scanned_all
    except TransportError as exc:
        section.error = f"The {transport} transport did not answer: {exc}"
    return section


def _sections(queue: str, topic: str) -> list[Section]:
    if queue:
        return [build_section(queue, topic)]
    known = dead_letters.counts()
    return [build_section(name, topic, found) for name, found in known.items()]


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        **user_abilities(request.user),
        "active": "dead-letters",
        "batch": dead_letters.batch_limit(),
        "actions": dead_letters.recent_actions(),
        **extra,
    }


@operator_view
def dead_letter_list(request: HttpRequest) -> HttpResponse:
    queue, topic, problems = clean_filters(
        request.GET.get("queue", ""), request.GET.get("topic", "")
    )
    context = _context(
        request,
        queues=dead_letters.queues(),
        queue=queue,
        topic=topic,
        problems=problems,
        sections=_sections(queue, topic),
    )
    return render(request, "dashboard/dead_letters.html", context)


@require_POST
@operator_view
def requeue_dead_letters(request: HttpRequest) -> HttpResponse:
    require_operate(request)
    return _act(request, OperatorAction.Kind.REQUEUE)


@require_POST
@operator_view
def discard_dead_letters(request: HttpRequest) -> HttpResponse:
    require_operate(request)
    return _act(request, OperatorAction.Kind.DISCARD)


def _act(request: HttpRequest, kind: str) -> HttpResponse:
    queue, topic, problems = clean_filters(
        request.POST.get("queue", ""), request.POST.get("topic", "")
    )
    keys = [k for k in request.POST.getlist("key") if k.strip()][: dead_letters.batch_limit()]
    everything = request.POST.get("all") == "1"
    if problems or not queue:
        return _answer(request, queue, topic, problems[0] if problems else "Choose a queue.", True)
    if not keys and not everything:
        return _answer(request, queue, topic, "Select the dead letters first.", True)
    run = dead_letters.requeue if kind == OperatorAction.Kind.REQUEUE else dead_letters.discard
    try:
        result = run(
            queue,
            None if everything else keys,
            topic=topic or None,
            actor=request.user.get_username(),
        )
    except QueueError as exc:
        return _answer(request, queue, topic, str(exc), True)
    return _answer(
        request, queue, topic, result_sentence(result, asked=None if everything else keys)
    )


def result_sentence(result: dead_letters.Result, asked: list[str] | None = None) -> str:
    """Return what an action did, in words: "3 sent back to q; 2 remain: send back again"."""
    done = "sent back to" if result.kind == OperatorAction.Kind.REQUEUE else "discarded from"
    text = f"{result.done} dead letter{'s' if result.done != 1 else ''} {done} {result.queue}"
    if asked is not None and result.done < len(asked):
        gone = len(asked) - result.done
        text += f"; {gone} of those chosen {'was' if gone == 1 else 'were'} no longer there"
    if result.remaining:
        again = "send back" if result.kind == OperatorAction.Kind.REQUEUE else "discard"
        text += f"; {result.remaining} remain ({again} again for the rest)"
    return text + "."


def _answer(
    request: HttpRequest, queue: str, topic: str, text: str, error: bool = False
) -> HttpResponse:
    """For htmx: the queue's section again (the target), a toast and the log out of band;
    after an error, only the toast (retargeted to #toasts). Otherwise a redirect back."""
    if not getattr(request, "htmx", None):
        (messages.error if error else messages.success)(request, text)
        query = urlencode({k: v for k, v in (("queue", queue), ("topic", topic)) if v})
        return redirect(reverse("dashboard:dead-letters") + (f"?{query}" if query else ""))
    if error or not queue:
        toast = render_to_string("dashboard/_toast.html", {"message": text, "error": error})
        return reswap(retarget(HttpResponse(toast), "#toasts"), "beforeend")
    shown_topic = _shown_topic(request, topic)
    context = _context(
        request, section=build_section(queue, shown_topic), topic=shown_topic, toast_message=text
    )
    return render(request, "dashboard/_dead_after_action.html", context)


def _shown_topic(request: HttpRequest, acted_topic: str) -> str:
    """Return the topic filter of the page the action came from (HX-Current-URL)."""
    current = getattr(getattr(request, "htmx", None), "current_url", None) or ""
    asked = parse_qs(urlsplit(current).query).get("topic", [""])[0]
    _q, topic, _problems = clean_filters("", asked)
    return topic or acted_topic


# -- the live panel ------------------------------------------------------------------------


def render_panel(abilities: Abilities) -> list[str]:
    """Return the counts of every dead-letter queue and the log of actions, out of band."""
    parts: list[str] = []
    for queue, found in dead_letters.counts().items():
        parts.append(
            render_to_string(
                "dashboard/_dead_count.html",
                {"section": Section(queue, slug(queue), "", total=found), "oob": True},
            )
        )
    parts.append(
        render_to_string(
            "dashboard/_dead_actions.html",
            {"actions": dead_letters.recent_actions(), "oob": True},
        )
    )
    return parts


panels.register(
    panels.Panel(kind="dead-letters", render=render_panel, interval=1.0, requires="can_view_queues")
)
