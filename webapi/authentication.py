"""`Authorization: Bearer <token>` for DRF: admin and integration tokens."""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication, get_authorization_header

from webapi.exceptions import NotAuthenticated
from webapi.models import AccessToken
from webapi.tokens import find_usable_token


def bearer_token(request) -> str | None:
    """Return the token of an `Authorization: Bearer` header, or None if there is none."""
    parts = get_authorization_header(request).split()
    if not parts or parts[0].lower() != b"bearer":
        return None
    if len(parts) != 2:
        return ""
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError:
        return ""


class BearerTokenAuthentication(BaseAuthentication):
    """Return (user, AccessToken) for a usable bearer token.

    No Authorization header: None (anonymous). A header with an unknown, expired or
    revoked token, or one of an inactive user or integration: NotAuthenticated (401).
    """

    def authenticate(self, request) -> tuple[object, AccessToken] | None:
        token = bearer_token(request)
        if token is None:
            return None
        row = find_usable_token(token)
        if row is None:
            raise NotAuthenticated()
        return row.user, row

    def authenticate_header(self, request) -> str:
        return "Bearer"
