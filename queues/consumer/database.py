"""The project's database as the consumer runtime sees it: outages, and SQLite's one writer.

- A database error inside a handler may be the message's fault (a constraint, bad
  SQL) or the database's (down, restarting, connection killed).
  `database_unreachable()` tells them apart; for the latter the runtime raises
  `DatabaseUnavailable`, a transport failure: the message is given back without a
  trial and the loop waits for the database as it waits for a broker.
- `WriterPause` lets other writers in between a busy consumer's transactions on SQLite.
"""

from __future__ import annotations

import threading
import time

from django.db import DatabaseError, connection

from queues.exceptions import TransportError

# SQLite has one writer at a time, and a writer kept waiting retries on its own
# schedule (SQLite's busy handler sleeps up to 100 ms between tries). A busy consumer
# commits its groups back to back, so a web request or a command wanting to write
# would almost never find the lock free until the queue is drained. After this many
# seconds of back-to-back transactions the consumer pauses for longer than one such
# sleep, so another writer waits about half a second at most (for ~18% of a busy
# consumer's throughput on SQLite; nothing changes on PostgreSQL).
SQLITE_YIELD_EVERY = 0.5
SQLITE_YIELD_FOR = 0.11


class DatabaseUnavailable(TransportError):
    """The project's database cannot be reached: wait and reconnect, count no trial."""


# SQLSTATE classes of a lost connection: 08 connection exception, 57P operator
# intervention (admin or crash shutdown, cannot connect now).
_LOST_STATES = ("08", "57P")
_LOST_TEXT = (
    "the connection is closed",
    "connection already closed",
    "server closed the connection",
    "terminating connection",
    "connection failed",
    "could not connect",
)


def lost_connection(exc: BaseException) -> bool:
    """Return True if `exc` says the database connection itself was lost."""
    for error in (exc, exc.__cause__):
        state = getattr(error, "sqlstate", None) or ""
        if state.startswith(_LOST_STATES):
            return True
    text = str(exc).lower()
    return any(marker in text for marker in _LOST_TEXT)


def database_unreachable(exc: BaseException | None = None) -> bool:
    """Return True if the default database cannot be reached right now (after `exc`).

    An error inside a handler may be the message's fault (a constraint, bad SQL) or
    the database's (down, restarting, connection killed). A lost connection is the
    database's, even if a fresh one (from a pool) works again at once; otherwise a
    fresh connection decides.
    """
    if connection.in_atomic_block:
        return False  # a caller's transaction: not ours to close and probe
    if exc is not None and lost_connection(exc):
        connection.close()
        return True
    try:
        connection.close_if_unusable_or_obsolete()
        connection.ensure_connection()
        return not connection.is_usable()
    except DatabaseError:
        return True


class WriterPause:
    """On SQLite, pause now and then between back-to-back transactions (see SQLITE_YIELD_EVERY).

    The pause waits on `stopped` (the runtime's stop event), so that a stop request
    cuts it short. Nothing happens on other databases.
    """

    def __init__(self, stopped: threading.Event) -> None:
        self._stopped = stopped
        self._writing_since: float | None = None  # start of back-to-back transactions

    def idle(self) -> None:
        """Called when a receive found nothing: the run of back-to-back writes is over."""
        self._writing_since = None

    def after_transaction(self) -> None:
        """Called between two transactions of the consumer; pause if it has written
        back to back for SQLITE_YIELD_EVERY seconds. Assumes no transaction is open
        (inside a caller's, e.g. a test's, it does nothing)."""
        if connection.vendor != "sqlite" or connection.in_atomic_block:
            return
        now = time.monotonic()
        if self._writing_since is None:
            self._writing_since = now
        elif now - self._writing_since >= SQLITE_YIELD_EVERY:
            self._stopped.wait(SQLITE_YIELD_FOR)
            self._writing_since = time.monotonic()
