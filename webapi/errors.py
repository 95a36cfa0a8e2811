"""Every error under `/rest/` as Magento renders it: `{"message", "parameters"}`.

`render_exception` maps any exception to a Response; unexpected ones become a 500
whose body holds only a report id, the traceback going to the log.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.settings import api_settings

from catalog.exceptions import LocalizedException
from webapi import routes
from webapi.exceptions import CONSUMER_NOT_AUTHORIZED

logger = logging.getLogger("webapi")

NO_ROUTE = "Request does not match any route."
FIELD_REQUIRED = '"%fieldName" is required. Enter and try again.'
FIELD_INVALID = 'Invalid value for "%fieldName": %error'
METHOD_NOT_ALLOWED = (
    'The "%method" method is not allowed for this route. Allowed methods: %allowed.'
)
INTERNAL_ERROR = "Internal Error. Details are available in the server log. Report ID: %s"
MANY_INPUT_ERRORS = "One or more input exceptions have occurred."
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


def render_exception(exc: BaseException, request=None) -> Response:
    """Return the Magento-shaped Response for any exception."""
    if isinstance(exc, drf.ValidationError):
        first = validation_error(exc.detail)
        extra = {}
        errors = first.all_errors  # type: ignore[attr-defined]
        if len(errors) > 1:
            extra["errors"] = [error_body(e.message, e.parameters) for e in errors]
        return error_response(400, first.message, first.parameters, **extra)
    if isinstance(exc, LocalizedException):
        return error_response(exc.http_status, exc.message, exc.parameters)
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
    report_id = f"webapi-{uuid.uuid4().hex[:13]}"
    logger.error(
        "Unhandled error %s on %s %s",
        report_id,
        getattr(request, "method", "?"),
        getattr(request, "path", "?"),
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return error_response(500, INTERNAL_ERROR % report_id)
