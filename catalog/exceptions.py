"""Domain exceptions, in Magento's vocabulary.

Services raise these; the REST layer maps them to HTTP answers in Magento's error
shape (`{"message", "parameters"}`), and the operation consumer records `message`
(with parameters substituted) as an operation's result message and `code` as its
error code. `message` may hold placeholders (`%1`, `%fieldName`) filled from
`parameters` (a list for `%1`…, a dict for named ones), as in Magento.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_PLACEHOLDER = re.compile(r"%(\w+)")


class LocalizedException(Exception):
    """Base: a message for a person, with Magento-style placeholders."""

    http_status = 400
    code = 1  # stable error code recorded on failed operations

    def __init__(self, message: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None) -> None:
        self.message = message
        self.parameters: Sequence[Any] | Mapping[str, Any] = parameters if parameters is not None else []
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


class InputException(LocalizedException):
    """Invalid input (a missing or malformed field)."""

    code = 2


class InputMismatchException(InputException):
    """Input that conflicts with stored data (a duplicate email or SKU)."""

    code = 3


class NoSuchEntityException(LocalizedException):
    """The requested entity does not exist."""

    http_status = 404
    code = 4


class CouldNotSaveException(LocalizedException):
    code = 5


class CouldNotDeleteException(LocalizedException):
    code = 6


class StateException(LocalizedException):
    """The entity is in a state that forbids the change (deleting the root category)."""

    code = 7


class AuthenticationException(LocalizedException):
    http_status = 401
    code = 8


class AuthorizationException(LocalizedException):
    http_status = 403
    code = 9
