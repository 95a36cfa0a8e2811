"""Middleware for the REST API (`/rest/`).

`RestHostMiddleware` comes first in `MIDDLEWARE`: under `/rest/` a `Host` header
that `ALLOWED_HOSTS` does not allow is answered `400` in Magento's error shape
before any other middleware asks for the host (Django would raise `DisallowedHost`
there and answer its HTML page, or a debug page with `DEBUG`). It is logged to
`django.security.DisallowedHost` as Django logs it. Other paths are untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase

from webapi.errors import plain_error_response

REST_PREFIX = "/rest"
INVALID_HOST = 'The "%1" Host header is not allowed for this server.'
_SHOWN_HOST = 255  # characters of a refused Host quoted in the answer

security_logger = logging.getLogger("django.security.DisallowedHost")


def is_rest_path(path: str) -> bool:
    """Whether `path` is under `/rest/` (the API answers every such path, `/rest` too)."""
    return path == REST_PREFIX or path.startswith(REST_PREFIX + "/")


def refuse_host(request: HttpRequest) -> HttpResponseBase | None:
    """Return the 400 answering a disallowed Host under `/rest/`, else None."""
    if not is_rest_path(request.path_info):
        return None
    try:
        request.get_host()
    except DisallowedHost as exc:
        security_logger.error(str(exc), extra={"status_code": 400, "request": request})
        forwarded = settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in request.META
        host = str(request.META.get("HTTP_X_FORWARDED_HOST" if forwarded else "HTTP_HOST", ""))
        response = plain_error_response(400, INVALID_HOST, [host[:_SHOWN_HOST]])
        # The middleware below, which would add these, is not run.
        response["Content-Length"] = str(len(response.content))
        response["X-Content-Type-Options"] = "nosniff"
        return response
    return None


class RestHostMiddleware:
    """Answer a disallowed Host under `/rest/` in Magento's shape (see the module docstring)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.async_mode:
            return self.__acall__(request)
        return refuse_host(request) or self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        return refuse_host(request) or await self.get_response(request)
