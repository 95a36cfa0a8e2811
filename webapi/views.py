"""The synchronous dispatcher: every `/rest/[<store>/]V1/...` call, and every other
path under `/rest/`.

`WebapiView` is the reusable base (store scope, bearer authentication, JSON body,
Magento-shaped errors); `ServiceView` resolves a route in the registry and runs
it. The asynchronous and bulk views (`operations.views`) subclass `WebapiView`.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from typing import Any

from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from store.models import ADMIN_STORE_ID, DEFAULT_STORE_ID, Store
from webapi.authentication import BearerTokenAuthentication
from webapi.conf import webapi_settings
from webapi.exceptions import (
    MalformedRequest,
    NotAuthenticated,
    PayloadTooLarge,
    StoreNotFound,
)
from webapi.execution import check_permission, run_route, validate_request
from webapi.fields import PARAMETER as FIELDS_PARAMETER
from webapi.fields import filter_fields
from webapi.models import USER_TYPE_GUEST, AccessToken
from webapi.routes import CallContext, Route, RouteNotFound, routes

ALL_STORES_CODE = "all"
DEFAULT_STORE_CODE = "default"
_READ_CHUNK = 64 * 1024


class MagentoJSONRenderer(JSONRenderer):
    """JSON, with None rendered as `null` (DRF renders an empty body)."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b"null"
        return super().render(data, accepted_media_type, renderer_context)


class JSONOnly(BaseContentNegotiation):
    """Always answer JSON, whatever the Accept header says (no 406 under /rest/)."""

    def select_parser(self, request, parsers):
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type


class WebapiView(APIView):
    """Base view for the REST API: store scope, authentication, JSON body, errors.

    Hooks, each callable from a subclass's handler (`post`, `put`, ...):

    - `get_store() -> Store`: the store named by the URL kwarg `store_code`
      (absent or `default` → store 1, `all` → store 0, else an active store by
      code); StoreNotFound (400) otherwise. Cached per request.
    - `authenticate() -> tuple[user | None, AccessToken | None]`: the bearer
      token's user and token, (None, None) without a token; NotAuthenticated (401)
      for a bad, expired or revoked token. Authentication is lazy: nothing runs
      before a handler asks, so an unknown route is a 404 whatever the token.
    - `check_permission(route)`: authenticate, then raise NotAuthenticated (401)
      or NotAuthorized (403, "The consumer isn't authorized to access %resources.")
      unless the caller may call `route` (see `execution.check_permission`).
    - `call_context(store) -> CallContext`: the caller in that store scope, with
      `user_type` from the token (1 integration, 2 admin, 4 guest without token),
      `query` the query string and `base_url` the request's root URL.
    - `read_json_body() -> Any`: the parsed JSON body, None when empty; 413
      (PayloadTooLarge) over `WEBAPI["MAX_BODY_SIZE"]`, judged on Content-Length
      before reading and never reading more than the limit + 1 byte; 400
      (MalformedRequest, "Decoding error: ...") when not JSON, or holding a number no
      float or int can hold (see `parse_json`). Cached.

    Errors are answered in Magento's shape by `errors.exception_handler`, DRF's
    `EXCEPTION_HANDLER`: LocalizedException (its family's status), DRF
    ValidationError (400), RouteNotFound (404), MethodNotAllowed (405),
    PayloadTooLarge (413), anything else 500 with a report id, traceback logged.
    """

    authentication_classes = [BearerTokenAuthentication]
    permission_classes: list = []
    throttle_classes: list = []
    parser_classes: list = []
    renderer_classes = [MagentoJSONRenderer]
    content_negotiation_class = JSONOnly
    # Paths come from the route registry (webapi.schema), not from this view.
    schema = None

    _store: Store | None = None
    _body_read = False
    _body: Any = None

    @property
    def default_response_headers(self) -> dict[str, str]:
        # DRF would announce every handler method in `Allow`; only a 405 says what is allowed.
        return {"Vary": "Accept"}

    def perform_authentication(self, request) -> None:
        """Postpone authentication until a handler calls `authenticate()`."""

    def finalize_response(self, request, response, *args, **kwargs):
        """Answer HEAD like GET without the body (same status and headers, Content-Length)."""
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method == "HEAD" and isinstance(response, Response):
            response.render()
            length = len(response.content)
            response.content = b""
            response["Content-Length"] = str(length)
        return response

    # --- hooks ----------------------------------------------------------------------

    def get_store(self) -> Store:
        if self._store is None:
            self._store = resolve_store(self.kwargs.get("store_code"))
        return self._store

    def authenticate(self) -> tuple[Any, AccessToken | None]:
        user = self.request.user  # runs BearerTokenAuthentication once
        token = self.request.auth
        return user, token if isinstance(token, AccessToken) else None

    def check_permission(self, route: Route) -> None:
        if route.permission is None:
            return
        try:
            user, _token = self.authenticate()
        except NotAuthenticated:
            raise NotAuthenticated(route.permission) from None
        check_permission(user, route)

    def call_context(self, store: Store) -> CallContext:
        try:
            user, token = self.authenticate()
        except NotAuthenticated:  # a bad token on a route open to anyone
            user, token = None, None
        return CallContext(
            store=store,
            user=user,
            user_type=token.user_type if token is not None else USER_TYPE_GUEST,
            query=self.request.query_params,
            base_url=self.request.build_absolute_uri("/"),
        )

    def read_json_body(self) -> Any:
        if not self._body_read:
            self._body = parse_json(read_body(self.request._request, webapi_settings.MAX_BODY_SIZE))
            self._body_read = True
        return self._body


class ServiceView(WebapiView):
    """Run the synchronous route for the method and path; 404 in Magento's shape for anything else.

    Order: route (404/405), store (400), permission (401/403), body (413/400),
    validation (400), then the service call in one transaction. A `fields` query
    parameter then reduces the answer (`webapi.fields`), as Magento's does.
    """

    def serve(self, request, *args, **kwargs) -> Response:
        path = kwargs.get("path")
        if path is None:
            raise RouteNotFound(request.path)
        # HEAD runs the GET route; finalize_response drops the body.
        method = "GET" if request.method == "HEAD" else request.method
        route, params = routes.resolve(method, path)
        store = self.get_store()
        self.check_permission(route)
        check_params(params)
        ctx = self.call_context(store)
        if route.request is not None:
            data = validate_request(route, ctx, params, self.read_json_body())
        elif route.method == "GET":
            data = ctx.query
        else:
            data = None
        answer = run_route(route, ctx, params, data)
        fields = request.query_params.get(FIELDS_PARAMETER)
        if fields:  # Magento's partial answer, on any route (`webapi.fields`)
            answer = filter_fields(answer, fields)
        return Response(answer, status=route.status)

    get = post = put = patch = delete = head = options = serve


def check_params(params: Mapping[str, str]) -> None:
    """Refuse URL parameters holding a NUL character (`%00`): 400, not a database error."""
    for name, value in params.items():
        if "\x00" in value:
            raise MalformedRequest('The "%1" URL parameter contains a NUL character.', [name])


def resolve_store(code: str | None) -> Store:
    """Return the store for a URL store code (None and `default` → 1, `all` → 0)."""
    if code is None or code == DEFAULT_STORE_CODE:
        store_id: int | None = DEFAULT_STORE_ID
    elif code == ALL_STORES_CODE:
        store_id = ADMIN_STORE_ID
    else:
        store_id = None
    try:
        if store_id is not None:
            return Store.objects.get(pk=store_id)
        return Store.objects.exclude(pk=ADMIN_STORE_ID).get(code=code, is_active=True)
    except Store.DoesNotExist:
        raise StoreNotFound() from None


def read_body(request, limit: int) -> bytes:
    """Return the raw body of a Django request, refusing more than `limit` bytes.

    Content-Length is checked before anything is read; without it (chunked
    transfer) at most `limit` + 1 bytes are read.
    """
    length = request.META.get("CONTENT_LENGTH") or ""
    if length:
        try:
            declared = int(length)
        except ValueError:
            raise MalformedRequest("The Content-Length header is invalid.") from None
        if declared > limit:
            raise _too_large(limit)
    if getattr(request, "_body", None) is not None:
        raw = request._body
    else:
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = request.read(min(_READ_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        raw = b"".join(chunks)
    if len(raw) > limit:
        raise _too_large(limit)
    return raw


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge("The request body is larger than the limit of %1 bytes.", [limit])


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    """Parse a JSON number with a fraction or exponent; refuse one no float can hold.

    `1e400` would otherwise become infinity, which is no JSON number: stored, it could
    not be answered again (nor compared, nor saved in a decimal column).
    """
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {_clip(text)} is too large")
    return number


def _integer(text: str) -> int:
    """Parse a JSON integer; one longer than Python converts is refused in plain words."""
    try:
        return int(text)
    except ValueError:  # past sys.int_info.str_digits_check_threshold (4,300 digits)
        raise ValueError(
            f"an integer has {len(text.lstrip('-'))} digits; at most "
            f"{sys.get_int_max_str_digits()} are accepted"
        ) from None


def _clip(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def parse_json(raw: bytes) -> Any:
    """Return the decoded JSON document, None for an empty body; MalformedRequest otherwise.

    `NaN`, `Infinity` and numbers too large for a float (`1e400`) are refused, as are
    integers of more than 4,300 digits (Python's limit for converting text to int).
    """
    if not raw.strip():
        return None
    try:
        document = json.loads(
            raw.decode("utf-8"),
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_integer,
        )
        if b"\\ud" in raw or b"\\uD" in raw:
            # A lone surrogate escape ("\ud800") is valid JSON syntax but no text, and
            # nothing downstream (hashing, the database) can store it.
            json.dumps(document, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeDecodeError, UnicodeEncodeError, RecursionError) as exc:
        raise MalformedRequest("Decoding error: %1", [str(exc)]) from None
    return document
