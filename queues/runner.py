"""The supervising runner (Magento's `cron_consumers_runner`).

Its settings are QUEUES["RUNNER_*"] (`queues.conf.runner_options`).

For each configured consumer (`consumers`, empty means all declared) it keeps
`multiple_processes[name]` (default 1) subprocesses of
`manage.py queue_consumers_start NAME --max-messages N` running. With
`only_spawn_when_message_available` (and the consumer's own
`only_spawn_when_messages_available`) it spawns only while messages wait. A process
that exits 0 (max messages, idle time, restart) is replaced at once; one that
crashes is replaced after an exponential backoff (1 s, 2 s, 4 s … `max_backoff`).
`stop()` sends SIGTERM to every child, which finishes its message and exits.

`run_once()` is one pass for cron: it counts running instances from the
ConsumerProcess table (so it sees the ones earlier passes started), spawns detached
processes to make up the numbers, and returns.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from queues import conf, processes
from queues import registry as registry_module
from queues.backoff import Backoff
from queues.exceptions import TransportError
from queues.periodic import PeriodicSchedule
from queues.transports import Transport, create_transport

logger = logging.getLogger(__name__)


@dataclass
class Slot:
    """One process place of a consumer: its current child and its crash backoff."""

    consumer: str
    proc: subprocess.Popen | None = None
    crashes: int = 0
    not_before: float = 0.0
    spawned: int = field(default=0)


class Runner:
    """Spawns, watches and respawns consumer processes. Not thread-safe except `stop()`."""

    def __init__(
        self,
        *,
        options: Mapping[str, Any] | None = None,
        registry: registry_module.Registry | None = None,
        env: Mapping[str, str] | None = None,
        manage_py: str | Path | None = None,
    ) -> None:
        self.options = {**conf.runner_options(), **(options or {})}
        self.registry = registry or registry_module.current()
        self.env = dict(env) if env is not None else None
        self.manage_py = str(manage_py or Path(settings.BASE_DIR) / "manage.py")
        self.slots: dict[str, list[Slot]] = {
            name: [Slot(name) for _ in range(count)] for name, count in self.desired().items()
        }
        # A crashed consumer starts again after 1 s, 2 s, 4 s … at most max_backoff.
        max_backoff = float(self.options["max_backoff"])
        self.crash_backoff = Backoff(delay=min(1.0, max_backoff), max_delay=max_backoff)
        self.periodics = PeriodicSchedule(self.registry.periodics_for(None))
        self._transports: dict[str, Transport] = {}
        self._stop = threading.Event()

    # -- what should run -----------------------------------------------------------
    def desired(self) -> dict[str, int]:
        """Return {consumer name: number of processes} from the settings."""
        names = list(self.options["consumers"]) or list(self.registry.consumers)
        for name in names:
            self.registry.consumer(name)  # unknown names fail loudly
        per = self.options["multiple_processes"] or {}
        return {name: max(0, int(per.get(name, 1))) for name in names}

    def command(self, name: str) -> list[str]:
        args = [sys.executable, self.manage_py, "queue_consumers_start", name]
        if self.options["max_messages"]:
            args += ["--max-messages", str(int(self.options["max_messages"]))]
        if self.options["max_idle_time"]:
            args += ["--max-idle-time", str(self.options["max_idle_time"])]
        return args

    def messages_wait(self, name: str) -> bool:
        """Return True if the consumer should be spawned as far as waiting messages go."""
        consumer = self.registry.consumer(name)
        if not (
            self.options["only_spawn_when_message_available"]
            and consumer.only_spawn_when_messages_available
        ):
            return True
        connection = self.registry.consumer_connection(consumer)
        try:
            if connection not in self._transports:
                # One attempt: the next tick tries again, and a long reconnection
                # backoff here would hold up every other consumer and SIGTERM.
                self._transports[connection] = create_transport(connection, fail_fast=True)
            return self._transports[connection].count(consumer.queue) > 0
        except TransportError as exc:
            logger.warning(
                "runner: cannot count queue %s (%s); not spawning %s", consumer.queue, exc, name
            )
            self._drop_transport(connection)
            return False

    # -- supervising ---------------------------------------------------------------
    def spawn(self, name: str, *, detached: bool = False) -> subprocess.Popen:
        logger.info("runner: starting consumer %s", name)
        return subprocess.Popen(
            self.command(name),
            env=self.env,
            cwd=str(Path(self.manage_py).parent),
            start_new_session=detached,
            stdin=subprocess.DEVNULL,
        )

    def tick(self) -> int:
        """Reap exited children and start what is missing; return how many started."""
        now = time.monotonic()
        started = 0
        for name, slots in self.slots.items():
            for slot in slots:
                if slot.proc is not None:
                    code = slot.proc.poll()
                    if code is None:
                        continue
                    self._reaped(slot, code, now)
                if self._stop.is_set() or now < slot.not_before or not self.messages_wait(name):
                    continue
                slot.proc = self.spawn(name)
                slot.spawned += 1
                started += 1
        if self.periodics.tasks:
            self.periodics.run_due()
        return started

    def _reaped(self, slot: Slot, code: int, now: float) -> None:
        slot.proc = None
        if code == 0:
            slot.crashes = 0
            slot.not_before = now
            return
        slot.crashes += 1
        pause = self.crash_backoff.pause_before(slot.crashes + 1)  # its next start
        slot.not_before = now + pause
        logger.warning(
            "runner: consumer %s exited with %s; starting again in %.0fs",
            slot.consumer,
            code,
            pause,
        )

    def run(self) -> None:
        """Supervise until `stop()`; then stop every child gracefully."""
        try:
            while not self._stop.is_set():
                self.tick()
                self._stop.wait(float(self.options["check_interval"]))
        finally:
            self.stop_children()
            for connection in list(self._transports):
                self._drop_transport(connection)

    def stop(self) -> None:
        """Ask `run()` to return (safe from a signal handler)."""
        self._stop.set()

    def children(self) -> list[subprocess.Popen]:
        return [
            slot.proc for slots in self.slots.values() for slot in slots if slot.proc is not None
        ]

    def stop_children(self, timeout: float = 30.0) -> None:
        """SIGTERM every child (each finishes its message), then SIGKILL after `timeout`."""
        children = [p for p in self.children() if p.poll() is None]
        for proc in children:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in children:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("runner: consumer pid %d ignored SIGTERM; killing it", proc.pid)
                proc.kill()
                proc.wait()

    def run_once(self) -> dict[str, int]:
        """One pass for cron: start detached processes up to the configured numbers;
        return {consumer: processes started}."""
        started: dict[str, int] = {}
        for name, count in self.desired().items():
            missing = count - len(processes.running(name))
            if missing <= 0 or not self.messages_wait(name):
                continue
            for _ in range(missing):
                self.spawn(name, detached=True)
            started[name] = missing
        if self.periodics.tasks:
            self.periodics.run_due()
        for connection in list(self._transports):
            self._drop_transport(connection)
        return started

    def _drop_transport(self, connection: str) -> None:
        transport = self._transports.pop(connection, None)
        if transport is not None:
            try:
                transport.close()
            except TransportError:
                logger.debug("runner: closing the %s transport failed", connection, exc_info=True)
