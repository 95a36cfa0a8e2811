"""From `operations.events` to the hubs: which bulks changed, as soon as it is committed.

`receive(events)` runs in whatever thread committed the change (a request, an
embedded consumer, a consumer process). It hands the changed bulk ids to every hub
of this process at once (`call_soon_threadsafe`), and, with Redis as the channel
layer, to a sender thread that publishes them to the `dashboard.changes` group, so
that the hubs of every other server process hear of them too. The committing thread
never waits for Redis: a slow or stopped Redis costs live updates (the hubs' polling
then notices changes within `DASHBOARD["POLL_INTERVAL"]`), never an operation.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from dashboard.live import hub as hubs
from dashboard.live.render import uses_redis

logger = logging.getLogger(__name__)

_outbox: queue.Queue[set[int]] = queue.Queue(maxsize=10_000)
_sender: threading.Thread | None = None
_sender_lock = threading.Lock()


def connect() -> None:
    """Subscribe to the operations app's events (called from DashboardConfig.ready)."""
    from operations import events

    events.subscribe(receive)


def receive(events: Sequence[Any]) -> None:
    """Pass the bulks these events concern on to the hubs (see the module docstring)."""
    changed(e.bulk_id for e in events)


def changed(bulk_ids: Iterable[int]) -> None:
    """Tell every hub that these bulks changed."""
    ids = {int(pk) for pk in bulk_ids}
    if not ids:
        return
    for hub in hubs.running_hubs():
        try:
            hub.loop.call_soon_threadsafe(hub.mark_dirty, ids)
        except RuntimeError:  # its loop closed meanwhile
            continue
    if uses_redis():
        _start_sender()
        try:
            _outbox.put_nowait(ids)
        except queue.Full:
            logger.warning("dashboard: %d bulk change(s) not forwarded (Redis is behind)", len(ids))


def _start_sender() -> None:
    global _sender
    with _sender_lock:
        if _sender is None or not _sender.is_alive():
            _sender = threading.Thread(target=_send_forever, name="dashboard forward", daemon=True)
            _sender.start()


def _send_forever() -> None:
    layer = get_channel_layer()
    send = async_to_sync(layer.group_send) if layer is not None else None
    while True:
        ids = _outbox.get()
        while True:  # everything waiting goes in one message
            try:
                ids |= _outbox.get_nowait()
            except queue.Empty:
                break
        if send is None:
            continue
        try:
            send(hubs.GROUP, {"type": "bulks.changed", "ids": sorted(ids)})
        except Exception as exc:  # noqa: BLE001 - Redis down: the hubs poll meanwhile
            logger.warning("dashboard: forwarding %d bulk change(s) failed: %s", len(ids), exc)
