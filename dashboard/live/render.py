"""The synchronous half of the live updates: reading the database and rendering fragments.

The hub calls these in a worker thread. `flush_batch` is the work of one flush,
shared by every open page: one query for the changed bulks, one for the error
groups of those shown on a bulk page, one for the operation rows shown, and one per
owner whose notifications changed (a bulk of theirs finished or was dismissed).
`for_viewer` then picks, in the hub's loop, what one page gets of that batch: no
query at all.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import QueryDict
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dashboard import queries
from dashboard.forms import BulkFilterForm
from operations.models import Bulk, Operation
from operations.status import visible_bulks

if TYPE_CHECKING:
    from dashboard.live.hub import Viewer

MAX_WATCHED_BULKS = 500
MAX_WATCHED_OPERATIONS = 1000


def uses_redis() -> bool:
    """Return True if the channel layer reaches other processes (Redis)."""
    backend = str(settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", ""))
    return "redis" in backend.lower()


@dataclass(frozen=True)
class Abilities:
    """What a user may do: the parts of a fragment that differ between users."""

    can_view_all: bool = False
    can_retry: bool = False
    can_edit: bool = False
    can_acknowledge: bool = False
    can_view_queues: bool = False
    can_operate_queues: bool = False

    @classmethod
    def of(cls, user: Any) -> Abilities:
        from dashboard.views.common import user_abilities

        return cls(**user_abilities(user))

    def context(self) -> dict[str, bool]:
        return dataclasses.asdict(self)


# -- what a page shows -------------------------------------------------------------------


@dataclass(frozen=True)
class Watch:
    """What a page says it shows (the `watch` message of its socket), bounded."""

    kind: str = "other"
    bulk_uuids: tuple[str, ...] = ()
    operation_ids: tuple[int, ...] = ()
    filters: str = ""  # the bulk log's query string
    at_top: bool = False
    rendered_at: datetime | None = None
    fresh: bool = True  # the page was just rendered: no catch-up needed

    @classmethod
    def parse(cls, data: Any) -> Watch:
        """Return the Watch of a decoded message; anything malformed is left out."""
        if not isinstance(data, dict):
            return cls()
        from dashboard.live import panels

        page = data.get("page")
        known = page in panels.BUILT_IN or (isinstance(page, str) and panels.get(page))
        kind = str(page) if known else "other"
        uuids = [u for u in data.get("bulks") or () if isinstance(u, str) and len(u) <= 36]
        ops = [o for o in data.get("operations") or () if isinstance(o, int) and o > 0]
        filters = str(data["filters"]) if isinstance(data.get("filters"), str) else ""
        rendered = data.get("rendered_at")
        return cls(
            kind=kind,
            bulk_uuids=tuple(uuids[:MAX_WATCHED_BULKS]),
            operation_ids=tuple(ops[:MAX_WATCHED_OPERATIONS]),
            filters=filters[:2000],
            at_top=bool(data.get("top")),
            rendered_at=parse_datetime(rendered) if isinstance(rendered, str) else None,
            fresh=bool(data.get("fresh", True)),
        )


@dataclass
class Resolved:
    """A Watch checked against what the user may see, ready for the hub to apply."""

    kind: str
    bulk_ids: set[int]
    operation_ids: set[int]
    filters: dict[str, Any]
    at_top: bool
    since: datetime | None
    open_counts: dict[int, int] = field(default_factory=dict)  # so a finish is announced
    html: list[str] = field(default_factory=list)  # messages to send at once


def resolve_watch(user_id: int, abilities: Abilities, watch: Watch) -> Resolved:
    """Return what the page may be sent: its bulks among those the user may see (one
    query), the log's filters parsed; with `watch.fresh` False, also the current state
    of all of it (the page reconnected and may have missed updates)."""
    user = get_user_model().objects.get(pk=user_id)
    bulks = list(
        visible_bulks(user)
        .filter(uuid__in=list(watch.bulk_uuids))
        .only("pk", "created", "open_count")
    )
    filters = {}
    if watch.kind == "bulks":
        form = BulkFilterForm(QueryDict(watch.filters), can_view_all=abilities.can_view_all)
        filters = form.filters()
    since = watch.rendered_at or timezone.now()
    if bulks:
        since = max([since, *(b.created for b in bulks)])
    resolved = Resolved(
        kind=watch.kind,
        bulk_ids={b.pk for b in bulks},
        operation_ids=set(watch.operation_ids) if watch.kind == "bulk" else set(),
        filters=filters,
        at_top=watch.at_top,
        since=since,
        open_counts={b.pk: b.open_count for b in bulks},
    )
    if not watch.fresh:
        resolved.html = catch_up(
            user_id, abilities, resolved.kind, resolved.bulk_ids, resolved.operation_ids
        )
    return resolved


def catch_up(
    user_id: int, abilities: Abilities, kind: str, bulk_ids: set[int], operation_ids: set[int]
) -> list[str]:
    """Return the current state of everything a page shows, and its notifications."""
    wanted = Wanted(
        bulk_ids=set(bulk_ids),
        groups_for=set(bulk_ids) if kind == "bulk" else set(),
        operation_ids=set(operation_ids) if kind == "bulk" else set(),
        abilities={abilities},
    )
    batch = flush_batch(wanted, {}, notify_owners={user_id})
    parts: list[str] = []
    for bulk_id in bulk_ids:
        parts += _bulk_parts(kind, bulk_id, abilities, operation_ids, batch)
    if user_id in batch.notifications:
        parts.append(batch.notifications[user_id])
    return messages(parts)


# -- one flush ---------------------------------------------------------------------------


@dataclass
class Wanted:
    """What one flush reads: computed in the hub's loop from the open pages."""

    bulk_ids: set[int] = field(default_factory=set)
    groups_for: set[int] = field(default_factory=set)  # shown on a bulk page
    operation_ids: set[int] = field(default_factory=set)
    abilities: set[Abilities] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        return not self.bulk_ids

    @classmethod
    def of(cls, viewers: Iterable[Viewer], dirty: set[int], max_new: int) -> Wanted:
        wanted = cls()
        log_open = False
        for viewer in viewers:
            shown = viewer.bulk_ids & dirty
            wanted.bulk_ids |= shown
            wanted.abilities.add(viewer.abilities)
            if viewer.kind == "bulks":
                log_open = True
            elif viewer.kind == "bulk" and shown:
                wanted.groups_for |= shown
                wanted.operation_ids |= viewer.operation_ids
        if log_open:  # a new bulk may belong on top of a log
            wanted.bulk_ids |= set(sorted(dirty - wanted.bulk_ids, reverse=True)[:max_new])
        return wanted


@dataclass
class Batch:
    """What one flush read and rendered, shared by every page."""

    bulks: dict[int, Bulk] = field(default_factory=dict)
    fragments: dict[tuple[str, int, Abilities], str] = field(default_factory=dict)
    operation_rows: dict[tuple[int, Abilities], tuple[int, str]] = field(default_factory=dict)
    notifications: dict[int, str] = field(default_factory=dict)  # owner id -> the panel
    announcements: dict[int, str] = field(default_factory=dict)  # bulk id -> a sentence


def changed_since(moment: datetime) -> list[tuple[int, datetime]]:
    """Return (id, changed_at) of the bulks whose counters changed after `moment` (one
    query over the `changed_at` index)."""
    return list(
        Bulk.objects.filter(changed_at__gt=moment)
        .order_by("-changed_at")
        .values_list("pk", "changed_at")[:2000]
    )


class RowCache:
    """Operation rows rendered by earlier flushes, by (id, abilities), kept while the
    row's fields are unchanged: the rows a bulk page shows are re-read every flush but
    mostly finished, so rendering them again would be most of a flush's work."""

    def __init__(self, size: int = 5000) -> None:
        self.size = size
        self._rows: dict[tuple[int, Abilities], tuple[tuple[Any, ...], str]] = {}

    def get(self, pk: int, abilities: Abilities, version: tuple[Any, ...]) -> str | None:
        found = self._rows.get((pk, abilities))
        return found[1] if found is not None and found[0] == version else None

    def put(self, pk: int, abilities: Abilities, version: tuple[Any, ...], html: str) -> None:
        if len(self._rows) >= self.size:  # forget the oldest half
            for key in list(self._rows)[: self.size // 2]:
                del self._rows[key]
        self._rows[pk, abilities] = (version, html)


def flush_batch(
    wanted: Wanted,
    open_seen: dict[int, int],
    notify_owners: set[int] | None = None,
    rows: RowCache | None = None,
) -> Batch:
    """Read and render what `wanted` says, once (see the module docstring); with `rows`,
    an operation row whose fields did not change since it was last rendered is reused.

    `open_seen` (bulk id -> open operations at the last flush) is updated, so that a
    bulk that has just finished is announced once and its owner's notifications redone.
    """
    batch = Batch()
    batch.bulks = {
        b.pk: b for b in Bulk.objects.filter(pk__in=wanted.bulk_ids).select_related("owner")
    }
    groups = queries.error_groups(wanted.groups_for & set(batch.bulks))
    operations = _operation_rows(wanted.operation_ids, wanted.groups_for & set(batch.bulks))
    owners = set(notify_owners or ())
    for bulk in batch.bulks.values():
        before = open_seen.get(bulk.pk)
        open_seen[bulk.pk] = bulk.open_count
        if bulk.open_count == 0 and bulk.owner_id is not None:
            owners.add(bulk.owner_id)  # finished now, or dismissed: its owner's panel changes
            if before:
                batch.announcements[bulk.pk] = _finished_sentence(bulk)
        for abilities in wanted.abilities:
            context = {**abilities.context(), "bulk": bulk, "oob": True}
            batch.fragments["row", bulk.pk, abilities] = render_to_string(
                "dashboard/_bulk_row.html", context
            )
            if bulk.pk in wanted.groups_for:
                to_retry, cannot_update = groups.get(bulk.pk, ([], []))
                batch.fragments["summary", bulk.pk, abilities] = render_to_string(
                    "dashboard/_bulk_summary.html", context
                )
                batch.fragments["groups", bulk.pk, abilities] = render_to_string(
                    "dashboard/_error_groups.html",
                    {**context, "to_retry": to_retry, "cannot_update": cannot_update},
                )
    for operation in operations:
        bulk = batch.bulks[operation.bulk_id]
        version = tuple(getattr(operation, name) for name in queries.OPERATION_ROW_FIELDS)
        for abilities in wanted.abilities:
            html = rows.get(operation.pk, abilities, version) if rows is not None else None
            if html is None:
                html = render_to_string(
                    "dashboard/_operation_row.html",
                    {**abilities.context(), "bulk": bulk, "operation": operation, "oob": True},
                )
                if rows is not None:
                    rows.put(operation.pk, abilities, version, html)
            batch.operation_rows[operation.pk, abilities] = (operation.bulk_id, html)
    for owner_id in owners:
        batch.notifications[owner_id] = render_to_string(
            "dashboard/_notifications.html",
            {"notifications": queries.notifications_of(owner_id), "oob": True},
        )
    return batch


def _operation_rows(operation_ids: set[int], bulk_ids: set[int]) -> list[Operation]:
    if not operation_ids or not bulk_ids:
        return []
    return list(
        Operation.objects.filter(pk__in=operation_ids, bulk_id__in=bulk_ids).only(
            *queries.OPERATION_ROW_FIELDS
        )
    )


def _finished_sentence(bulk: Bulk) -> str:
    failed = bulk.done_count - bulk.complete_count
    return (
        f"Task “{bulk.description or bulk.uuid}” finished: {bulk.complete_count} "
        f"item{'s' if bulk.complete_count != 1 else ''} updated"
        + (f", {failed} failed." if failed else ".")
    )


# -- what one page gets ------------------------------------------------------------------


def for_viewer(viewer: Viewer, batch: Batch) -> list[str]:
    """Return the messages one page gets of a batch (each a run of oob fragments), or [].

    Runs in the hub's loop (it updates the viewer: new bulks joining its log)."""
    parts: list[str] = []
    for bulk_id, bulk in batch.bulks.items():
        if not viewer.may_see(bulk.owner_id):
            continue
        if bulk_id in viewer.bulk_ids:
            parts += _bulk_parts(
                viewer.kind, bulk_id, viewer.abilities, viewer.operation_ids, batch
            )
            if bulk_id in batch.announcements:
                parts.append(_announcement(batch.announcements[bulk_id]))
        elif viewer.kind == "bulks" and _is_new(viewer, bulk):
            if viewer.at_top:
                viewer.bulk_ids.add(bulk_id)
                row = batch.fragments.get(("row", bulk_id, viewer.abilities), "")
                parts.append(
                    f'<tbody hx-swap-oob="afterbegin:#bulk-rows">{_without_oob(row)}</tbody>'
                )
            else:
                viewer.new_bulks += 1
                viewer.bulk_ids.add(bulk_id)  # counted once
                parts.append(
                    render_to_string("dashboard/_new_bulks.html", {"count": viewer.new_bulks})
                )
    if viewer.user_id in batch.notifications:
        parts.append(batch.notifications[viewer.user_id])
    return messages(part for part in parts if changed_for(viewer, part))


_ID = re.compile(r'^\s*(?:\{%[^%]*%\})?\s*<[a-z]+\s[^>]*?\bid="([^"]+)"')


def changed_for(viewer: Viewer, part: str) -> bool:
    """Return False for a fragment the page shows already exactly so: an unchanged swap
    would only disturb a reader (a focused button, an open menu)."""
    match = _ID.match(part)
    if match is None:
        return bool(part.strip())
    digest = hash(part)
    if viewer.sent.get(match[1]) == digest:
        return False
    viewer.sent[match[1]] = digest
    return True


def messages(parts: Iterable[str]) -> list[str]:
    """Return `parts` as websocket messages that parse: an HTML fragment holding both table
    rows and other elements loses the rows (they parse only in a table context), so
    rows (`<tr>`), inserted row groups (`<tbody>`) and the rest go in messages apart."""
    groups: dict[str, list[str]] = {"other": [], "tr": [], "tbody": []}
    for part in parts:
        head = part.lstrip()[:6].lower()
        if not head:
            continue
        kind = "tbody" if head.startswith("<tbody") else "tr" if head.startswith("<tr") else "other"
        groups[kind].append(part)
    return ["".join(group) for group in groups.values() if group]


def _bulk_parts(
    kind: str, bulk_id: int, abilities: Abilities, operation_ids: set[int], batch: Batch
) -> list[str]:
    if kind == "bulks" or kind.startswith("overview"):  # the overview lists latest bulks
        return [batch.fragments.get(("row", bulk_id, abilities), "")]
    if kind != "bulk":
        return []
    parts = [
        batch.fragments.get(("summary", bulk_id, abilities), ""),
        batch.fragments.get(("groups", bulk_id, abilities), ""),
    ]
    for op_id in operation_ids:
        found = batch.operation_rows.get((op_id, abilities))
        if found is not None and found[0] == bulk_id:
            parts.append(found[1])
    return parts


def _is_new(viewer: Viewer, bulk: Bulk) -> bool:
    if viewer.since is None or bulk.created <= viewer.since:
        return False
    return queries.matches(viewer.filters, bulk)


def _without_oob(html: str) -> str:
    return html.replace(' hx-swap-oob="true"', "", 1)


def _announcement(text: str) -> str:
    return render_to_string("dashboard/_announcement.html", {"text": text})
