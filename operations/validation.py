"""Validate bulk items with the route's own request serializer, cheaply.

`catalog.rest.execution.validate_request` builds a serializer per call, which costs
about as much as the validation itself (DRF deep-copies the declared fields of each
new instance). Accepting thousands of items therefore reuses one serializer instance
per route and calls `run_validation` on it: the same fields, validators and
`validate()` the synchronous call runs, with the item's parameters put in the
context before each item, exactly what `validate_request` gives the serializer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ValidationError

from catalog.exceptions import LocalizedException
from catalog.rest.errors import validation_error
from catalog.rest.routes import CallContext, Route


class ItemValidator:
    """Validate bodies for one route in one call context. Not thread-safe (one per request)."""

    def __init__(self, route: Route, ctx: CallContext | None) -> None:
        self.route = route
        self.ctx = ctx
        self._context: dict[str, Any] = {"params": {}, "ctx": ctx}
        self._serializer = (
            route.request(context=self._context) if route.request is not None else None
        )

    def validate(self, params: Mapping[str, str], body: Any, ctx: CallContext | None = None) -> Any:
        """Return the validated data, or None for a route without a body.

        `ctx` replaces the call context given at construction (a consumer reuses one
        validator for operations of many stores and owners).

        Raise rest_framework's ValidationError or a LocalizedException.
        """
        serializer = self._serializer
        if serializer is None:
            return None
        data = {} if body is None else body
        self._context["params"] = params
        if ctx is not None:
            self._context["ctx"] = ctx
        serializer.initial_data = data
        return serializer.run_validation(data)


def error_message(exc: BaseException) -> str:
    """Return one line for a person: why an item or operation failed validation."""
    if isinstance(exc, ValidationError):
        first = validation_error(exc.detail)
        errors = getattr(first, "all_errors", [first])
        return " ".join(e.rendered for e in errors)
    if isinstance(exc, LocalizedException):
        return exc.rendered
    return str(exc)
