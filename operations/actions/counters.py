"""The per-status counters of bulks: kept up to date by every status change, and checked.

Every action that changes operations' statuses describes what happened as
transitions, `(bulk id, old status, new status)` (old None: a new operation; new
None: a deleted one), and calls `record_transitions` in the same transaction: one
UPDATE per bulk with F() increments, so that concurrent writers (two consumers on
one bulk) never lose each other's changes. No read-modify-write in Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from operations.models import COUNTER_FIELDS, Bulk

Transition = tuple[int, int | None, int | None]  # (bulk id, old status, new status)


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
    the same bulks lock their rows in the same order), with F() increments and
    `changed_at = now`; with `started`, also `started_at` if it was not set yet.
    Call inside the transaction that changes the operations' statuses, after locking
    those operations, so that the counters commit (or roll back) with them.
    """
    now = now or timezone.now()
    changes = counter_changes(transitions)
    for bulk_id in sorted(changes):
        values: dict[str, Any] = {
            field: F(field) + n for field, n in sorted(changes[bulk_id].items())
        }
        values["changed_at"] = now
        if started:
            values["started_at"] = Coalesce(F("started_at"), now)
        Bulk.objects.filter(pk=bulk_id).update(**values)
    return changes
