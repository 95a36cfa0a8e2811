"""Errors of the REST layer itself (the domain's own are in `catalog.exceptions`).

All are `LocalizedException`s, so they render in Magento's error shape like any
service error.
"""

from __future__ import annotations

from catalog.exceptions import AuthenticationException, AuthorizationException, LocalizedException

CONSUMER_NOT_AUTHORIZED = "The consumer isn't authorized to access %resources."
SIGN_IN_INCORRECT = (
    "The account sign-in was incorrect or your account is disabled temporarily. "
    "Please wait and try again later."
)


class StoreNotFound(LocalizedException):
    """The store code in the URL names no active store."""

    http_status = 400
    code = 10

    def __init__(self) -> None:
        super().__init__(
            "The store that was requested wasn't found. Verify the store and try again."
        )


class MalformedRequest(LocalizedException):
    """The body is not JSON."""

    http_status = 400
    code = 11


class PayloadTooLarge(LocalizedException):
    """The body is over `WEBAPI["MAX_BODY_SIZE"]` (or a bulk over its item limit)."""

    http_status = 413
    code = 12


class NotAuthorized(AuthorizationException):
    """The caller is known but lacks the route's permission (403)."""

    def __init__(self, resource: str) -> None:
        super().__init__(CONSUMER_NOT_AUTHORIZED, {"resources": resource})


class NotAuthenticated(AuthenticationException):
    """No token, or a token that is unknown, expired or revoked (401)."""

    def __init__(self, resource: str = "") -> None:
        super().__init__(CONSUMER_NOT_AUTHORIZED, {"resources": resource})
