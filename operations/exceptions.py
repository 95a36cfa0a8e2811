"""The operations app's errors.

Errors answered through the REST API are `LocalizedException`s (Magento's error
shape); the rest (`OperationsError`) are refusals of the actions people take, each
with a message to show them.
"""

from __future__ import annotations

from webapi.exceptions import LocalizedException


class OperationsError(Exception):
    """Base of the refusals raised by `operations.actions`."""


class ActionNotPermitted(OperationsError):
    """The user lacks the permission an action needs."""

    def __init__(self, permission: str) -> None:
        super().__init__(f"You are not allowed to do this: it needs the permission {permission!r}.")
        self.permission = permission


class BulkNotFound(OperationsError):
    """The bulk does not exist, or the person may not see it (the two are not told apart)."""

    def __init__(self, bulk_uuid: object) -> None:
        super().__init__(f"No bulk {bulk_uuid}.")
        self.bulk_uuid = bulk_uuid


class OperationNotFound(OperationsError):
    """Operations that do not exist, or that are in bulks the person may not see."""

    def __init__(self, operation_ids: list[int]) -> None:
        super().__init__(f"No operation with id(s) {operation_ids}.")
        self.operation_ids = operation_ids


class OperationNotRetriable(OperationsError):
    """A retry or edit was asked for an operation that is open or complete."""


class InvalidOperationData(OperationsError):
    """An edited payload failed the route's validation."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingParameter(LocalizedException):
    """A bulk item does not carry one of the route's URL parameters."""

    code = 20

    def __init__(self, name: str) -> None:
        super().__init__('The "%1" parameter is missing from the item.', [name])
        self.name = name


class IdempotencyKeyReused(LocalizedException):
    """An Idempotency-Key was sent again with a different request."""

    http_status = 422
    code = 21

    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was already used for a different request. "
            "Send a new key for a new request."
        )


class RouteNotAsync(LocalizedException):
    """GET routes are never asynchronous."""

    http_status = 405
    code = 22


class NothingToRetry(OperationsError):
    """A group retry found no failed operation it could reopen."""

    def __init__(self) -> None:
        super().__init__(
            "Nothing to retry: no failed operation of that group is left in that time range."
        )
