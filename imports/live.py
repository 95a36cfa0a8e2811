"""The import page's live panel (`dashboard.live.panels`): its progress over the websocket.

An import page (`{% block page %}import{% endblock %}`) is sent, at most once a second
whatever the number of pages open, the progress fragment of every import of its user
that is running or whose bulks still have operations waiting (at most `LIMIT`, the
latest), as an out-of-band swap of `#import-progress-<uuid>`: the page shows the one it
is about. The fragment also polls its own URL every few seconds, for pages without a
websocket and to reload the page when a dry run or an import ends.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from dashboard.live import panels
from dashboard.live.render import Abilities

LIMIT = 20
RECENT = timedelta(minutes=30)


def render_panel(abilities: Abilities, user_id: int | None) -> list[str]:
    from imports.handlers import RUNNING
    from imports.models import Import
    from imports.views import _progress_context

    recent = timezone.now() - RECENT
    jobs = Import.objects.filter(Q(state__in=RUNNING) | Q(finished_at__gte=recent))
    if user_id is not None:
        jobs = jobs.filter(owner_id=user_id)
    parts: list[str] = []
    for job in jobs.select_related("owner").order_by("-id")[:LIMIT]:
        context: dict[str, Any] = {**_progress_context(job), "oob": True}
        parts.append(render_to_string("imports/_progress.html", context))
    return parts


def register() -> None:
    panels.register(panels.Panel(kind="import", render=render_panel, interval=1.0, per_user=True))
