"""The hub of one server process: which pages are open, what they show, what to send them.

Database work does not grow with the number of open pages: a flush reads the
changed bulks that some page shows (or, with a bulk log open, every changed bulk) in
one query, the error groups of those shown on a bulk page in one more, and the
operation rows shown in a third; each fragment is rendered once per set of
abilities (retry, edit, dismiss) and sent to every page that shows it and may see
it. A page is told about a bulk only if it is the bulk's owner or may see all bulks.

Timing: a change is flushed at once if nothing was flushed in the last
`FLUSH_INTERVAL` seconds, else at the end of it (changes in between coalesce). The
hub runs in the server's event loop; reading and rendering run in a thread
(`database_sync_to_async`), one flush at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone

from dashboard.conf import dashboard_settings
from dashboard.live import panels, render

logger = logging.getLogger(__name__)

GROUP = "dashboard.changes"  # the channel layer group every server's hub listens to
POLL_OVERLAP = timedelta(seconds=5)  # a change committed late must still be seen
MAX_NEW_BULKS = 200  # a flush looks at no more new bulks than this


class Page(Protocol):
    """What the hub needs of a websocket consumer."""

    async def dashboard_update(self, event: dict[str, Any]) -> None: ...


@dataclass(eq=False)
class Viewer:
    """One open page, as the hub sees it."""

    page: Page
    user_id: int
    can_view_all: bool
    abilities: render.Abilities
    kind: str = "other"  # "bulks" (the log), "bulk" (one bulk's page), a panel's kind, "other"
    bulk_ids: set[int] = field(default_factory=set)  # bulks whose fragments it shows
    operation_ids: set[int] = field(default_factory=set)  # operation rows it shows
    filters: dict[str, Any] = field(default_factory=dict)  # the log's filters
    at_top: bool = False  # the log shows its first page: new bulks go on top
    since: datetime | None = None  # newer bulks than this are new to the log
    new_bulks: int = 0  # announced as "N new bulks" (log not at the top)
    visible: bool = True  # a hidden tab is sent nothing until it is visible again
    sent: dict[str, int] = field(default_factory=dict)  # element id -> hash of what it shows

    def may_see(self, owner_id: int | None) -> bool:
        return self.can_view_all or owner_id == self.user_id


class Hub:
    """The open pages of one event loop and the tasks that keep them live."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.viewers: set[Viewer] = set()
        self.dirty: set[int] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._open_seen: dict[int, int] = {}  # bulk id -> open operations when last sent
        self._last_poll: datetime | None = None
        self._polled: dict[int, datetime] = {}
        self.flushes = 0
        self._rows = render.RowCache()  # operation rows rendered by earlier flushes
        self.panel_renders = 0  # calls of panels' render functions (tests count them)
        self._panel_due: dict[str, float] = {}  # kind -> when its panel is next redrawn
        # the last drawn: (kind, abilities, user id for a per-user panel) -> fragments
        self._panel_html: dict[tuple[str, render.Abilities, int | None], list[str]] = {}

    # -- pages coming and going --------------------------------------------------------
    async def add(self, viewer: Viewer) -> None:
        self.viewers.add(viewer)
        if not self._tasks:
            self._start()

    async def remove(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)
        if not self.viewers:
            await self.stop()

    async def watch(self, viewer: Viewer, watch: render.Watch) -> None:
        """Take what a page now shows; after a reconnection, send it the current state."""
        resolved = await database_sync_to_async(render.resolve_watch)(
            viewer.user_id, viewer.abilities, watch
        )
        viewer.kind = resolved.kind
        viewer.bulk_ids = resolved.bulk_ids
        viewer.operation_ids = resolved.operation_ids
        viewer.filters = resolved.filters
        viewer.at_top = resolved.at_top
        viewer.since = resolved.since
        viewer.new_bulks = 0
        viewer.sent = {}
        for pk, open_count in resolved.open_counts.items():
            self._open_seen.setdefault(pk, open_count)
        if viewer.visible:
            for html in resolved.html:
                await _send(viewer, html)
            if not watch.fresh:  # reconnected: what the panel last drew, at once
                await self._send_panel(viewer)

    async def set_visible(self, viewer: Viewer, visible: bool) -> None:
        """A tab hidden receives nothing; shown again, it catches up at once."""
        was = viewer.visible
        viewer.visible = visible
        if visible and not was:
            html = await database_sync_to_async(render.catch_up)(
                viewer.user_id,
                viewer.abilities,
                viewer.kind,
                set(viewer.bulk_ids),
                set(viewer.operation_ids),
            )
            for message in html:
                await _send(viewer, message)
            await self._send_panel(viewer)

    # -- changes coming in ---------------------------------------------------------------
    def mark_dirty(self, bulk_ids: Any) -> None:
        """Note that these bulks changed (call in the hub's loop: `call_soon_threadsafe`)."""
        self.dirty.update(int(pk) for pk in bulk_ids)
        self._wake.set()

    # -- the tasks -------------------------------------------------------------------------
    def _start(self) -> None:
        self._last_poll = timezone.now() - POLL_OVERLAP
        self._tasks = [
            self.loop.create_task(self._flush_loop(), name="dashboard flush"),
            self.loop.create_task(self._poll_loop(), name="dashboard poll"),
            self.loop.create_task(self._panel_loop(), name="dashboard panels"),
        ]
        if render.uses_redis():
            self._tasks.append(self.loop.create_task(self._listen_loop(), name="dashboard listen"))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):  # stopping, whatever
                await task

    async def _flush_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            started = time.monotonic()
            try:
                await self.flush()
            except Exception:
                logger.exception("dashboard: a live update failed; the next change tries again")
            # At most one flush per interval: what changes meanwhile waits for the next.
            await asyncio.sleep(
                max(0.0, dashboard_settings.FLUSH_INTERVAL - (time.monotonic() - started))
            )

    async def _poll_loop(self) -> None:
        while True:
            await asyncio.sleep(dashboard_settings.POLL_INTERVAL)
            try:
                changed = await database_sync_to_async(self._poll)()
            except Exception:
                logger.exception("dashboard: polling the bulks' counters failed")
                continue
            if changed:
                self.mark_dirty(changed)

    def _poll(self) -> list[int]:
        """Return the bulks whose counters changed since the last look (one query)."""
        since = self._last_poll or timezone.now() - POLL_OVERLAP
        rows = render.changed_since(since - POLL_OVERLAP)
        changed = [pk for pk, at in rows if self._polled.get(pk) != at]
        self._polled = dict(rows)
        if rows:
            self._last_poll = max(at for _pk, at in rows)
        return changed

    async def _listen_loop(self) -> None:
        layer = get_channel_layer()
        assert layer is not None
        channel = await layer.new_channel()
        await layer.group_add(GROUP, channel)
        refreshed = time.monotonic()
        try:
            while True:
                try:
                    message = await asyncio.wait_for(layer.receive(channel), timeout=60)
                except TimeoutError:
                    message = None
                except Exception:
                    logger.warning("dashboard: the channel layer is unreachable; polling only")
                    await asyncio.sleep(dashboard_settings.POLL_INTERVAL)
                    continue
                if message and message.get("type") == "bulks.changed":
                    self.mark_dirty(message.get("ids", ()))
                if time.monotonic() - refreshed > 3600:  # groups expire on Redis
                    await layer.group_add(GROUP, channel)
                    refreshed = time.monotonic()
        finally:
            try:
                await layer.group_discard(GROUP, channel)
            except Exception:  # noqa: BLE001 - the layer may be gone with the loop
                logger.debug("dashboard: leaving the channel layer group failed", exc_info=True)

    async def _panel_loop(self) -> None:
        """Redraw the panels of the kinds of the visible pages, each once per interval."""
        while True:
            now = time.monotonic()
            due = [
                panel
                for kind in {v.kind for v in self.viewers if v.visible}
                if (panel := panels.get(kind)) is not None and self._panel_due.get(kind, 0.0) <= now
            ]
            for panel in due:
                self._panel_due[panel.kind] = now + panel.interval
                try:
                    await self.draw_panel(panel)
                except Exception:
                    logger.exception("dashboard: the %s panel failed; next tick again", panel.kind)
            upcoming = [at for at in self._panel_due.values() if at > now]
            await asyncio.sleep(min(0.25, max(0.02, min(upcoming, default=now + 0.25) - now)))

    async def draw_panel(self, panel: panels.Panel) -> None:
        """Render a panel once per set of abilities of its visible pages (and per user
        for a per-user panel); send each page what changed."""
        viewers = [
            v
            for v in self.viewers
            if v.visible and v.kind == panel.kind and panel.allowed(v.abilities)
        ]
        audiences = {(v.abilities, panel.audience(v.abilities, v.user_id)) for v in viewers}
        for abilities, user_id in audiences:
            self.panel_renders += 1
            parts = await database_sync_to_async(panel.draw)(abilities, user_id)
            self._panel_html[panel.kind, abilities, user_id] = list(parts)
            await asyncio.gather(
                *(
                    _send_all(
                        viewer, render.messages(p for p in parts if render.changed_for(viewer, p))
                    )
                    for viewer in viewers
                    if viewer.abilities == abilities
                    and panel.audience(abilities, viewer.user_id) == user_id
                )
            )

    async def _send_panel(self, viewer: Viewer) -> None:
        """Send a page (re)shown the panel fragments last drawn for its kind, if any."""
        panel = panels.get(viewer.kind)
        if panel is None or not panel.allowed(viewer.abilities):
            return
        audience = panel.audience(viewer.abilities, viewer.user_id)
        parts = self._panel_html.get((viewer.kind, viewer.abilities, audience))
        if parts:
            changed = [p for p in parts if render.changed_for(viewer, p)]
            await _send_all(viewer, render.messages(changed))

    # -- one flush -----------------------------------------------------------------------------
    async def flush(self) -> None:
        """Read the changed bulks once, render their fragments once, send each page its own."""
        dirty, self.dirty = self.dirty, set()
        viewers = [v for v in self.viewers if v.visible]
        if not dirty or not viewers:
            return
        wanted = render.Wanted.of(viewers, dirty, MAX_NEW_BULKS)
        if wanted.empty:
            return
        batch = await database_sync_to_async(render.flush_batch)(
            wanted, self._open_seen, rows=self._rows
        )
        self.flushes += 1
        await asyncio.gather(
            *(_send_all(viewer, render.for_viewer(viewer, batch)) for viewer in viewers)
        )


async def _send_all(viewer: Viewer, messages: list[str]) -> None:
    for html in messages:
        await _send(viewer, html)


async def _send(viewer: Viewer, html: str) -> None:
    try:
        await viewer.page.dashboard_update({"type": "dashboard.update", "html": html})
    except Exception:  # noqa: BLE001 - a closing socket must not stop the others
        logger.debug("dashboard: sending to a page failed", exc_info=True)


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def hub() -> Hub:
    """Return the hub of the running event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub(loop)
    return found


def running_hubs() -> list[Hub]:
    """Return the hubs of this process whose loop still runs (for `forward`)."""
    for loop in [loop for loop in _hubs if loop.is_closed()]:
        del _hubs[loop]
    return list(_hubs.values())
