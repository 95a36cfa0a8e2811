"""The websocket of one dashboard page (`/ws/dashboard/`).

An adapter between the page and the hub: it authorises in `connect()` (a signed-in
user holding `operations.view_bulk` or `queues.view_queues`, from the session cookie;
anyone else is closed with 4401 or 4403, which the page does not retry), passes on
what the page says (`{"watch": {...}}` after every render and swap, `{"visible":
bool}` when the tab is hidden or shown), and sends what the hub hands it (`dashboard_update`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from dashboard.live.hub import Viewer, hub
from dashboard.live.render import Abilities, Watch
from dashboard.views.common import VIEW, VIEW_QUEUES

logger = logging.getLogger(__name__)

MAX_MESSAGE = 64 * 1024
NOT_SIGNED_IN, NOT_ALLOWED = 4401, 4403


class DashboardConsumer(AsyncWebsocketConsumer):
    viewer: Viewer | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=NOT_SIGNED_IN)
            return
        allowed, abilities = await database_sync_to_async(_abilities)(user)
        if not allowed:
            await self.close(code=NOT_ALLOWED)
            return
        await self.accept()
        self.viewer = Viewer(
            page=self, user_id=user.pk, can_view_all=abilities.can_view_all, abilities=abilities
        )
        await hub().add(self.viewer)

    async def disconnect(self, code: int) -> None:
        if self.viewer is not None:
            await hub().remove(self.viewer)
            self.viewer = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.viewer is None or not text_data or len(text_data) > MAX_MESSAGE:
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        if "watch" in message:
            await hub().watch(self.viewer, Watch.parse(message["watch"]))
        if isinstance(message.get("visible"), bool):
            await hub().set_visible(self.viewer, message["visible"])

    async def dashboard_update(self, event: dict[str, Any]) -> None:
        """Send the page the fragments of a `dashboard.update` (htmx swaps them out of band)."""
        await self.send(text_data=event["html"])


def _abilities(user: Any) -> tuple[bool, Abilities]:
    allowed = user.is_active and (user.has_perm(VIEW) or user.has_perm(VIEW_QUEUES))
    return allowed, Abilities.of(user)
