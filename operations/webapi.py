"""The bulk status API (Magento's `AsynchronousOperations` web API), declared as routes.

Each needs `operations.view_bulk`; what it shows is owner-scoped: a user sees their
own bulks, a user with `operations.view_all_bulks` sees every bulk, and a bulk
someone else owns is a 404, as if it did not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from operations import status
from operations.models import Bulk, OperationStatus
from webapi.exceptions import InputException, NoSuchEntityException
from webapi.routes import CallContext, Route, register
from webapi.search import search

PERMISSION = "operations.view_bulk"
NO_BULK = 'Bulk with UUID "%1" does not exist.'
BAD_STATUS = 'The operation status "%1" is not one of 1 (complete), 2, 3, 4 or 5 (rejected).'

# Fields clients may filter and sort `GET /V1/bulk` by (Magento's operation fields).
SEARCH_FIELDS = {
    "id": "id",
    "bulk_uuid": "bulk__uuid",
    "topic_name": "topic",
    "status": "status",
    "error_code": "error_code",
    "result_message": "result_message",
    "store_id": "store_id",
    "started_at": "started_at",
    "finished_at": "finished_at",
    "accepted_at": "accepted_at",
}


def get_visible_bulk(ctx: CallContext, bulk_uuid: str) -> Bulk:
    """Return the bulk if the caller may see it; NoSuchEntityException (404) otherwise."""
    try:
        key = uuid.UUID(bulk_uuid)
    except ValueError:
        raise NoSuchEntityException(NO_BULK, [bulk_uuid]) from None
    bulk = status.visible_bulks(ctx.user).filter(uuid=key).first()
    if bulk is None:
        raise NoSuchEntityException(NO_BULK, [bulk_uuid])
    return bulk


def bulk_status(ctx: CallContext, params: Mapping[str, str], data: Any) -> dict[str, Any]:
    return status.bulk_status(get_visible_bulk(ctx, params["bulkUuid"]))


def bulk_detailed_status(ctx: CallContext, params: Mapping[str, str], data: Any) -> dict[str, Any]:
    return status.bulk_status(get_visible_bulk(ctx, params["bulkUuid"]), detailed=True)


def operation_count_by_status(ctx: CallContext, params: Mapping[str, str], data: Any) -> int:
    bulk = get_visible_bulk(ctx, params["bulkUuid"])
    try:
        wanted = int(params["status"])
    except ValueError:
        wanted = -1
    if wanted not in OperationStatus.values:
        raise InputException(BAD_STATUS, [params["status"]])
    return bulk.counts().get(wanted, 0)


def operation_search(ctx: CallContext, params: Mapping[str, str], data: Any) -> dict[str, Any]:
    queryset = status.visible_operations(ctx.user).values(*status.DETAILED_COLUMNS)
    page = search(queryset, ctx.query or {}, SEARCH_FIELDS)
    return page.answer(status.render_operation)


def _route(path: str, call: Any, summary: str, *, search: bool = False) -> None:
    register(
        Route(
            method="GET",
            path=path,
            service=f"{call.__module__}.{call.__qualname__}",
            call=call,
            permission=PERMISSION,
            search=search,
            summary=summary,
            tags=("bulk",),
        )
    )


_route("/V1/bulk/:bulkUuid/status", bulk_status, "A bulk's summary and its operations' statuses.")
_route(
    "/V1/bulk/:bulkUuid/detailed-status",
    bulk_detailed_status,
    "A bulk's summary and its operations with their data and results.",
)
_route(
    "/V1/bulk/:bulkUuid/operation-status/:status",
    operation_count_by_status,
    "How many operations of a bulk have this status (a bare integer).",
)
_route("/V1/bulk", operation_search, "Search operations (searchCriteria).", search=True)
