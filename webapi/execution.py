"""Validate and run a route: shared by the synchronous view and the operation consumer.

The synchronous API (`ServiceView`) and the consumer that runs an asynchronous
operation later both call these, so an operation is checked, validated and run
exactly as the synchronous call would have been.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction

from webapi.exceptions import InputException, NotAuthenticated, NotAuthorized, RunSeparately
from webapi.routes import CallContext, Route

# Most objects and arrays within each other in a body (a bulk item counts alone). Real
# bodies use about 5; every step that handles a body whole (JSON encoding, masking of
# secrets, the audit trail) then stays far from Python's recursion limit.
MAX_DEPTH = 64
TOO_DEEP = "The body is nested more than %1 levels deep (objects and arrays within each other)."


def check_permission(user, route: Route) -> None:
    """Raise unless `user` may call `route`.

    A route without a permission is open to anyone. Otherwise there must be an
    active user (else NotAuthenticated, 401) holding `route.permission` (else
    NotAuthorized, 403); an integration's user also needs its integration active.
    """
    if route.permission is None:
        return
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        raise NotAuthenticated(route.permission)
    try:
        integration = user.integration
    except (ObjectDoesNotExist, AttributeError):  # a staff user, not an integration
        integration = None
    if integration is not None and not integration.is_active:
        raise NotAuthenticated(route.permission)
    if not user.has_perm(route.permission):
        raise NotAuthorized(route.permission)


def validate_request(route: Route, ctx: CallContext, params: Mapping[str, str], body: Any) -> Any:
    """Return the validated body for `route`, or None if the route takes no body.

    An empty body validates as `{}`, so missing wrapper keys are reported by name.
    Raise rest_framework's ValidationError (rendered as 400 in Magento's shape), or
    InputException (400) for a body nested deeper than MAX_DEPTH (checked first, on
    every body: an asynchronous operation stores the body whole, and what is stored must
    be readable, maskable and answerable by every later step).
    """
    check_depth(body)
    if route.request is None:
        return None
    serializer = route.request(
        data={} if body is None else body, context={"params": params, "ctx": ctx}
    )
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def run_route(
    route: Route, ctx: CallContext, params: Mapping[str, str], data: Any, *, savepoint: bool = True
) -> Any:
    """Call the route's service in one transaction and return its JSON answer.

    Domain exceptions (`webapi.exceptions`) propagate after the rollback.
    `savepoint=False` (inside a transaction whose caller rolls back to a savepoint of
    its own on failure, as the operation consumer does for a batch) skips the
    per-call savepoint.
    """
    if not route.atomic:
        return route.call(ctx, params, data)
    with transaction.atomic(savepoint=savepoint):
        return route.call(ctx, params, data)


def run_route_many(
    route: Route, ctx: CallContext, calls: Sequence[tuple[Mapping[str, str], Any]]
) -> list[Any]:
    """Run several validated calls of `route` with its `call_many`, inside the caller's
    transaction (no savepoint: the caller holds one and rolls back to it on failure).

    Raise what the calls raise, or RunSeparately (also when the route has no
    `call_many`): then the caller runs each call with `run_route`.
    """
    if route.call_many is None or not route.atomic:
        raise RunSeparately()
    return route.call_many(ctx, calls)


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Raise InputException if objects and arrays nest more than `limit` levels in `value`.

    Iterative (no recursion, whatever the depth); `{}` and `[]` are one level each.
    """
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise InputException(TOO_DEEP, [limit])
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
