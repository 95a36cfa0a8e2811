"""Template context for every page: the signed-in user's notifications."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from dashboard import queries
from dashboard.views.common import VIEW


def notifications(request: HttpRequest) -> dict[str, Any]:
    """Return the user's finished, undismissed bulks for the header (one query)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm(VIEW):
        return {}
    return {"notifications": queries.notifications(user)}
