"""Every error under `/rest/` as Magento renders it: `{"message", "parameters"}`.

`exception_handler` is DRF's `EXCEPTION_HANDLER` (settings.REST_FRAMEWORK): it maps
any exception a view raises to a Response. An unexpected one becomes a 500 whose
body holds only a report id; it still reaches Django's `got_request_exception`
signal (error trackers listen there) and the `django.request` logger with its
traceback, as an exception Django itself caught would.

`http_status` decides the status of a `LocalizedException`: the domain's exceptions
carry none, so each family is mapped here (Magento's `ErrorProcessor` does the same).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from django.core import signals
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.utils.log import log_response
from rest_framework import exceptions as drf
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from webapi import routes
from webapi.exceptions import (
    CONSUMER_NOT_AUTHORIZED,
    AuthenticationException,
    AuthorizationException,
    LocalizedException,
    NoSuchEntityException,
)

# The domain's exception families and their HTTP status; anything else is a 400,
# unless the exception's class names its own `http_status` (the REST layer's do).
FAMILY_STATUS: tuple[tuple[type[LocalizedException], int], ...] = (
    (NoSuchEntityException, 404),
    (AuthenticationException, 401),
    (AuthorizationException, 403),
)

NO_ROUTE = "Request does not match any route."
FIELD_REQUIRED = '"%fieldName" is required. Enter and try again.'
FIELD_INVALID = 'Invalid value for "%fieldName": %error'
METHOD_NOT_ALLOWED = (
    'The "%method" method is not allowed for this route. Allowed methods: %allowed.'
)
INTERNAL_ERROR = "Internal Error. Details are available in the server log. Report ID: %s"
_REQUIRED_CODES = {"required", "null", "blank"}


def error_body(message: str, parameters: Any = None) -> dict[str, Any]:
    return {"message": message, "parameters": [] if parameters is None else parameters}


def error_response(status: int, message: str, parameters: Any = None, **extra: Any) -> Response:
    body = error_body(message, parameters)
    body.update(extra)
    response = Response(body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = "Bearer"
    return response


def error_json(message: str, parameters: Any = None) -> bytes:
    """Return an error body as the API renders it (DRF's compact JSON, UTF-8)."""
    return JSONRenderer().render(error_body(message, parameters))


def plain_error_response(status: int, message: str, parameters: Any = None) -> HttpResponse:
    """Return a rendered Magento-shaped error outside DRF (middleware, Django's handlers)."""
    response = HttpResponse(
        error_json(message, parameters), status=status, content_type="application/json"
    )
    if status == 401:
        response["WWW-Authenticate"] = "Bearer"
    return response


def iter_validation_errors(detail: Any, path: str = "") -> Iterator[tuple[str, str, str]]:
    """Yield (field path, message, code) for each leaf of a DRF error detail.

    Paths are dotted, list items indexed: `product.custom_attributes[0].value`;
    `non_field_errors` adds nothing to the path.
    """
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in ("non_field_errors", api_settings.NON_FIELD_ERRORS_KEY):
                sub = path
            elif isinstance(key, int):  # ListField / DictField child errors
                sub = f"{path}[{key}]"
            else:
                sub = f"{path}.{key}" if path else str(key)
            yield from iter_validation_errors(value, sub)
    elif isinstance(detail, list):
        nested = any(isinstance(item, dict | list) for item in detail)
        for index, item in enumerate(detail):
            if nested:
                if item:  # ListSerializer: {} for the valid items
                    yield from iter_validation_errors(item, f"{path}[{index}]")
            else:
                yield from iter_validation_errors(item, path)
    else:
        yield path, str(detail), getattr(detail, "code", "invalid")


def validation_error(detail: Any) -> LocalizedException:
    """Return the InputException-like error for a DRF ValidationError detail.

    The first error is the message (missing fields in Magento's words); with more
    than one, all are listed under `errors` as Magento does.
    """
    errors = [
        _one_error(path, message, code) for path, message, code in iter_validation_errors(detail)
    ]
    if not errors:
        errors = [LocalizedException("Invalid input.")]
    first = errors[0]
    first.all_errors = errors  # type: ignore[attr-defined]
    return first


def _one_error(path: str, message: str, code: str) -> LocalizedException:
    if not path:
        return LocalizedException(message)
    if code in _REQUIRED_CODES:
        return LocalizedException(FIELD_REQUIRED, {"fieldName": path})
    return LocalizedException(FIELD_INVALID, {"fieldName": path, "error": message})


def http_status(exc: LocalizedException) -> int:
    """Return the HTTP status answering `exc`: its class's own, else its family's, else 400."""
    for cls in type(exc).__mro__:
        if "http_status" in cls.__dict__:
            return int(cls.__dict__["http_status"])
    for family, status in FAMILY_STATUS:
        if isinstance(exc, family):
            return status
    return 400


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's exception handler: return the Magento-shaped Response for any exception."""
    set_rollback()
    request = context.get("request")
    return render_exception(exc, getattr(request, "_request", request))


def render_exception(exc: BaseException, request=None) -> Response:
    """Return the Magento-shaped Response for any exception (`request`: Django's)."""
    if isinstance(exc, drf.ValidationError):
        first = validation_error(exc.detail)
        extra = {}
        errors = first.all_errors  # type: ignore[attr-defined]
        if len(errors) > 1:
            extra["errors"] = [error_body(e.message, e.parameters) for e in errors]
        return error_response(400, first.message, first.parameters, **extra)
    if isinstance(exc, LocalizedException):
        return error_response(http_status(exc), exc.message, exc.parameters)
    if isinstance(exc, routes.RouteNotFound | Http404):
        return error_response(404, NO_ROUTE)
    if isinstance(exc, routes.MethodNotAllowed):
        method = getattr(request, "method", "")
        response = error_response(
            405, METHOD_NOT_ALLOWED, {"method": method, "allowed": ", ".join(exc.allowed)}
        )
        response["Allow"] = ", ".join(exc.allowed)
        return response
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return error_response(401, CONSUMER_NOT_AUTHORIZED, {"resources": ""})
    if isinstance(exc, DjangoPermissionDenied | drf.PermissionDenied):
        return error_response(403, CONSUMER_NOT_AUTHORIZED, {"resources": ""})
    if isinstance(exc, DjangoValidationError):
        return error_response(400, " ".join(exc.messages))
    if isinstance(exc, drf.MethodNotAllowed):
        return error_response(405, str(exc.detail))
    if isinstance(exc, drf.APIException):
        return error_response(exc.status_code, str(exc.detail))
    return _internal_error(exc, request)


def _internal_error(exc: BaseException, request) -> Response:
    """Answer 500 with a report id; tell Django's signal and log the traceback."""
    report_id = f"webapi-{uuid.uuid4().hex[:13]}"
    response = error_response(500, INTERNAL_ERROR % report_id)
    if request is not None:
        signals.got_request_exception.send(sender=None, request=request)
    log_response(
        "Internal Server Error (report %s): %s %s",
        report_id,
        getattr(request, "method", "?"),
        getattr(request, "path", "?"),
        response=response,
        request=request,
        exception=exc,
    )
    return response
