"""The asynchronous and bulk API: `/rest/[<store>/]async/V1/...` and `.../async/bulk/V1/...`.

Thin views over `operations.actions.accept_bulk`. Order, as in the synchronous
dispatcher: route (404/405), store (400), permission (401/403), body (413/400), then
accepting (202). A request refused before accepting creates nothing.
"""

from __future__ import annotations

import json
from typing import Any

from rest_framework.response import Response

from operations.actions import accept_bulk, request_fingerprint
from operations.exceptions import RouteNotAsync
from webapi.conf import webapi_settings
from webapi.exceptions import MalformedRequest, PayloadTooLarge
from webapi.routes import MethodNotAllowed, RouteNotFound, routes
from webapi.views import WebapiView

IDEMPOTENCY_HEADER = "Idempotency-Key"
NOT_AN_ARRAY = "The body of a bulk request must be a JSON array of items, one per operation."
EMPTY_BULK = "The bulk contains no items."
TOO_MANY_ITEMS = "The bulk has %1 items; the limit is %2 items per request."
NEVER_ASYNC = "%1 requests are never asynchronous: send them to the synchronous API (/rest/V1/...)."
KEY_TOO_LONG = "The Idempotency-Key header is longer than 255 characters."


class AsyncView(WebapiView):
    """One operation: the body is the synchronous body, the URL keeps its parameters."""

    bulk = False

    def serve(self, request, *args: Any, **kwargs: Any) -> Response:
        path = kwargs.get("path")
        if path is None:
            raise RouteNotFound(request.path)
        if request.method in ("GET", "HEAD"):
            _refuse_read(request.method, path, self.bulk)
        route, params = routes.resolve_async(request.method, path, bulk=self.bulk)
        store = self.get_store()
        self.check_permission(route)
        ctx = self.call_context(store)
        body = self.read_json_body()
        items = self.items(body)
        key = request.headers.get(IDEMPOTENCY_HEADER) or None
        if key is not None and len(key) > 255:
            raise MalformedRequest(KEY_TOO_LONG)
        fingerprint = ""
        if key is not None:
            raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")
            fingerprint = request_fingerprint(request.method, self.prefix + path, store.code, raw)
        accepted = accept_bulk(
            route=route,
            items=items,
            ctx=ctx,
            url_params=params,
            bulk=self.bulk,
            idempotency_key=key,
            fingerprint=fingerprint,
        )
        response = Response(accepted.response, status=202)
        if accepted.replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    prefix = "async/"

    def items(self, body: Any) -> list[Any]:
        """Return the items of the request: here the one body ({} when empty)."""
        return [{} if body is None else body]

    get = post = put = patch = delete = head = options = serve


class AsyncBulkView(AsyncView):
    """Many operations: the body is a JSON array of synchronous bodies carrying their parameters."""

    bulk = True
    prefix = "async/bulk/"

    def items(self, body: Any) -> list[Any]:
        if not isinstance(body, list):
            raise MalformedRequest(NOT_AN_ARRAY)
        if not body:
            raise MalformedRequest(EMPTY_BULK)
        limit = webapi_settings.BULK_MAX_ITEMS
        if len(body) > limit:
            raise PayloadTooLarge(TOO_MANY_ITEMS, [len(body), limit])
        return body


def _refuse_read(method: str, path: str, bulk: bool) -> None:
    """Raise 405 for a read on an existing async path, 404 for an unknown one."""
    try:
        routes.resolve_async("POST", path, bulk=bulk)
    except MethodNotAllowed:
        pass
    except RouteNotFound:
        raise
    raise RouteNotAsync(NEVER_ASYNC, [method])
