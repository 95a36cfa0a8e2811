"""Consumers inside the server process (`manage.py serve`), for the embedded default.

Every consumer whose queue is on the db transport runs in a thread of its own, with
its own database connection (closed when the thread ends); Periodic tasks attached to
no consumer run in one more thread. A restart request (`queue_consumers_restart`)
makes a thread start a fresh runtime: there is no new code to pick up in-process.
"""

from __future__ import annotations

import logging
import threading

from django.db import connection

from queues import registry as registry_module
from queues.backoff import Backoff
from queues.conf import queue_settings
from queues.consumer import ConsumerRuntime
from queues.declarations import Consumer
from queues.periodic import PeriodicSchedule

logger = logging.getLogger(__name__)

# A crashed embedded consumer starts again after 5 s, however often it crashed: the
# server stays up, and a consumer that keeps crashing logs one traceback per 5 s.
CRASH_BACKOFF = Backoff(delay=5.0, max_delay=5.0)


class EmbeddedConsumers:
    """Handle on the consumer threads; `stop()` lets each finish its message and joins them."""

    def __init__(self, registry: registry_module.Registry | None = None) -> None:
        self.registry = registry or registry_module.current()
        self.threads: list[threading.Thread] = []
        self._runtimes: dict[str, ConsumerRuntime] = {}
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def start(self) -> EmbeddedConsumers:
        for consumer in self.registry.consumers.values():
            if self.registry.consumer_connection(consumer) == "db":
                self._spawn(f"consumer {consumer.name}", self._consume, consumer)
        periodics = self.registry.periodics_for(None)
        if periodics:
            self._spawn("periodic tasks", self._periodics, PeriodicSchedule(periodics))
        return self

    @property
    def consumers(self) -> list[str]:
        return [
            t.name.removeprefix("consumer ") for t in self.threads if t.name.startswith("consumer ")
        ]

    def stop(self, timeout: float = 10.0) -> None:
        """Ask every thread to stop after its current message; wait up to `timeout` seconds."""
        self._stopping.set()
        with self._lock:
            for runtime in self._runtimes.values():
                runtime.stop()
        for thread in self.threads:
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("embedded %s did not stop within %.0fs", thread.name, timeout)

    def _spawn(self, name: str, target, *args) -> None:
        thread = threading.Thread(target=self._closing(target), args=args, name=name, daemon=True)
        self.threads.append(thread)
        thread.start()

    @staticmethod
    def _closing(target):
        def run(*args) -> None:
            try:
                target(*args)
            finally:
                connection.close()

        return run

    def _consume(self, consumer: Consumer) -> None:
        crashes = 0
        while not self._stopping.is_set():
            runtime = ConsumerRuntime(consumer, registry=self.registry)
            with self._lock:
                self._runtimes[consumer.name] = runtime
                if self._stopping.is_set():
                    return
            try:
                runtime.run()
            except Exception:
                crashes += 1
                pause = CRASH_BACKOFF.pause_before(crashes + 1)  # its next start
                logger.exception(
                    "embedded consumer %s crashed; starting again in %.0fs", consumer.name, pause
                )
                self._stopping.wait(pause)
            else:
                crashes = 0

    def _periodics(self, schedule: PeriodicSchedule) -> None:
        while not self._stopping.is_set():
            schedule.run_due()
            self._stopping.wait(min(1.0, schedule.seconds_until_next()))


def start_embedded_consumers(registry: registry_module.Registry | None = None) -> EmbeddedConsumers:
    """Start the db-transport consumers and unattached periodic tasks in threads of this
    process (unless QUEUES["EMBEDDED_CONSUMERS"] is off); return a handle with `.stop()`."""
    handle = EmbeddedConsumers(registry)
    if not queue_settings.EMBEDDED_CONSUMERS:
        logger.info("embedded consumers are off (QUEUES['EMBEDDED_CONSUMERS'])")
        return handle
    handle.start()
    logger.info("embedded consumers: %s", ", ".join(handle.consumers) or "none on the db transport")
    return handle
