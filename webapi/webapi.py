"""Routes of the REST layer itself: the admin token (Magento's `integration/admin/token`)."""

from __future__ import annotations

from rest_framework import serializers

from webapi import actions
from webapi.routes import Route, register


class AdminTokenRequest(serializers.Serializer):
    username = serializers.CharField(trim_whitespace=False)
    password = serializers.CharField(trim_whitespace=False)


def _issue_admin_token(ctx, params, data) -> str:
    return actions.issue_admin_token(data["username"], data["password"])


register(
    Route(
        method="POST",
        path="/V1/integration/admin/token",
        service="webapi.actions.issue_admin_token",
        call=_issue_admin_token,
        permission=None,
        request=AdminTokenRequest,
        async_enabled=False,
        atomic=False,  # failed sign-ins are counted even though the call fails
        summary="Create an admin access token from a staff user's credentials.",
        tags=("integration",),
    )
)
