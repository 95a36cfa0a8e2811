"""The dashboard's websocket route: one socket per open page."""

from __future__ import annotations

from django.urls import path

from dashboard.live.consumer import DashboardConsumer

websocket_urlpatterns = [path("ws/dashboard/", DashboardConsumer.as_asgi())]
