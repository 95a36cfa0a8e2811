"""Accept an async or bulk request: validate, record in one transaction, publish after commit."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from operations import events, secrets
from operations import items as item_rules
from operations.actions.counters import initial_counters
from operations.actions.outbox import publish_after_commit
from operations.bulkwrite import event, insert_operations, new_operation
from operations.exceptions import IdempotencyKeyReused
from operations.models import Bulk, EventKind, OperationStatus, UserType
from operations.validation import error_message
from webapi.exceptions import InputException, LocalizedException
from webapi.execution import validate_request
from webapi.routes import CallContext, Route

NOT_AN_OBJECT = "The item must be a JSON object."
OPEN, REJECTED = OperationStatus.OPEN.value, OperationStatus.REJECTED.value


@dataclass(frozen=True)
class Accepted:
    """What accepting answered: Listing 8's body, and whether it replays an earlier answer."""

    response: dict[str, Any]
    bulk_uuid: str
    replayed: bool = False


def request_fingerprint(method: str, path: str, store_code: str, body: bytes) -> str:
    """Return what identifies a request for the Idempotency-Key check."""
    digest = hashlib.sha256()
    for part in (method.upper(), path.strip("/"), store_code):
        digest.update(part.encode("utf-8") + b"\0")
    digest.update(body)
    return digest.hexdigest()


def accept_bulk(
    *,
    route: Route,
    items: Sequence[Any],
    ctx: CallContext,
    url_params: Mapping[str, str] | None = None,
    bulk: bool = True,
    description: str = "",
    idempotency_key: str | None = None,
    fingerprint: str = "",
) -> Accepted:
    """Record a bulk of operations for `route` and publish the accepted ones after commit.

    `bulk=True`: each item is one synchronous body carrying the route's URL
    parameters (`operations.items`). `bulk=False` (single async call): `items` holds
    the one body, `url_params` the parameters from the URL.

    Every item is validated with the route's request serializer: valid items become
    open operations (4), invalid ones rejected operations (5) with the validation
    message. The bulk, its operations and their events are written in one
    transaction, the bulk with its counters already set; after commit,
    `bulk.accepted` is emitted (`operations.events`) and the accepted operations
    are published in one batch (see `outbox.publish_after_commit`). With an
    `idempotency_key`, a request the same owner already sent with that key returns
    the original answer instead.
    """
    user: Any = ctx.user
    owner = user if user is not None and user.is_authenticated else None
    if idempotency_key and owner is not None:
        earlier = _replay(owner, idempotency_key, fingerprint)
        if earlier is not None:
            return earlier

    now = timezone.now()
    bulk_row = Bulk(
        owner=owner,
        user_type=ctx.user_type or UserType.ADMIN,
        description=description or f"Topic {route.topic}",
        created=now,
        changed_at=now,
        operation_count=len(items),
        topic=route.topic,
    )
    operations, request_items = _operations(route, items, ctx, url_params or {}, bulk, now)
    # The initial counters are written with the bulk row: every operation is new.
    for field, n in initial_counters(op.status for op in operations).items():
        setattr(bulk_row, field, n)
    response = {
        "bulk_uuid": str(bulk_row.uuid),
        "request_items": request_items,
        "errors": any(ri["status"] == "rejected" for ri in request_items),
    }
    if idempotency_key and owner is not None:
        bulk_row.idempotency_key = idempotency_key
        bulk_row.idempotency_fingerprint = fingerprint
        bulk_row.idempotency_response = json.dumps(response)

    try:
        with transaction.atomic():
            bulk_row.save(force_insert=True)
            for op in operations:
                op.bulk_id = bulk_row.pk
            insert_operations(operations, lambda ops: _events(ops, owner, now))
            bulk_uuid = str(bulk_row.uuid)
            rows = [
                (op.id, op.topic, op.store_id, bulk_uuid) for op in operations if op.status == OPEN
            ]
            # Told before publishing: a broker outage delays the publish, not the news.
            events.emit(
                events.BULK_ACCEPTED,
                bulk_id=bulk_row.pk,
                bulk_uuid=bulk_uuid,
                owner_id=bulk_row.owner_id,
            )
            if rows:
                publish_after_commit(rows, whole_bulk=bulk_row.pk)
    except IntegrityError:
        # Two requests with one Idempotency-Key raced; the first one's answer wins.
        if idempotency_key and owner is not None:
            earlier = _replay(owner, idempotency_key, fingerprint)
            if earlier is not None:
                return earlier
        raise
    return Accepted(response=response, bulk_uuid=str(bulk_row.uuid))


def _events(operations: Sequence[SimpleNamespace], owner: Any, now: Any) -> list[SimpleNamespace]:
    actor_id = owner.pk if owner is not None else None
    accepted, rejected = EventKind.ACCEPTED.value, EventKind.REJECTED.value
    return [
        event(
            op.id,
            accepted if op.status == OPEN else rejected,
            now,
            actor_id=actor_id,
            message=op.result_message,
        )
        for op in operations
    ]


def _replay(owner: Any, key: str, fingerprint: str) -> Accepted | None:
    earlier = (
        Bulk.objects.filter(owner=owner, idempotency_key=key)
        .only("uuid", "idempotency_fingerprint", "idempotency_response")
        .first()
    )
    if earlier is None:
        return None
    if (
        fingerprint
        and earlier.idempotency_fingerprint
        and earlier.idempotency_fingerprint != fingerprint
    ):
        raise IdempotencyKeyReused()
    return Accepted(
        response=json.loads(earlier.idempotency_response or "{}"),
        bulk_uuid=str(earlier.uuid),
        replayed=True,
    )


def _operations(
    route: Route,
    items: Sequence[Any],
    ctx: CallContext,
    url_params: Mapping[str, str],
    bulk: bool,
    now: Any,
) -> tuple[list[SimpleNamespace], list[dict[str, Any]]]:
    """Return the new operation rows (see `bulkwrite`) and Listing 8's `request_items`."""
    names = route.param_names
    topic = route.topic
    store_id = ctx.store.pk
    operations: list[SimpleNamespace] = []
    request_items: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        item_json = item_rules.canonical_json(item)
        digest = item_rules.data_hash(item, item_json)
        message = ""
        stored: Any = item
        try:
            if bulk:
                if not isinstance(item, dict):
                    raise LocalizedException(NOT_AN_OBJECT)
                params = item_rules.item_params(item, names)
                body = item_rules.item_body(item, names)
            else:
                params = dict(url_params)
                body = item
                stored = item_rules.with_params(item if isinstance(item, dict) else {}, params)
            validate_request(route, ctx, params, body)
        except (ValidationError, LocalizedException) as exc:
            message = error_message(exc)
        operations.append(
            new_operation(
                id=None,
                bulk_id=None,
                index=index,
                topic=topic,
                serialized_data=secrets.seal(
                    stored, item_json if stored is item else None, erase=bool(message)
                ),
                data_hash=digest,
                store_id=store_id,
                status=REJECTED if message else OPEN,
                result_serialized_data=None,
                result_message=message,
                error_code=InputException.code if message else None,
                attempts=0,
                accepted_at=now,
                opened_at=now,
                started_at=None,
                finished_at=now if message else None,
                published=False,
                sweeps=0,
            )
        )
        answer: dict[str, Any] = {
            "id": index,
            "data_hash": digest,
            "status": "rejected" if message else "accepted",
        }
        if message:
            answer["error_message"] = message
        request_items.append(answer)
    return operations, request_items
