"""Template filters of the dashboard: statuses as text and icon, progress, payloads, times."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone

from operations.items import deserialize_item
from operations.models import BulkStatus, OperationStatus
from webapi.routes import routes

register = template.Library()

# Status is never told by colour alone: every status has a word and an icon.
BULK_STATUS: dict[int, tuple[str, str]] = {
    BulkStatus.NOT_STARTED: ("not-started", "○"),
    BulkStatus.IN_PROGRESS: ("in-progress", "◐"),
    BulkStatus.FINISHED_SUCCESSFULLY: ("success", "✓"),
    BulkStatus.FINISHED_WITH_FAILURE: ("failure", "⚠"),
}
OPERATION_ICON: dict[int, str] = {
    OperationStatus.COMPLETE: "✓",
    OperationStatus.RETRIABLY_FAILED: "↻",
    OperationStatus.NOT_RETRIABLY_FAILED: "✕",
    OperationStatus.OPEN: "◷",
    OperationStatus.REJECTED: "⊘",
}
EVENT_ICON = {
    "accepted": "+",
    "rejected": "⊘",
    "published": "→",
    "started": "▶",
    "completed": "✓",
    "failed": "✕",
    "retried": "↻",
    "edited": "✎",
}


@register.filter
def bulk_status_slug(status: int) -> str:
    return BULK_STATUS.get(status, ("unknown", "?"))[0]


@register.filter
def bulk_status_icon(status: int) -> str:
    return BULK_STATUS.get(status, ("unknown", "?"))[1]


@register.filter
def bulk_status_label(status: int) -> str:
    try:
        return BulkStatus(status).label
    except ValueError:
        return "Unknown"


@register.filter
def operation_status_icon(status: int) -> str:
    return OPERATION_ICON.get(status, "?")


@register.filter
def operation_status_label(status: int) -> str:
    try:
        return OperationStatus(status).label
    except ValueError:
        return "Unknown"


@register.filter
def event_icon(kind: str) -> str:
    return EVENT_ICON.get(kind, "•")


@register.filter
def failed_count(bulk: Any) -> int:
    """Operations of the bulk that ended failed or rejected."""
    return bulk.retriably_failed_count + bulk.not_retriably_failed_count + bulk.rejected_count


@register.filter
def percent(part: int, whole: int) -> str:
    """`part` of `whole` in percent, as an SVG length (0 for an empty whole)."""
    if not whole:
        return "0"
    return f"{100 * part / whole:.2f}"


@register.filter
def pretty_payload(serialized: str | None) -> str:
    """The item an operation carries, as indented JSON text (the template escapes it)."""
    if not serialized:
        return ""
    try:
        return json.dumps(deserialize_item(serialized), indent=2, ensure_ascii=False)
    except (ValueError, TypeError):
        return serialized


@register.filter
def pretty_json(text: str | None) -> str:
    """JSON text indented (a result), or as it is when it is not JSON."""
    if not text:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, TypeError):
        return text


@register.filter
def throughput(bulk: Any) -> float | None:
    """Operations done per second since the bulk started, or None before it started."""
    started, changed = bulk.started_at, bulk.changed_at
    if started is None or changed is None or changed <= started:
        return None
    done = bulk.done_count - bulk.rejected_count
    return done / (changed - started).total_seconds() if done > 0 else None


@register.filter
def eta(bulk: Any) -> str:
    """How long the open operations should take at the bulk's rate so far, in words."""
    rate = throughput(bulk)
    if not rate or not bulk.open_count:
        return ""
    return duration(timedelta(seconds=bulk.open_count / rate))


@register.filter
def duration(value: timedelta | None) -> str:
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 1)} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


@register.filter
def since(moment: datetime | None) -> str:
    """How long ago, in words."""
    if moment is None:
        return ""
    return duration(timezone.now() - moment) + " ago"


@register.filter
def bulk_title(bulk: Any) -> str:
    """What a person calls the bulk: its description, unless it is the default one
    ("Topic <topic>"), then what its route does ("Create a customer account")."""
    description = (bulk.description or "").strip()
    if description and description != f"Topic {bulk.topic}":
        return description
    return route_title(bulk.topic) or description or str(bulk.uuid)


@register.filter
def route_title(topic: str) -> str:
    """The summary of the route behind an async topic, without its full stop."""
    try:
        route = routes.by_topic(topic)
    except KeyError:
        return ""
    return route.summary.rstrip(".") or f"{route.method} {route.path}"


@register.filter
def short_uuid(value: Any) -> str:
    return str(value)[:8]


@register.filter
def short_topic(topic: str) -> str:
    """`async.catalog.services.productrepository.save.post` → `productrepository.save.post`."""
    parts = topic.split(".")
    return ".".join(parts[-3:]) if len(parts) > 3 else topic
