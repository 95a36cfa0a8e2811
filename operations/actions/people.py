"""What staff do with operations: retry, edit and retry, acknowledge a bulk.

A retry reopens the operation in place (status 4, attempts kept, no new bulk),
records a `retried` event with the person who asked, and publishes it after commit
(unpublished until confirmed, like any open operation, so the relay covers a broker
outage). Open and complete operations cannot be retried. Every action checks the
person's permission and that they may see the bulk (`operations.status.visible_bulks`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from operations import events, secrets
from operations import items as item_rules
from operations.actions.counters import record_transitions
from operations.actions.outbox import publish_operations_after_commit
from operations.actions.running import route_for_topic
from operations.db import locked
from operations.exceptions import (
    ActionNotPermitted,
    BulkNotFound,
    InvalidOperationData,
    MissingParameter,
    NothingToRetry,
    OperationNotFound,
    OperationNotRetriable,
    OperationsError,
)
from operations.models import (
    REOPEN_COLUMNS,
    Bulk,
    BulkAcknowledgement,
    EventKind,
    GroupRetry,
    GroupRetryOperation,
    Operation,
    OperationEvent,
    OperationStatus,
)
from operations.status import visible_bulks, visible_operations
from operations.validation import error_message
from webapi.exceptions import LocalizedException
from webapi.execution import validate_request
from webapi.routes import CallContext

RETRY = "operations.retry_operations"
EDIT = "operations.edit_operations"
ACKNOWLEDGE = "operations.acknowledge_bulks"

RETRIABLE_STATUSES = (
    OperationStatus.RETRIABLY_FAILED,
    OperationStatus.NOT_RETRIABLY_FAILED,
    OperationStatus.REJECTED,
)
FAILED_STATUSES = (OperationStatus.RETRIABLY_FAILED, OperationStatus.NOT_RETRIABLY_FAILED)


def _require(user: Any, permission: str) -> None:
    if user is None or not user.is_active or not user.has_perm(permission):
        raise ActionNotPermitted(permission)


def _refusal(op: Operation) -> str:
    state = "open (waiting or running)" if op.status == OperationStatus.OPEN else "complete"
    return f"Operation {op.pk} is {state}; only failed or rejected operations can be retried."


def retry_operation(op: Operation, user: Any) -> Operation:
    """Reopen one failed or rejected operation and publish it again after commit."""
    retry_operations([op.pk], user)
    op.refresh_from_db()
    return op


def retry_operations(operation_ids: Iterable[int], user: Any) -> int:
    """Reopen the chosen operations; return how many. All or nothing.

    Raise OperationNotRetriable if any is open or complete, OperationNotFound if
    any is unknown or in a bulk the user may not see, ActionNotPermitted without
    the `retry_operations` permission.
    """
    _require(user, RETRY)
    ids = sorted({int(pk) for pk in operation_ids})
    with transaction.atomic():
        ops = list(
            locked(visible_operations(user).filter(pk__in=ids))
            .select_related("bulk")
            .order_by("pk")
        )
        if len(ops) != len(ids):
            raise OperationNotFound(sorted(set(ids) - {o.pk for o in ops}))
        for op in ops:
            if op.status not in RETRIABLE_STATUSES:
                raise OperationNotRetriable(_refusal(op))
        _reopen(ops, user)
    return len(ops)


def retry_failed(bulk: Bulk, user: Any) -> int:
    """Reopen every failed operation (2 and 3) of a bulk; return how many."""
    return _retry_where(bulk, user, status__in=FAILED_STATUSES)


def retry_by_error_code(bulk: Bulk, error_code: int | None, user: Any) -> int:
    """Reopen the failed operations of a bulk sharing one error code (Magento's grouping)."""
    return _retry_where(bulk, user, status__in=FAILED_STATUSES, error_code=error_code)


def _retry_where(bulk: Bulk, user: Any, **conditions: Any) -> int:
    _require(user, RETRY)
    if not visible_bulks(user).filter(pk=bulk.pk).exists():
        raise BulkNotFound(bulk.uuid)
    with transaction.atomic():
        ops = list(
            locked(visible_operations(user).filter(bulk=bulk, **conditions))
            .select_related("bulk")
            .order_by("pk")
        )
        if not ops:
            return 0
        _reopen(ops, user)
    return len(ops)


def _reopen(ops: list[Operation], user: Any, message: str = "") -> None:
    """Set `ops` (locked, their `bulk` loaded) open again, record `retried` events and
    the bulks' counters, emit `operations.retried` per bulk, publish after commit."""
    now = timezone.now()
    record_transitions(((op.bulk_id, op.status, OperationStatus.OPEN) for op in ops), now=now)
    per_bulk: dict[int, list[Operation]] = {}
    for op in ops:
        per_bulk.setdefault(op.bulk_id, []).append(op)
    for bulk_ops in per_bulk.values():
        bulk = bulk_ops[0].bulk
        events.emit(
            events.OPERATIONS_RETRIED,
            bulk_id=bulk.pk,
            bulk_uuid=str(bulk.uuid),
            owner_id=bulk.owner_id,
            count=len(bulk_ops),
            actor_id=user.pk if user is not None else None,
        )
    for op in ops:
        op.status = OperationStatus.OPEN
        op.result_message = ""
        op.error_code = None
        op.result_serialized_data = None
        op.started_at = None
        op.finished_at = None
        op.opened_at = now
        op.published = False
        op.sweeps = 0
    Operation.objects.bulk_update(ops, REOPEN_COLUMNS, batch_size=1000)
    OperationEvent.objects.bulk_create(
        (
            OperationEvent(
                operation=op, kind=EventKind.RETRIED, at=now, actor=user, message=message
            )
            for op in ops
        ),
        batch_size=1000,
    )
    publish_operations_after_commit(ops)


def retry_dead_lettered(operation_ids: Iterable[int], actor: str) -> int:
    """Reopen the failed operations whose dead-lettered messages an operator sent back
    (`actor`, a username: the queues' permission was checked by whoever called); return
    how many. The others (already reopened, complete, gone) are left as they are, so
    sending the same dead letters back twice retries once. Published afresh through
    the outbox, like any retry; the history says who sent them back."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=actor).first()
    with transaction.atomic():
        ops = list(
            locked(Operation.objects.filter(pk__in=set(operation_ids), status__in=FAILED_STATUSES))
            .select_related("bulk")
            .order_by("pk")
        )
        if ops:
            _reopen(ops, user, f"Sent back from the dead letters by {actor}.")
    return len(ops)


def edit_operation(op: Operation, new_item: Any, user: Any) -> Operation:
    """Replace a failed or rejected operation's payload, then retry it.

    `new_item` is a bulk item (the synchronous body carrying the URL parameters);
    parameters it omits are taken from the current payload. It is validated with the
    route's serializer first (InvalidOperationData if it fails). The editor needs the
    route's own permission too (ActionNotPermitted), since the new payload runs as
    the bulk's owner. The `edited` event
    keeps the previous payload, so the audit trail is complete.
    """
    _require(user, EDIT)
    _require(user, RETRY)
    if not isinstance(new_item, dict):
        raise InvalidOperationData("The payload must be a JSON object.")
    with transaction.atomic():
        row = (
            locked(visible_operations(user).filter(pk=op.pk))
            .select_related("bulk", "store")
            .first()
        )
        if row is None:
            raise OperationNotFound([op.pk])
        if row.status not in RETRIABLE_STATUSES:
            raise OperationNotRetriable(_refusal(row))
        route = route_for_topic(row.topic)
        # The new payload runs as the bulk's owner: the editor must be allowed to send
        # it themselves, or editing would lend them the owner's permissions.
        if route.permission is not None:
            _require(user, route.permission)
        names = route.param_names
        old_item = item_rules.deserialize_item(row.serialized_data)
        try:
            old_params = (
                item_rules.item_params(old_item, names) if isinstance(old_item, dict) else {}
            )
        except LocalizedException:
            old_params = {}
        try:
            item_rules.item_params(new_item, names)
            item = dict(new_item)
        except MissingParameter:
            item = item_rules.with_params(new_item, old_params)
        # A secret left masked in the edit form keeps the value the operation carried.
        try:
            item = secrets.keep_masked_secrets(row.serialized_data, item)
        except secrets.SecretsUnreadable as exc:
            raise InvalidOperationData(exc.rendered) from exc
        ctx = CallContext(store=row.store, user=row.bulk.owner, user_type=row.bulk.user_type)
        try:
            params = item_rules.item_params(item, names)
            validate_request(route, ctx, params, item_rules.item_body(item, names))
        except (ValidationError, LocalizedException) as exc:
            raise InvalidOperationData(error_message(exc)) from exc
        previous = item_rules.redact_secrets(row.serialized_data)
        row.serialized_data = secrets.seal(item)
        row.data_hash = item_rules.data_hash(item)
        row.save(update_fields=["serialized_data", "data_hash"])
        OperationEvent.objects.create(
            operation=row, kind=EventKind.EDITED, at=timezone.now(), actor=user, message=previous
        )
        events.emit(
            events.OPERATION_EDITED,
            bulk_id=row.bulk_id,
            bulk_uuid=str(row.bulk.uuid),
            owner_id=row.bulk.owner_id,
            actor_id=user.pk,
        )
        _reopen([row], user, message="Retried after an edit.")
    row.refresh_from_db()
    return row


def acknowledge_bulk(bulk: Bulk, user: Any) -> BulkAcknowledgement:
    """Dismiss a finished bulk for `user` (idempotent: `bulk.acknowledged` is emitted
    the first time only). Refused while it is in progress."""
    _require(user, ACKNOWLEDGE)
    if not visible_bulks(user).filter(pk=bulk.pk).exists():
        raise BulkNotFound(bulk.uuid)
    if Operation.objects.filter(bulk=bulk, status=OperationStatus.OPEN).exists():
        raise OperationsError(
            "This bulk is still in progress; acknowledge it once it has finished."
        )
    ack, created = BulkAcknowledgement.objects.get_or_create(
        bulk=bulk, user=user, defaults={"at": timezone.now()}
    )
    if created:
        events.emit(
            events.BULK_ACKNOWLEDGED,
            bulk_id=bulk.pk,
            bulk_uuid=str(bulk.uuid),
            owner_id=bulk.owner_id,
            actor_id=user.pk,
        )
    return ack


def retry_group(
    bulk: Bulk,
    user: Any,
    *,
    error_code: int | None,
    message: str,
    statuses: Iterable[int] = RETRIABLE_STATUSES,
) -> int:
    """Reopen the operations of a bulk that failed with one error code and message (a group
    of Magento's "Items to retry"), among `statuses`; return how many."""
    return _retry_where(
        bulk, user, status__in=list(statuses), error_code=error_code, result_message=message
    )


def acknowledge_finished(user: Any) -> int:
    """Dismiss every finished bulk of `user`'s own that they have not dismissed yet
    (Magento's "Dismiss All Completed Tasks"); return how many."""
    _require(user, ACKNOWLEDGE)
    now = timezone.now()
    with transaction.atomic():
        pending = list(
            Bulk.objects.filter(owner=user, open_count=0)
            .exclude(acknowledgements__user=user)
            .values_list("pk", "uuid")
        )
        BulkAcknowledgement.objects.bulk_create(
            [BulkAcknowledgement(bulk_id=pk, user=user, at=now) for pk, _uuid in pending],
            ignore_conflicts=True,
        )
        for pk, bulk_uuid in pending:
            events.emit(
                events.BULK_ACKNOWLEDGED,
                bulk_id=pk,
                bulk_uuid=str(bulk_uuid),
                owner_id=user.pk,
                actor_id=user.pk,
            )
    return len(pending)


GROUP_RETRY_CHUNK = 500


def retry_failure_group(
    user: Any,
    *,
    topic: str,
    error_code: int | None,
    message: str,
    since: datetime,
    range_label: str = "",
    chunk: int = GROUP_RETRY_CHUNK,
) -> GroupRetry:
    """Reopen every failed operation (2 and 3) the user may retry, across their visible
    bulks, with this topic, error code and message, that finished from `since` until
    now; record it as one `GroupRetry` and return it.

    The operations are reopened `chunk` at a time, each chunk in a transaction of its
    own, in id order (so no more than `chunk` rows are ever loaded or locked), through
    the same path as every other retry: `retried` events by `user`, the bulks'
    counters, `operations.retried` per bulk, publishing after each chunk's commit.
    An operation that fails again while the later chunks are reopened finished after
    the retry began and is not taken twice. Raise NothingToRetry if none matched,
    ActionNotPermitted without `retry_operations`.
    """
    _require(user, RETRY)
    now = timezone.now()
    matching = visible_operations(user).filter(
        status__in=FAILED_STATUSES,
        topic=topic,
        error_code=error_code,
        result_message=message,
        finished_at__gte=since,
        finished_at__lte=now,
    )
    if not matching.exists():
        raise NothingToRetry()
    retry = GroupRetry.objects.create(
        actor=user,
        actor_name=user.get_username(),
        at=now,
        topic=topic,
        error_code=error_code,
        message=message,
        range=range_label,
        since=since,
        until=now,
    )
    note = f"Retried with its failure group (group retry {retry.pk})."
    bulks: set[int] = set()
    last = 0
    while True:
        with transaction.atomic():
            ops = list(
                locked(matching.filter(pk__gt=last)).select_related("bulk").order_by("pk")[:chunk]
            )
            if not ops:
                break
            _reopen(ops, user, message=note)
            GroupRetryOperation.objects.bulk_create(
                GroupRetryOperation(retry=retry, operation_id=op.pk) for op in ops
            )
            bulks.update(op.bulk_id for op in ops)
            GroupRetry.objects.filter(pk=retry.pk).update(
                total=F("total") + len(ops), bulk_count=len(bulks)
            )
        last = ops[-1].pk
    GroupRetry.objects.filter(pk=retry.pk).update(reopened_at=timezone.now())
    retry.refresh_from_db()
    return retry


def settle_group_retry(retry_id: int, *, complete: int, failed: int) -> bool:
    """Keep the outcome of a group retry none of whose operations is open any more, so
    that its progress is not counted again; return False if it was settled already.

    Called by whoever read the progress (`dashboard.failures`) and found nothing open.
    """
    return bool(
        GroupRetry.objects.filter(
            pk=retry_id, settled_at__isnull=True, reopened_at__isnull=False
        ).update(settled_at=timezone.now(), complete_count=complete, failed_count=failed)
    )
