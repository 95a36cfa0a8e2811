"""Turn a validation failure into the one line recorded on a rejected or failed operation.

Items are validated by `webapi.execution.validate_request`, the function the
synchronous API uses: the route's own request serializer, with the item's URL
parameters in its context.
"""

from __future__ import annotations

from rest_framework.exceptions import ValidationError

from webapi.errors import validation_error
from webapi.exceptions import LocalizedException


def storable(text: str) -> str:
    """Return `text` without NUL characters, which PostgreSQL text columns refuse.

    Messages quote the values that failed (`Invalid value of "…" provided …`), so a NUL a
    client sent would otherwise make recording the outcome itself fail.
    """
    return text.replace("\x00", "\ufffd")


def error_message(exc: BaseException) -> str:
    """Return one line for a person: why an item or operation failed validation."""
    if isinstance(exc, ValidationError):
        first = validation_error(exc.detail)
        errors = getattr(first, "all_errors", [first])
        return storable(" ".join(e.rendered for e in errors))
    if isinstance(exc, LocalizedException):
        return storable(exc.rendered)
    return storable(str(exc))
