"""The consumer's loop: receive, hand each batch to a strategy, stay alive and reconnect.

    ConsumerRuntime("async.operations.all", max_messages=1000).run()

The loop receives batches of deliveries from the transport and hands each to a
processing strategy (strategies.py), which runs the handlers and settles what
became of every delivery; the loop adds each batch's Outcome to the RunResult once.
Between receives it heartbeats (ConsumerProcess), notices restart requests, runs
the consumer's Periodic tasks, and reconnects with a backoff when the transport (or
the database) fails. Deliveries it holds but will not process (stopping, a failure
midway) are given back at once. `stop()` (a signal handler calls it) lets the
current message finish.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, close_old_connections, connection

from queues import processes
from queues import registry as registry_module
from queues.backoff import Backoff
from queues.conf import queue_settings
from queues.consumer.database import DatabaseUnavailable, WriterPause, database_unreachable
from queues.consumer.dedup import Dedup
from queues.consumer.failures import FailurePolicy
from queues.consumer.hooks import HookSpec, load_hooks
from queues.consumer.outcome import Outcome
from queues.consumer.strategies import Batch, GroupCommit, OneByOne, Strategy
from queues.declarations import Consumer, resolve_handler
from queues.exceptions import TransportError
from queues.models import ConsumerProcess
from queues.periodic import PeriodicSchedule
from queues.transports import Delivery, Envelope, Transport, create_transport

logger = logging.getLogger(__name__)

# Waits between attempts after a transport failure (a broker restart, the database
# going away): 0.5 s, 1 s, 2 s … 30 s, then 30 s for as long as it takes.
RECONNECT_BACKOFF = Backoff(delay=0.5, max_delay=30.0)


@dataclass
class RunResult:
    """How a run ended: counts and the reason (max_messages, max_idle_time, stopped, restart)."""

    received: int = 0  # messages taken from the queue and dealt with, whatever their outcome
    processed: int = 0  # handler ran and committed
    duplicates: int = 0  # already processed: acknowledged without running
    failures: int = 0  # handler raised (retried or dead-lettered)
    dead: int = 0  # dead-lettered
    reason: str = ""

    def add(self, outcome: Outcome) -> None:
        """Count a batch's Outcome in the run's totals (once per batch)."""
        self.received += outcome.received
        self.processed += outcome.processed
        self.duplicates += outcome.duplicates
        self.failures += outcome.failures
        self.dead += outcome.dead


class ConsumerRuntime:
    """Runs one consumer in the calling thread. Not thread-safe except `stop()`.

    `hooks` are attached to this runtime after QUEUES["CONSUMER_HOOKS"] and the
    consumer's declared ones (see hooks.py); the options default to the consumer's
    declaration and the settings.
    """

    def __init__(
        self,
        consumer: str | Consumer,
        *,
        transport: Transport | None = None,
        max_messages: int | None = None,
        batch_size: int | None = None,
        max_idle_time: float | None = None,
        sleep: float | None = None,
        single_instance: bool = False,
        register: bool = True,
        heartbeat_interval: float | None = None,
        max_trials: int | None = None,
        commit_interval: float | None = None,
        registry: registry_module.Registry | None = None,
        hooks: Sequence[HookSpec] = (),
    ) -> None:
        self.registry = registry or registry_module.current()
        self.consumer = (
            consumer if isinstance(consumer, Consumer) else self.registry.consumer(consumer)
        )
        self.connection = self.registry.consumer_connection(self.consumer)
        self._transport = transport
        self._owns_transport = transport is None
        self.max_messages = max_messages if max_messages is not None else self.consumer.max_messages
        self.batch_size = max(1, batch_size if batch_size is not None else self.consumer.batch_size)
        self.max_idle_time = (
            max_idle_time if max_idle_time is not None else self.consumer.max_idle_time
        )
        self.sleep = float(sleep if sleep is not None else self.consumer.sleep)
        self.single_instance = single_instance
        self.register = register
        self.heartbeat_interval = float(
            heartbeat_interval
            if heartbeat_interval is not None
            else queue_settings.HEARTBEAT_INTERVAL
        )
        self.max_trials = int(max_trials if max_trials is not None else queue_settings.MAX_TRIALS)
        self.commit_interval = float(
            commit_interval if commit_interval is not None else queue_settings.COMMIT_INTERVAL
        )
        self.periodics = PeriodicSchedule(self.registry.periodics_for(self.consumer.name))
        self.batch_handler = self._batch_handler()
        self.dedup = Dedup(self.consumer.name)
        self.failures = FailurePolicy(
            self.consumer.name, self.max_trials, lambda topic: self.handler_for(topic) is not None
        )
        # QUEUES["CONSUMER_HOOKS"], the declaration's and `hooks`, one instance per runtime.
        self.hooks = load_hooks(self.consumer, hooks)
        self.result = RunResult()
        self.process: ConsumerProcess | None = None
        self._stop = threading.Event()
        self._stop_reason = "stopped"
        self._next_tick = 0.0  # when the next heartbeat is due (monotonic)
        self.writer_pause = WriterPause(self._stop)
        self._pending: list[Delivery] = []  # received, not dealt with yet
        self._outcome: Outcome | None = None  # of the batch in hand
        # Claims (db transport) that could not be given back while the database was
        # down: given back as soon as it answers, rather than after the visibility timeout.
        self._unreleased: list[Delivery] = []

    # -- control -------------------------------------------------------------------
    def stop(self, reason: str = "stopped") -> None:
        """Ask the loop to exit after the current message (safe from signals and threads)."""
        self._stop_reason = reason
        self._stop.set()
        transport = self._transport
        if transport is not None:
            transport.interrupt()  # e.g. a RabbitMQ reconnection backoff of ~28 s

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            self._transport = create_transport(self.connection)
        return self._transport

    # -- the loop ------------------------------------------------------------------
    def run(self) -> RunResult:
        """Consume until max_messages, max_idle_time, stop() or a restart request."""
        if self.register:
            self.process = processes.register(
                self.consumer.name, self.connection, single_instance=self.single_instance
            )
        logger.info(
            "consumer %s started on queue %s (%s)",
            self.consumer.name,
            self.consumer.queue,
            self.connection,
        )
        try:
            self.result.reason = self._loop()
        finally:
            self._pending[:0], self._unreleased = self._unreleased, []
            self._release_pending()
            if self._owns_transport and self._transport is not None:
                self._close_transport()
            if self.process is not None:
                processes.unregister(
                    self.process,
                    self.result.reason or "crashed",
                    self.result.processed,
                    self.result.failures,
                )
        logger.info(
            "consumer %s exits (%s): %d processed, %d duplicates, %d failures, %d dead-lettered",
            self.consumer.name,
            self.result.reason,
            self.result.processed,
            self.result.duplicates,
            self.result.failures,
            self.result.dead,
        )
        return self.result

    def _loop(self) -> str:
        last_activity = time.monotonic()
        failures = 0  # consecutive transport failures
        while True:
            self._tick_if_due()
            if self.stopping:
                return self._stop_reason
            if self.periodics.tasks and not self.periodics.seconds_until_next():
                started = time.monotonic()
                self.periodics.run_due()
                # Time spent on periodic tasks is work, not waiting for a message: it
                # does not count towards max_idle_time.
                last_activity += time.monotonic() - started
            remaining = self._remaining()
            if remaining == 0:
                return "max_messages"
            idle_left = (
                self.max_idle_time - (time.monotonic() - last_activity)
                if self.max_idle_time is not None
                else None
            )
            if idle_left is not None and idle_left <= 0:
                return "max_idle_time"
            timeout = min(
                self.sleep,
                max(0.0, self._next_tick - time.monotonic()),
                self.periodics.seconds_until_next(),
                idle_left if idle_left is not None else float("inf"),
            )
            try:
                if self._unreleased:
                    self.transport.release(self._unreleased)
                    self._unreleased = []
                deliveries = self.transport.receive(
                    self.consumer.queue, self._want(remaining), timeout
                )
                failures = 0
            except TransportError as exc:
                failures += 1
                self._reconnect(exc, failures)
                continue
            if not deliveries:
                self.writer_pause.idle()
                continue
            last_activity = time.monotonic()
            try:
                self._handle(deliveries)
            except TransportError as exc:
                failures += 1
                self._reconnect(exc, failures)
            last_activity = time.monotonic()

    def _remaining(self) -> int | None:
        if not self.max_messages:
            return None
        return max(0, self.max_messages - self.result.received)

    def _want(self, remaining: int | None) -> int:
        if self.batch_size > 1:
            want = self.batch_size
        elif self.connection == "db":
            want = queue_settings.DB_CLAIM_BATCH
        else:
            want = queue_settings.AMQP_PREFETCH
        return max(1, min(want, remaining) if remaining is not None else want)

    def _tick_if_due(self) -> None:
        if time.monotonic() >= self._next_tick:
            self._tick()
            self._next_tick = time.monotonic() + self.heartbeat_interval

    def _tick(self) -> None:
        """Heartbeat, notice a restart request, drop stale database connections."""
        if not connection.in_atomic_block:  # a test (or caller) may hold a transaction
            close_old_connections()
        if self.process is None:
            return
        processed, failures = self.result.processed, self.result.failures
        if self._outcome is not None:  # between the transactions of a batch
            processed, failures = (
                processed + self._outcome.processed,
                failures + self._outcome.failures,
            )
        try:
            if processes.heartbeat(self.process, processed, failures):
                self.stop("restart")
        except DatabaseError as exc:
            # The database is down or restarting: one line per heartbeat, no traceback.
            logger.warning("consumer %s: heartbeat failed: %s", self.consumer.name, exc)
        except Exception:
            # A missed heartbeat is not worth dying for; the next tick tries again.
            logger.exception("consumer %s: heartbeat failed", self.consumer.name)

    def _reconnect(self, exc: Exception, failures: int) -> None:
        """Wait before the next attempt after `failures` consecutive transport failures."""
        if self.stopping:
            return  # the loop exits next; nothing to reconnect for
        pause = RECONNECT_BACKOFF.pause_before(failures + 1)
        logger.warning(
            "consumer %s: transport failed (%s); reconnecting in %.1fs",
            self.consumer.name,
            exc,
            pause,
        )
        if self._owns_transport and self._transport is not None and not self._unreleased:
            self._close_transport()
            self._transport = None
        if not connection.in_atomic_block:
            close_old_connections()
        self._stop.wait(pause)

    def _close_transport(self) -> None:
        assert self._transport is not None
        try:
            self._transport.close()
        except TransportError:
            logger.debug("closing the transport of %s failed", self.consumer.name, exc_info=True)

    def _release_pending(self) -> None:
        """Give back the deliveries in hand that were not dealt with, without a trial."""
        pending, self._pending = self._pending, []
        if pending and self._transport is not None:
            try:
                self._transport.release(pending)
            except TransportError:
                if self._transport.acks_in_transaction:  # claims in the database outlive the error
                    self._unreleased.extend(pending)
                logger.warning(
                    "consumer %s: could not release %d message(s); they come back after the "
                    "visibility timeout",
                    self.consumer.name,
                    len(pending),
                )

    # -- one received batch --------------------------------------------------------
    def _handle(self, deliveries: list[Delivery]) -> None:
        """Process one received batch with the strategy of this consumer; give back
        what was not dealt with; add the batch's Outcome to the result once. The hooks
        hear of the batch before and after, whatever happens in between."""
        self.hooks.before_process(self, list(deliveries))
        outcome = self._outcome = Outcome()
        self._pending = list(deliveries)
        started = time.monotonic()
        try:
            try:
                self._strategy().process(self._pending)
            except DatabaseError as exc:
                if not database_unreachable(exc):
                    raise
                raise DatabaseUnavailable(f"the database is unreachable: {exc}") from exc
        finally:
            self._release_pending()
            self.dedup.forget()
            self._outcome = None
            outcome.released = len(deliveries) - outcome.received
            outcome.seconds = time.monotonic() - started
            self.result.add(outcome)
            self.hooks.after_process(self, outcome)

    def _strategy(self) -> Strategy:
        if self.batch_size > 1 and self.batch_handler is not None:
            return Batch(self)  # it looks up processed ids itself, inside its transaction
        if self.commit_interval > 0:
            return GroupCommit(self)
        return OneByOne(self)

    def settle(self, outcome: Outcome) -> None:
        """Count the Outcome of one transaction of the batch in hand, and tell the hooks
        of its dead letters. Called by the strategies once that transaction has ended,
        outside any transaction of theirs."""
        assert self._outcome is not None, "settle() is called while a batch is in hand"
        self._outcome += outcome
        for delivery, reason in outcome.dead_letters:
            self.hooks.after_dead_letter(self, delivery, reason)

    def between_transactions(self) -> None:
        """Called by the strategies between two transactions of a batch: heartbeat and
        notice a restart request if due, and let other SQLite writers in."""
        self._tick_if_due()
        self.writer_pause.after_transaction()

    # -- handlers ------------------------------------------------------------------
    def handler_for(self, topic: str) -> Callable[[Envelope], Any] | None:
        """Return the callable that handles one message of `topic`, or None: the
        consumer's handler, else the topic's, else the batch handler given a list of one."""
        if self.consumer.handler is not None:
            handler = resolve_handler(self.consumer.handler)
        else:
            declared = self.registry.topic(topic)
            handler = resolve_handler(declared.handler) if declared is not None else None
        if handler is None and self.batch_handler is not None:
            batch = self.batch_handler
            return lambda envelope: batch([envelope])
        if handler is not None and getattr(handler, "batch", False):
            return lambda envelope: handler([envelope])
        return handler

    def _batch_handler(self) -> Callable[[list[Envelope]], Any] | None:
        if self.consumer.batch_handler is not None:
            return resolve_handler(self.consumer.batch_handler)
        handler = resolve_handler(self.consumer.handler)
        if handler is not None and getattr(handler, "batch", False):
            return handler
        return None


def run_consumer(name: str, **options: Any) -> RunResult:
    """Run the consumer `name` in this thread until it stops; see ConsumerRuntime."""
    return ConsumerRuntime(name, **options).run()
