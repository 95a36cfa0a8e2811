"""Errors in Magento's vocabulary: the ones every service raises, and the REST layer's own.

`LocalizedException` and its family (Magento's `Magento\\Framework\\Exception`) are
what domain services raise: a message for a person with Magento-style placeholders
(`%1`, `%fieldName`) filled from `parameters` (a list for `%1`…, a dict for named
ones), and a stable `code` that the operation consumer records as an operation's
error code. They say nothing about HTTP: `webapi.errors` decides the status of each
family when it answers a request (an unknown entity is a 404, and so on).

The REST layer's own errors (a bad store code, a body that is not JSON or too large,
a missing token or permission) are about the request itself, so they name their
HTTP status (`http_status`), which `webapi.errors` honours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_PLACEHOLDER = re.compile(r"%(\w+)")

CONSUMER_NOT_AUTHORIZED = "The consumer isn't authorized to access %resources."
SIGN_IN_INCORRECT = (
    "The account sign-in was incorrect or your account is disabled temporarily. "
    "Please wait and try again later."
)


class RunSeparately(Exception):
    """Raised by a route's `call_many` that cannot run these calls together (their order
    would matter): the caller runs them one by one with `call` instead. Never answered."""


class LocalizedException(Exception):
    """Base: a message for a person, with Magento-style placeholders."""

    code = 1  # stable error code recorded on failed operations

    def __init__(
        self, message: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> None:
        self.message = message
        self.parameters: Sequence[Any] | Mapping[str, Any] = (
            parameters if parameters is not None else []
        )
        super().__init__(self.rendered)

    @property
    def rendered(self) -> str:
        """Return the message with its placeholders filled."""
        params = self.parameters

        def fill(match: re.Match[str]) -> str:
            key = match.group(1)
            if isinstance(params, Mapping):
                return str(params[key]) if key in params else match.group(0)
            if key.isdigit() and 0 < int(key) <= len(params):
                return str(params[int(key) - 1])
            return match.group(0)

        return _PLACEHOLDER.sub(fill, self.message)


# -- the domain's family -------------------------------------------------------------


class InputException(LocalizedException):
    """Invalid input (a missing or malformed field)."""

    code = 2


class InputMismatchException(InputException):
    """Input that conflicts with stored data (a duplicate email or SKU)."""

    code = 3


class NoSuchEntityException(LocalizedException):
    """The requested entity does not exist."""

    code = 4


class CouldNotSaveException(LocalizedException):
    code = 5


class CouldNotDeleteException(LocalizedException):
    code = 6


class StateException(LocalizedException):
    """The entity is in a state that forbids the change (deleting the root category)."""

    code = 7


class AuthenticationException(LocalizedException):
    """The caller is not who they claim to be, or is not known at all."""

    code = 8


class AuthorizationException(LocalizedException):
    """The caller is known but may not do this."""

    code = 9


# -- the REST layer's own --------------------------------------------------------------


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
