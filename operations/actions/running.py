"""Run operations: what the `async.operations.all` consumer does with each message.

An operation runs only while it is open (4), under a row lock, in one database
transaction together with its status change and its events, so a redelivered
message never applies its effect twice. The service is called exactly as the
synchronous route calls it (`webapi.execution`), in the operation's store
scope, as the bulk's owner, whose permission is checked again now.

Failures are classified:
- transient (lock wait timeout, deadlock, serialization failure, SQLite's "database
  is locked"): retried here with exponential backoff, up to MAX_ATTEMPTS in all,
  then left retriably failed (2);
- business and validation failures (`LocalizedException`, a serializer's
  ValidationError): not retriably failed (3) with the service's own message and the
  exception's stable `code` as the error code;
- anything else: logged with its traceback and not retriably failed (3) with a
  generic message, error code 0;
- a lost connection cannot be recorded in the transaction it broke: it propagates,
  the transaction rolls back and the message is delivered again.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from types import SimpleNamespace
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from operations import events as bulk_events
from operations import items as item_rules
from operations import secrets
from operations.actions.counters import record_transitions
from operations.bulkwrite import event, insert_events, save_outcomes
from operations.conf import operations_settings
from operations.db import is_transient, locked
from operations.models import OUTCOME_COLUMNS, Bulk, EventKind, Operation, OperationStatus
from operations.validation import error_message, storable
from queues.backoff import Backoff
from store.models import Store
from webapi import execution
from webapi.exceptions import InputException, LocalizedException
from webapi.routes import CallContext, Route, routes

logger = logging.getLogger(__name__)

CONSUMER_NAME = "async.operations.all"
UNEXPECTED_ERROR = (
    "Something went wrong while processing the operation. The consumer's log has the details."
)
UNEXPECTED_ERROR_CODE = 0
STARTED, COMPLETED, FAILED = (
    EventKind.STARTED.value,
    EventKind.COMPLETED.value,
    EventKind.FAILED.value,
)
NO_ROUTE = 'No route handles the topic "%1" any more.'


def execute_operations(
    operation_ids: Iterable[int], *, consumer: str = CONSUMER_NAME
) -> list[Operation]:
    """Run the open operations among `operation_ids`; return every operation found.

    Joins the caller's transaction (the consumer runtime's, which also records the
    message ids and acknowledges after commit) or opens one. Operations that are not
    open (already run, or failed and not retried since) are left alone. The bulks'
    counters change in the same transaction (one UPDATE per bulk), and
    `operations.started` / `.completed` / `.failed` are emitted once per bulk.

    Several operations first run optimistically under one savepoint: when every
    service call succeeds, that saves two round trips per operation. If any service
    call fails, the savepoint is rolled back and each operation runs again under a
    savepoint of its own, so one failure never undoes or blocks the others.
    """
    ids = sorted({int(pk) for pk in operation_ids})
    if not ids:
        return []
    with transaction.atomic(savepoint=False):
        _set_lock_timeout()
        found = list(locked(Operation.objects.filter(pk__in=ids)).order_by("pk"))
        _attach_bulks_and_stores(found)
        runnable = [op for op in found if op.status == OperationStatus.OPEN]
        events = _run_together(runnable, consumer) if len(runnable) > 1 else None
        if events is None:
            events = [e for op in runnable for e in _run(op, consumer)]
        save_outcomes(runnable)
        save_redacted([op for op in runnable if getattr(op, "redacted", False)])
        insert_events(events)
        record_transitions(
            ((op.bulk_id, OperationStatus.OPEN, op.status) for op in runnable), started=True
        )
        _emit_outcomes(runnable)
    missing = set(ids) - {op.pk for op in found}
    if missing:
        logger.info(
            "operation(s) %s no longer exist (bulk deleted?); message(s) dropped", sorted(missing)
        )
    return found


def _emit_outcomes(operations: Sequence[Operation]) -> None:
    """Emit, per bulk, `operations.started` and `operations.completed` / `.failed` with
    how many operations of it this call ran (once per bulk, not per operation)."""
    per_bulk: dict[int, list[Operation]] = {}
    for op in operations:
        per_bulk.setdefault(op.bulk_id, []).append(op)
    for ops in per_bulk.values():
        bulk = ops[0].bulk
        complete = sum(1 for op in ops if op.status == OperationStatus.COMPLETE)
        for kind, count in (
            (bulk_events.OPERATIONS_STARTED, len(ops)),
            (bulk_events.OPERATIONS_COMPLETED, complete),
            (bulk_events.OPERATIONS_FAILED, len(ops) - complete),
        ):
            if count:
                bulk_events.emit(
                    kind,
                    bulk_id=bulk.pk,
                    bulk_uuid=str(bulk.uuid),
                    owner_id=bulk.owner_id,
                    count=count,
                )


class _ServiceFailed(Exception):
    """A service call failed while operations ran together: run them one by one."""


# Restored when a batch falls back to one savepoint per operation: what running writes.
_OUTCOME = ("serialized_data", "redacted", *OUTCOME_COLUMNS)


def _run_together(operations: list[Operation], consumer: str) -> list[SimpleNamespace] | None:
    """Run `operations` under one savepoint; return their events, or None (state restored)
    if a service call failed.

    Consecutive operations of one bulk, topic and store whose route has `call_many`
    (product saves) are handed to it together: the service writes their rows with a
    few statements for all instead of a few for each.
    """
    before = [[getattr(op, f, False) for f in _OUTCOME] for op in operations]
    try:
        with transaction.atomic():
            events: list[SimpleNamespace] = []
            for route, group in _groups(operations):
                if route is not None and route.call_many is not None and len(group) > 1:
                    events.extend(_run_many(group, route, consumer))
                else:
                    events.extend(e for op in group for e in _run(op, consumer, together=True))
            return events
    except _ServiceFailed:
        for op, values in zip(operations, before, strict=True):
            for field, value in zip(_OUTCOME, values, strict=True):
                setattr(op, field, value)
        return None


def _groups(operations: list[Operation]) -> Iterator[tuple[Route | None, list[Operation]]]:
    """Split `operations` into runs of the same bulk, topic and store, with their route
    (None for a topic no route handles any more)."""
    for (_, topic, _), group in itertools.groupby(
        operations, key=lambda op: (op.bulk_id, op.topic, op.store_id)
    ):
        try:
            route: Route | None = route_for_topic(topic)
        except KeyError:
            route = None
        yield route, list(group)


def _run_many(operations: list[Operation], route: Route, consumer: str) -> list[SimpleNamespace]:
    """Run open operations of one bulk, route and store with the route's `call_many`, under
    the caller's savepoint; return their events. Raise _ServiceFailed if the call fails
    (or refuses to run them together): the caller then runs each on its own."""
    first = operations[0]
    ctx = CallContext(store=first.store, user=first.bulk.owner, user_type=first.bulk.user_type)
    started = timezone.now()
    calls, callers = [], []
    for op in operations:
        op.started_at = started
        op.attempts += 1
        call = _prepare_call(op, route, ctx)
        if call is not None:
            calls.append(call)
            callers.append(op)
    if calls:
        try:
            results = execution.run_route_many(route, ctx, calls)
        except Exception as exc:
            raise _ServiceFailed from exc
        for op, result in zip(callers, results, strict=True):
            op.result_serialized_data = json.dumps(result, cls=DjangoJSONEncoder)
            _finish(op, OperationStatus.COMPLETE, "", None)
    events = []
    for op in operations:
        kind = COMPLETED if op.status == OperationStatus.COMPLETE else FAILED
        events.append(event(op.pk, STARTED, started, consumer=consumer))
        events.append(
            event(op.pk, kind, op.finished_at, consumer=consumer, message=op.result_message)
        )
    return events


def save_redacted(operations: Sequence[Operation]) -> None:
    """Write the masked payloads of operations that carried a secret and completed or
    failed for good."""
    if operations:
        Operation.objects.bulk_update(operations, ["serialized_data"])


def _attach_bulks_and_stores(operations: list[Operation]) -> None:
    """Load each distinct bulk (with its owner) and store once for a batch, not per row
    (a join would build a bulk, a user and a store for every operation)."""
    bulks = Bulk.objects.select_related("owner").in_bulk({op.bulk_id for op in operations})
    stores = Store.objects.in_bulk({op.store_id for op in operations})
    for op in operations:
        op.bulk = bulks[op.bulk_id]
        op.store = stores[op.store_id]


def _set_lock_timeout() -> None:
    """On PostgreSQL, make a row lock held elsewhere a (transient) error instead of a hang."""
    timeout = operations_settings.LOCK_TIMEOUT_MS
    if connection.vendor == "postgresql" and timeout > 0:
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {timeout}")


def _run(op: Operation, consumer: str, *, together: bool = False) -> list[SimpleNamespace]:
    """Run one open operation (locked by the caller); set its outcome; return its events.

    `together`: the caller holds a savepoint for many operations; a failing service
    call raises _ServiceFailed instead of being recorded.
    """
    op.started_at = timezone.now()
    events = [event(op.pk, STARTED, op.started_at, consumer=consumer)]
    try:
        route = route_for_topic(op.topic)
    except KeyError:
        op.attempts += 1
        _finish(
            op,
            OperationStatus.NOT_RETRIABLY_FAILED,
            LocalizedException(NO_ROUTE, [op.topic]).rendered,
            0,
        )
    else:
        _attempt(op, route, together)
    kind = COMPLETED if op.status == OperationStatus.COMPLETE else FAILED
    events.append(event(op.pk, kind, op.finished_at, consumer=consumer, message=op.result_message))
    return events


def _attempt(op: Operation, route: Route, together: bool = False) -> None:
    ctx = CallContext(store=op.store, user=op.bulk.owner, user_type=op.bulk.user_type)
    op.attempts += 1
    call = _prepare_call(op, route, ctx)
    if call is None:
        return
    params, data = call
    backoff = transient_backoff()
    tries = 1
    while True:
        try:
            result = execution.run_route(route, ctx, params, data, savepoint=not together)
        except Exception as exc:
            if together:
                raise _ServiceFailed from exc
            if connection.needs_rollback:
                raise  # the transaction is broken (lost connection): redeliver
            if not is_transient(exc):
                _failed(op, exc)
                return
            if backoff.gives_up_after(tries):
                _finish(
                    op,
                    OperationStatus.RETRIABLY_FAILED,
                    f"The operation failed {tries} times on a transient database error "
                    "(lock wait, deadlock or lost connection) and was given up; retry it. "
                    f"Last error: {exc}",
                    None,
                )
                return
            logger.info("operation %s: transient error, retrying (try %d): %s", op.pk, tries, exc)
            time.sleep(backoff.pause_before(tries + 1))
            tries += 1
            op.attempts += 1
            continue
        op.result_serialized_data = json.dumps(result, cls=DjangoJSONEncoder)
        _finish(op, OperationStatus.COMPLETE, "", None)
        return


def _prepare_call(
    op: Operation, route: Route, ctx: CallContext
) -> tuple[dict[str, str], Any] | None:
    """Return the URL parameters and validated body of an operation's call, or record why
    it cannot run (nothing was written yet) and return None."""
    try:
        check_permission(ctx.user, route)
        item = secrets.open_item(op.serialized_data)  # decrypted only here, to run
        params = item_rules.item_params(item, route.param_names)
        body = item_rules.item_body(item, route.param_names)
        return params, execution.validate_request(route, ctx, params, body)
    except secrets.SecretsUnreadable as exc:  # the key may come back: keep the ciphertext
        _finish(op, OperationStatus.RETRIABLY_FAILED, exc.rendered, exc.code)
    except Exception as exc:
        _failed(op, exc)
    return None


def transient_backoff() -> Backoff:
    """Return the waits between the attempts of an operation failing transiently:
    RETRY_BACKOFF_SECONDS, doubling (at most 5 s), MAX_ATTEMPTS attempts in all."""
    delay = operations_settings.RETRY_BACKOFF_SECONDS
    return Backoff(
        delay=delay, max_delay=max(delay, 5.0), attempts=max(1, operations_settings.MAX_ATTEMPTS)
    )


def _failed(op: Operation, exc: BaseException) -> None:
    """Record a failure that is not transient: the service's own message, or a generic one."""
    if isinstance(exc, ValidationError):
        _finish(op, OperationStatus.NOT_RETRIABLY_FAILED, error_message(exc), InputException.code)
    elif isinstance(exc, LocalizedException):
        _finish(op, OperationStatus.NOT_RETRIABLY_FAILED, exc.rendered, exc.code)
    else:
        _unexpected(op, exc)


def _unexpected(op: Operation, exc: BaseException) -> None:
    logger.error(
        "operation %s (%s) failed unexpectedly",
        op.pk,
        op.topic,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    _finish(op, OperationStatus.NOT_RETRIABLY_FAILED, UNEXPECTED_ERROR, UNEXPECTED_ERROR_CODE)


def _finish(op: Operation, status: int, message: str, code: int | None) -> None:
    op.status = status
    op.result_message = storable(message)
    op.error_code = code
    op.finished_at = timezone.now()
    if status != OperationStatus.COMPLETE:
        op.result_serialized_data = None
    if status == OperationStatus.COMPLETE:
        # Its secrets are used up. A failed operation keeps them, encrypted, so that a
        # person's retry can still run it; the clean-up deletes them with the bulk.
        redacted = item_rules.redact_secrets(op.serialized_data)
        if redacted != op.serialized_data:
            op.serialized_data = redacted
            setattr(op, "redacted", True)  # noqa: B010 (saved by `save_redacted` with the outcome)


# -- per-process caches ------------------------------------------------------------
_local = threading.local()
_permission_cache: dict[tuple[Any, str | None], tuple[float, BaseException | None]] = {}


def route_for_topic(topic: str) -> Route:
    """Return the async route of `topic` (cached; raise KeyError if none)."""
    cache: dict[str, Route] = _local.__dict__.setdefault("routes", {})
    route = cache.get(topic)
    if route is None:
        route = cache[topic] = routes.by_topic(topic)
    return route


def check_permission(user: Any, route: Route) -> None:
    """Check the owner's permission for `route` again, trusting a result for a few seconds.

    Raise what `webapi.execution.check_permission` raises.
    """
    ttl = operations_settings.PERMISSION_CACHE_SECONDS
    key = (getattr(user, "pk", None), route.permission)
    now = time.monotonic()
    cached = _permission_cache.get(key)
    if cached is not None and cached[0] > now:
        if cached[1] is not None:
            raise cached[1]
        return
    try:
        execution.check_permission(user, route)
    except LocalizedException as exc:
        _permission_cache[key] = (now + ttl, exc)
        raise
    _permission_cache[key] = (now + ttl, None)


def clear_caches() -> None:
    """Forget cached permission checks (tests that change permissions call this)."""
    _permission_cache.clear()


GAVE_UP = (
    "The operation's message could not be processed and was set aside (%1). "
    "Retry the operation once the cause is fixed."
)


def give_up_operation(operation_id: int, reason: str, *, consumer: str = CONSUMER_NAME) -> bool:
    """Leave an open operation retriably failed (2) because its message was dead-lettered.

    Return False if it was not open (already run, or gone): nothing to record.
    """
    op = (
        locked(Operation.objects.filter(pk=operation_id, status=OperationStatus.OPEN))
        .select_related("bulk")
        .first()
    )
    if op is None:
        return False
    _finish(op, OperationStatus.RETRIABLY_FAILED, GAVE_UP.replace("%1", reason), None)
    save_outcomes([op])
    insert_events(
        [event(op.pk, FAILED, op.finished_at, consumer=consumer, message=op.result_message)]
    )
    record_transitions([(op.bulk_id, OperationStatus.OPEN, op.status)])
    bulk_events.emit(
        bulk_events.OPERATIONS_FAILED,
        bulk_id=op.bulk_id,
        bulk_uuid=str(op.bulk.uuid),
        owner_id=op.bulk.owner_id,
    )
    return True


def operation_ids(bodies: Sequence[dict[str, Any]]) -> list[int]:
    """Return the operation ids carried by message bodies, skipping malformed ones."""
    ids = []
    for body in bodies:
        try:
            ids.append(int(body["operation_id"]))
        except (KeyError, TypeError, ValueError):
            logger.error("a message without a valid operation_id was dropped: %r", body)
    return ids
