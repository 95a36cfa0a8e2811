"""What the operators' pages read: the overview, the queues, the consumers.

Nothing here counts operations or messages: throughput and totals come from the
per-minute metrics (`queues.metrics`, QueueMinute), depths and consumers from the
shared sample of `queues.monitor` (at most one per second per process), the latest
bulks from the bulk log's own query (five rows of the bulks table).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from dashboard import queries
from dashboard.live.render import Abilities
from operations.models import Bulk
from queues import metrics, monitor
from queues.conf import queue_settings
from queues.models import ConsumerProcess, OperatorAction

LATEST_BULKS = 5
RATE_MINUTES = 5  # a queue's rate: messages per minute over the last 5 minutes
STOPPED_SHOWN = 20  # recently stopped processes listed on the consumers page
ACTIONS_SHOWN = 10


def range_of(value: Any) -> str:
    """Return a chart range name from a query value (the default for anything else)."""
    return value if isinstance(value, str) and value in metrics.RANGES else metrics.DEFAULT_RANGE


# -- the health line ---------------------------------------------------------------------


def duration(delta: timedelta) -> str:
    """Return a duration in plain words: "40 s", "3 min", "2 h 5 min", "3 days"."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days = seconds // 86400
    return f"{days} day{'s' if days != 1 else ''}"


@dataclass(frozen=True)
class Problem:
    queue: str
    text: str  # the whole sentence, starting with the queue's name


def health(states: list[monitor.QueueState]) -> list[Problem]:
    """Return what is wrong with the queues, in words (empty: all queues flowing)."""
    problems = []
    for state in states:
        if state.error:
            problems.append(Problem(state.name, f"{state.name}: {state.error}"))
        elif state.stalled:
            waiting = f"{state.waiting:,} waiting"
            if state.dead_for is not None:
                why = f"no consumer alive for {duration(state.dead_for)}"
            else:
                why = "no consumer has run"
            problems.append(Problem(state.name, f"{state.name}: {waiting}, {why}"))
    return problems


# -- the pages' contexts -------------------------------------------------------------------


def overview(abilities: Abilities, chart_range: str, user: Any = None) -> dict[str, Any]:
    """Return the overview's context. `user` reads the latest bulks it may see; without
    it (a live panel) they are everyone's for those who may see all bulks, and left out
    for the others (whose rows still update as bulks change)."""
    now = timezone.now()
    span, bucket, label = metrics.RANGES[chart_range]
    states = monitor.queue_states()
    alive = [p for s in states for p in s.alive]
    context: dict[str, Any] = {
        **abilities.context(),
        "hour": metrics.totals(now - timedelta(hours=1)),
        "day": metrics.totals(now - timedelta(days=1)),
        "points": metrics.series(None, now - span, now, bucket),
        "chart_range": chart_range,
        "chart_label": label,
        "ranges": [(name, r[2]) for name, r in metrics.RANGES.items()],
        "waiting_queues": [s for s in states if s.waiting or s.error],
        "alive": alive,
        "rates": _rates(now),
        "problems": health(states),
        "sampled_at": now,
    }
    if user is not None:
        context["bulks"] = queries.bulk_log(user, {}).rows[:LATEST_BULKS]
    elif abilities.can_view_all:  # a live panel: the latest bulks are everyone's
        context["bulks"] = list(
            Bulk.objects.select_related("owner").order_by("-created", "-id")[:LATEST_BULKS]
        )
    return context


def queues(abilities: Abilities) -> dict[str, Any]:
    """Return the queues page's context: every declared queue with its sparkline."""
    now = timezone.now()
    states = monitor.queue_states()
    sparks = metrics.series_by_queue(now - timedelta(hours=1), now)
    rates = _rates(now)
    return {
        **abilities.context(),
        "rows": [
            {"state": s, "points": sparks.get(s.name, []), "rate": rates.get(s.name, 0.0)}
            for s in states
        ],
        "problems": health(states),
        "sampled_at": now,
    }


def consumers(abilities: Abilities) -> dict[str, Any]:
    """Return the consumers page's context: running processes (stale ones flagged),
    recently stopped ones with their exit reason, and the recent restarts."""
    now = timezone.now()
    running = monitor.process_states(
        list(ConsumerProcess.objects.filter(stopped_at__isnull=True).order_by("name", "started"))
    )
    stopped = monitor.process_states(
        list(
            ConsumerProcess.objects.filter(stopped_at__gte=now - monitor.RECENTLY_STOPPED).order_by(
                "-stopped_at"
            )[:STOPPED_SHOWN]
        )
    )
    restartable = sum(1 for p in running if not p.row.stop_requested)
    return {
        **abilities.context(),
        "running": running,
        "stopped": stopped,
        "restartable": restartable,
        "rates": _rates(now),
        "stale_after": 3 * queue_settings.HEARTBEAT_INTERVAL,
        "actions": list(OperatorAction.objects.all()[:ACTIONS_SHOWN]),
        "sampled_at": now,
    }


def _rates(now: Any) -> dict[str, float]:
    since = now - timedelta(minutes=RATE_MINUTES)
    return {q: t.messages / RATE_MINUTES for q, t in metrics.by_queue(since).items()}


# -- live panels -----------------------------------------------------------------------------


def overview_panel(chart_range: str):
    def render(abilities: Abilities) -> list[str]:
        context = {**overview(abilities, chart_range), "oob": True}
        return [
            render_to_string("dashboard/_flow_health.html", context),
            render_to_string("dashboard/_flow_totals.html", context),
            render_to_string("dashboard/_flow_chart.html", context),
            render_to_string("dashboard/_flow_waiting.html", context),
            render_to_string("dashboard/_flow_alive.html", context),
            *(
                [render_to_string("dashboard/_flow_bulks.html", context)]
                if "bulks" in context
                else []
            ),
        ]

    return render


def queues_panel(abilities: Abilities) -> list[str]:
    context = {**queues(abilities), "oob": True}
    return [
        render_to_string("dashboard/_flow_health.html", context),
        render_to_string("dashboard/_flow_queue_table.html", context),
    ]


def consumers_panel(abilities: Abilities) -> list[str]:
    context = {**consumers(abilities), "oob": True}
    return [
        render_to_string("dashboard/_flow_consumer_table.html", context),
        render_to_string("dashboard/_flow_actions.html", context),
    ]


def page_kind(chart_range: str) -> str:
    """Return the live page kind of the overview showing `chart_range`."""
    return "overview" if chart_range == metrics.DEFAULT_RANGE else f"overview-{chart_range}"


OPERATORS = "can_view_queues"  # the Abilities flag of whoever may see these pages


def register_panels() -> None:
    """Register the live panels of the overview (one kind per chart range), the queues
    and the consumers pages (dashboard.apps calls this at start-up)."""
    from dashboard.live import panels

    for name in metrics.RANGES:
        panels.register(
            panels.Panel(kind=page_kind(name), render=overview_panel(name), requires=OPERATORS)
        )
    panels.register(panels.Panel(kind="queues", render=queues_panel, requires=OPERATORS))
    panels.register(panels.Panel(kind="consumers", render=consumers_panel, requires=OPERATORS))
