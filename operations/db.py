"""Database helpers shared by the actions: row locks and transient-error classification."""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.db.models import QuerySet

# 40001 serialization failure, 40P01 deadlock, 55P03 lock not available (lock_timeout),
# 57014 statement cancelled (statement_timeout).
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57014"})
_TRANSIENT_TEXT = (
    "database is locked",
    "deadlock",
    "lock wait timeout",
    "could not obtain lock",
    "lock timeout",
)


def locked(queryset: QuerySet, *, skip_locked: bool = False) -> QuerySet:
    """Return `queryset` locking its rows (only the main table's) where the database can.

    SQLite has no row locks; its IMMEDIATE transactions already serialise writers.
    """
    features = connection.features
    if not features.has_select_for_update:
        return queryset
    of = ("self",) if features.has_select_for_update_of else ()
    skip = skip_locked and features.has_select_for_update_skip_locked
    return queryset.select_for_update(of=of, skip_locked=skip)


def is_transient(exc: BaseException) -> bool:
    """Return True for a database error that may succeed if tried again (locks, deadlocks)."""
    if not isinstance(exc, DatabaseError):
        return False
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or getattr(
        getattr(cause, "diag", None), "sqlstate", None
    )
    if sqlstate in TRANSIENT_SQLSTATES:
        return True
    text = str(exc).lower()
    return any(marker in text for marker in _TRANSIENT_TEXT)
