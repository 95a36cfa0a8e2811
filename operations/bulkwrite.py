"""Write thousands of operations and events at once: COPY on PostgreSQL, bulk_create elsewhere.

Accepting a 5,000-item bulk writes 10,000 rows. Django's `bulk_create` on
PostgreSQL binds every value client-side (psycopg quotes each array element in
Python), which costs more than validating the items. PostgreSQL's COPY streams the
rows in psycopg's C code instead. The operations' ids are taken from their identity
sequence first (one query), because the events and the messages need them.
Call inside the transaction that owns the rows.
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

from django.db import connection

from operations.models import OPERATION_COLUMNS, OUTCOME_COLUMNS, Operation, OperationEvent

_EVENT_COLUMNS = ("operation_id", "kind", "at", "actor_id", "consumer", "message")


def insert_operations(
    operations: Sequence[SimpleNamespace],
    events_for: Callable[[Sequence[SimpleNamespace]], Sequence[SimpleNamespace]],
) -> None:
    """Insert new operations, setting their `id`, then the events `events_for(operations)` returns.

    Both are plain namespaces with attributes named after the columns (building
    10,000 model instances costs more than writing them by COPY); build operations
    with `new_operation`, which refuses a missing or unknown column.
    """
    if not operations:
        return
    if connection.vendor != "postgresql":
        created = Operation.objects.bulk_create([Operation(**vars(op)) for op in operations])
        for op, row in zip(operations, created, strict=True):
            op.id = row.pk
        insert_events(events_for(operations))
        return
    op_table = Operation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [op_table, len(operations)],
        )
        for op, (pk,) in zip(operations, cursor.fetchall(), strict=True):
            op.id = pk
        _copy(
            cursor,
            op_table,
            OPERATION_COLUMNS,
            (_row(op, OPERATION_COLUMNS) for op in operations),
        )
    insert_events(events_for(operations))


def new_operation(**columns: Any) -> SimpleNamespace:
    """Return a new operation row for `insert_operations`: every column of the model, no other.

    Raise TypeError naming the columns missing or unknown, so that a column added to
    the model cannot be left out of the insert by accident.
    """
    missing = set(OPERATION_COLUMNS) - set(columns)
    unknown = set(columns) - set(OPERATION_COLUMNS)
    if missing or unknown:
        raise TypeError(
            f"an operation row needs exactly the model's columns: missing {sorted(missing)}, "
            f"unknown {sorted(unknown)}"
        )
    return SimpleNamespace(**columns)


def _row(obj: Any, columns: Sequence[str]) -> list[Any]:
    return [v.value if isinstance(v := getattr(obj, c), enum.Enum) else v for c in columns]


def _copy(cursor, table: str, columns: Sequence[str], rows) -> None:
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with cursor.cursor.copy(
        f"COPY {connection.ops.quote_name(table)} ({names}) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)


def save_outcomes(operations: Sequence[Operation]) -> None:
    """Write the outcome fields of many operations in one statement.

    On PostgreSQL one `UPDATE ... FROM json_to_recordset(%s)`: the rows travel as one
    JSON text, encoded and quoted in C. (`bulk_update` builds a CASE expression per
    field and row, which costs more Python time than running the operations; one
    UPDATE per row costs the server a statement each; a VALUES list is a query text
    too long for psycopg to cache, and arrays of text are escaped in Python.)
    Elsewhere, and for a value holding a NUL character (which PostgreSQL's JSON
    cannot turn into text), one UPDATE per row in one `executemany`.
    """
    if not operations:
        return
    columns = (*OUTCOME_COLUMNS, "id")
    rows = [[*_row(op, OUTCOME_COLUMNS), op.pk] for op in operations]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            document = json.dumps(
                [dict(zip(columns, row, strict=True)) for row in rows], default=str
            )
            if "\\u0000" not in document:
                cursor.execute(_outcome_update_sql(), [document])
                return
        quote = connection.ops.quote_name
        assignments = ", ".join(f"{quote(f)} = %s" for f in OUTCOME_COLUMNS)
        table = quote(Operation._meta.db_table)
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {quote('id')} = %s", rows)


@functools.cache
def _outcome_update_sql() -> str:
    """`save_outcomes`' UPDATE on PostgreSQL: the rows as JSON objects, read back with
    their columns' types (without length: varchar(n) would cut a value short)."""
    quote = connection.ops.quote_name
    meta = Operation._meta
    columns = (*OUTCOME_COLUMNS, "id")
    fields = ", ".join(
        f"{quote(c)} {str(meta.get_field(c).db_type(connection)).split('(')[0]}" for c in columns
    )
    assignments = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in OUTCOME_COLUMNS)
    return (
        f"UPDATE {quote(meta.db_table)} AS o SET {assignments} "
        f"FROM json_to_recordset(%s::json) AS v ({fields}) WHERE o.{quote('id')} = v.{quote('id')}"
    )


def event(
    operation_id: int,
    kind: str,
    at: Any,
    *,
    actor_id: int | None = None,
    consumer: str = "",
    message: str = "",
) -> SimpleNamespace:
    """Return a new event row for `insert_events`."""
    return SimpleNamespace(
        operation_id=operation_id,
        kind=kind,
        at=at,
        actor_id=actor_id,
        consumer=consumer,
        message=message,
    )


def insert_events(events: Sequence[SimpleNamespace]) -> None:
    """Insert event rows (see `event`); their ids are not needed back. COPY on PostgreSQL."""
    if not events:
        return
    if connection.vendor != "postgresql":
        OperationEvent.objects.bulk_create(OperationEvent(**vars(e)) for e in events)
        return
    with connection.cursor() as cursor:
        _copy(
            cursor,
            OperationEvent._meta.db_table,
            _EVENT_COLUMNS,
            (_row(e, _EVENT_COLUMNS) for e in events),
        )
