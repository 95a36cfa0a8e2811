"""Websocket routes (the dashboard's live updates are added here)."""

from __future__ import annotations

websocket_urlpatterns: list = []
