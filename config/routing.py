"""Websocket routes: the dashboard's live updates."""

from __future__ import annotations

from dashboard.routing import websocket_urlpatterns as dashboard_websockets

websocket_urlpatterns = [*dashboard_websockets]
