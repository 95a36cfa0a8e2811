"""The per-status counters of bulks: kept up to date by every status change, and checked.

Every action that changes operations' statuses describes what happened as
transitions, `(bulk id, old status, new status)` (old None: a new operation; new
None: a deleted one), and calls `record_transitions` in the same transaction: one
UPDATE per bulk whose increments the database computes (`SET n = n + 1`, what F()
expressions write), so that concurrent writers (two consumers on one bulk) never
lose each other's changes. No read-modify-write in Python.

`recount_bulks` recomputes the counters from the operations, for
`manage.py operations_recount` and the test suite's check after every test.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from operations.db import locked
from operations.models import COUNTER_FIELDS, Bulk, Operation

logger = logging.getLogger(__name__)

Transition = tuple[int, int | None, int | None]  # (bulk id, old status, new status)

RECOUNT_BATCH = 500


def counter_changes(transitions: Iterable[Transition]) -> dict[int, dict[str, int]]:
    """Return, per bulk id, how much each counter field changes; unchanged ones omitted
    (a bulk whose counters do not change at all is omitted too)."""
    changes: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for bulk_id, old, new in transitions:
        if old == new:
            continue
        if old is not None:
            changes[bulk_id][COUNTER_FIELDS[old]] -= 1
        if new is not None:
            changes[bulk_id][COUNTER_FIELDS[new]] += 1
    return {
        bulk_id: nonzero
        for bulk_id, fields in changes.items()
        if (nonzero := {field: n for field, n in fields.items() if n})
    }


def initial_counters(statuses: Iterable[int]) -> dict[str, int]:
    """Return the counter fields of a new bulk whose operations have `statuses`
    (written with the bulk row, so no UPDATE is needed)."""
    return counter_changes((0, None, status) for status in statuses).get(0, {})


def record_transitions(
    transitions: Iterable[Transition], *, started: bool = False, now: datetime | None = None
) -> dict[int, dict[str, int]]:
    """Apply `transitions` to their bulks' counters and return the changes made.

    One UPDATE per bulk whose counters change, in bulk id order (two writers touching
    the same bulks lock their rows in the same order), with increments computed by
    the database (`SET n = n + 1`, as F() would) and `changed_at = now`; with
    `started`, also `started_at` if it was not set yet. A decrement stops at zero: a
    counter that drifted (a row changed by hand) must not stop operations from
    running; `recount_bulks` reports and fixes it.
    Call inside the transaction that changes the operations' statuses, after locking
    those operations, so that the counters commit (or roll back) with them.
    """
    at = connection.ops.adapt_datetimefield_value(now or timezone.now())
    changes = counter_changes(transitions)
    if not changes:
        return changes
    with connection.cursor() as cursor:
        for bulk_id in sorted(changes):
            fields = tuple(sorted(changes[bulk_id].items()))
            sql = _update_sql(tuple((f, n > 0) for f, n in fields), started, connection.vendor)
            params: list[Any] = [abs(n) for _field, n in fields]
            params += [at, at] if started else [at]
            cursor.execute(sql, [*params, bulk_id])
    return changes


@functools.lru_cache(maxsize=256)
def _update_sql(fields: tuple[tuple[str, bool], ...], started: bool, vendor: str) -> str:
    """Return the UPDATE of one bulk's counters: (field, increases) each, then changed_at
    (and started_at) and the bulk id as parameters.

    Written out rather than built by the ORM per call: in a consumer running one
    message per call this runs for every operation, and compiling the query cost
    four times what the database takes to run it.
    """
    quote = connection.ops.quote_name
    greatest = "MAX" if vendor == "sqlite" else "GREATEST"  # SQLite's scalar max()
    sets = [
        f"{quote(f)} = {quote(f)} + %s" if up else f"{quote(f)} = {greatest}({quote(f)} - %s, 0)"
        for f, up in fields
    ]
    sets.append(f"{quote('changed_at')} = %s")
    if started:
        sets.append(f"{quote('started_at')} = COALESCE({quote('started_at')}, %s)")
    return f"UPDATE {quote(Bulk._meta.db_table)} SET {', '.join(sets)} WHERE {quote('id')} = %s"


# -- drift ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    """A bulk whose stored counters differ from its operations: {status: count} each,
    every status included."""

    bulk_id: int
    bulk_uuid: str
    stored: Mapping[int, int]
    actual: Mapping[int, int]

    def __str__(self) -> str:
        def shape(counts: Mapping[int, int]) -> str:
            return " ".join(f"{status}:{n}" for status, n in sorted(counts.items()))

        return f"bulk {self.bulk_uuid}: stored {shape(self.stored)}, actual {shape(self.actual)}"


def recount_bulks(*, fix: bool = True, batch_size: int = RECOUNT_BATCH) -> list[Drift]:
    """Recompute every bulk's counters from its operations; return the bulks that drifted.

    With `fix`, set their counters to the actual counts (and `changed_at`). Works in
    batches of `batch_size` bulks by id: one query for their counters and one grouped
    count over the (bulk, status) index per batch. A difference seen while writers
    are busy is confirmed under the bulks' row locks before it is reported, so
    concurrent consumers never produce a false drift (nor a wrong fix).
    """
    drifts: list[Drift] = []
    last = 0
    while True:
        rows = list(
            Bulk.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", *COUNTER_FIELDS.values())[:batch_size]
        )
        if not rows:
            return drifts
        last = rows[-1][0]
        suspects = [pk for pk, stored, actual in _compare(rows) if stored != actual]
        if suspects:
            drifts.extend(_confirm(suspects, fix=fix))


def _compare(rows: list[tuple[Any, ...]]) -> list[tuple[int, dict[int, int], dict[int, int]]]:
    """Return (bulk id, stored counts, actual counts) for bulk rows (pk, *counters)."""
    low, high = rows[0][0], rows[-1][0]
    actual: dict[int, dict[int, int]] = {row[0]: dict.fromkeys(COUNTER_FIELDS, 0) for row in rows}
    counted = (
        Operation.objects.filter(bulk_id__gte=low, bulk_id__lte=high)
        .order_by()
        .values_list("bulk_id", "status")
        .annotate(n=Count("id"))
    )
    for bulk_id, status, n in counted:
        if bulk_id in actual:
            actual[bulk_id][status] = n
    return [
        (row[0], dict(zip(COUNTER_FIELDS, row[1:], strict=True)), actual[row[0]]) for row in rows
    ]


def _confirm(bulk_ids: list[int], *, fix: bool) -> list[Drift]:
    """Compare `bulk_ids` again with their rows locked (no writer can commit a status
    change of theirs meanwhile); fix them if asked; return those that drifted."""
    drifts = []
    with transaction.atomic():
        locked_rows = list(
            locked(Bulk.objects.filter(pk__in=bulk_ids))
            .order_by("pk")
            .values_list("pk", "uuid", *COUNTER_FIELDS.values())
        )
        if not locked_rows:
            return []
        uuids = {row[0]: row[1] for row in locked_rows}
        rows = [(row[0], *row[2:]) for row in locked_rows]
        now = timezone.now()
        for bulk_id, stored, actual in _compare(rows):
            if stored == actual:
                continue
            drifts.append(Drift(bulk_id, str(uuids[bulk_id]), stored, actual))
            logger.warning("counters drifted: %s", drifts[-1])
            if fix:
                Bulk.objects.filter(pk=bulk_id).update(
                    changed_at=now,
                    **{field: actual[status] for status, field in COUNTER_FIELDS.items()},
                )
    return drifts
