"""Periodic tasks (`Periodic` declarations), run between receives by consumer
processes, by the embedded consumers and by the runner.

Each run is claimed in the database first (PeriodicRun), so that a task due every
hour runs once an hour however many processes are alive.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from queues.declarations import Periodic, resolve_handler
from queues.models import PeriodicRun

logger = logging.getLogger(__name__)


def claim_run(name: str, interval: float) -> bool:
    """Return True if this process may run `name` now (and record that it does)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            updated = PeriodicRun.objects.filter(
                name=name, last_run__lte=now - timedelta(seconds=interval)
            ).update(last_run=now)
            if updated:
                return True
            _, created = PeriodicRun.objects.get_or_create(name=name, defaults={"last_run": now})
            return created
    except IntegrityError:
        return False  # another process created the row at the same moment


class PeriodicSchedule:
    """The periodic tasks of one process; call `run_due()` often, it is cheap."""

    def __init__(self, tasks: Iterable[Periodic]) -> None:
        self.tasks = list(tasks)
        self._next: dict[str, float] = {t.name: 0.0 for t in self.tasks}

    def run_due(self) -> int:
        """Run every task whose interval has passed; return how many ran here."""
        ran = 0
        now = time.monotonic()
        for task in self.tasks:
            if now < self._next[task.name]:
                continue
            self._next[task.name] = now + task.interval
            try:
                if not claim_run(task.name, task.interval):
                    continue
                func = resolve_handler(task.func)
                assert func is not None
                func()
                ran += 1
            except DatabaseError:
                logger.exception("periodic task %s failed on the database", task.name)
            except Exception:
                # A failing periodic task must not stop the consumer that hosts it.
                logger.exception("periodic task %s failed", task.name)
        return ran

    def seconds_until_next(self) -> float:
        if not self.tasks:
            return float("inf")
        return max(0.0, min(self._next.values()) - time.monotonic())
