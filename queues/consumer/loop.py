"""The consumer runtime: run one declared consumer until told to stop.

    ConsumerRuntime("async.operations.all", max_messages=1000).run()

For each delivery: an undecodable message, or one whose topic this consumer has no
handler for, is dead-lettered with a logged reason; a message_id this consumer has
already processed is acknowledged without running; otherwise the handler runs in
`transaction.atomic()` together with the de-duplication record, and the message is
acknowledged after the commit (inside it on the db transport, so work and ack commit
together). A handler exception rolls back and the message is retried, up to
QUEUES["MAX_TRIALS"], then dead-lettered; the consumer keeps going.

The loop also heartbeats (ConsumerProcess), notices restart requests, runs the
consumer's Periodic tasks, and reconnects with a bounded backoff when the transport
fails. `stop()` (a signal handler calls it) lets the current message finish.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, IntegrityError, close_old_connections, connection, transaction

from queues import conf, processes
from queues import registry as registry_module
from queues.backoff import Backoff
from queues.consumer.database import DatabaseUnavailable, WriterPause, database_unreachable
from queues.consumer.dedup import Dedup
from queues.declarations import Consumer, resolve_handler
from queues.exceptions import LostClaim, TransportError
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

    received: int = 0  # messages taken from the queue, whatever their outcome
    processed: int = 0  # handler ran and committed
    duplicates: int = 0  # already processed: acknowledged without running
    failures: int = 0  # handler raised (retried or dead-lettered)
    dead: int = 0  # dead-lettered
    reason: str = ""


class ConsumerRuntime:
    """Runs one consumer in the calling thread. Not thread-safe except `stop()`."""

    def __init__(
        self,
        consumer: str | Consumer,
        *,
        transport: Transport | None = None,
        max_messages: int | None = None,
        batch_size: int = 1,
        max_idle_time: float | None = None,
        sleep: float | None = None,
        single_instance: bool = False,
        register: bool = True,
        heartbeat_interval: float | None = None,
        max_trials: int | None = None,
        commit_interval: float | None = None,
        registry: registry_module.Registry | None = None,
    ) -> None:
        self.registry = registry or registry_module.current()
        self.consumer = consumer if isinstance(consumer, Consumer) else self.registry.consumer(consumer)
        self.connection = self.registry.consumer_connection(self.consumer)
        self._transport = transport
        self._owns_transport = transport is None
        self.max_messages = max_messages if max_messages is not None else self.consumer.max_messages
        self.batch_size = max(1, batch_size)
        self.max_idle_time = max_idle_time if max_idle_time is not None else self.consumer.max_idle_time
        self.sleep = float(sleep if sleep is not None else self.consumer.sleep)
        self.single_instance = single_instance
        self.register = register
        self.heartbeat_interval = float(
            heartbeat_interval if heartbeat_interval is not None else conf.get("HEARTBEAT_INTERVAL")
        )
        self.max_trials = int(max_trials if max_trials is not None else conf.get("MAX_TRIALS"))
        self.commit_interval = float(
            commit_interval if commit_interval is not None else conf.get("COMMIT_INTERVAL")
        )
        self.periodics = PeriodicSchedule(self.registry.periodics_for(self.consumer.name))
        self.batch_handler = self._batch_handler()
        self.result = RunResult()
        self.process: ConsumerProcess | None = None
        self._stop = threading.Event()
        self._stop_reason = "stopped"
        self._next_tick = 0.0  # when the next heartbeat is due (monotonic)
        self.writer_pause = WriterPause(self._stop)
        self._pending: list[Delivery] = []
        # Claims (db transport) that could not be given back while the database was
        # down: given back as soon as it answers, rather than after the visibility timeout.
        self._unreleased: list[Delivery] = []
        self.dedup = Dedup(self.consumer.name)

    # -- control -------------------------------------------------------------------
    def stop(self, reason: str = "stopped") -> None:
        """Ask the loop to exit after the current message (safe from signal handlers and threads)."""
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
        logger.info("consumer %s started on queue %s (%s)", self.consumer.name, self.consumer.queue, self.connection)
        try:
            self.result.reason = self._loop()
        finally:
            self._pending[:0], self._unreleased = self._unreleased, []
            self._release_pending()
            if self._owns_transport and self._transport is not None:
                self._close_transport()
            if self.process is not None:
                processes.unregister(
                    self.process, self.result.reason or "crashed", self.result.processed, self.result.failures
                )
        logger.info(
            "consumer %s exits (%s): %d processed, %d duplicates, %d failures, %d dead-lettered",
            self.consumer.name, self.result.reason, self.result.processed,
            self.result.duplicates, self.result.failures, self.result.dead,
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
                self.periodics.run_due()
            remaining = self._remaining()
            if remaining == 0:
                return "max_messages"
            idle_left = (
                self.max_idle_time - (time.monotonic() - last_activity) if self.max_idle_time is not None else None
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
                deliveries = self.transport.receive(self.consumer.queue, self._want(remaining), timeout)
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
                try:
                    self._handle(deliveries)
                except DatabaseError as exc:
                    if not database_unreachable():
                        raise
                    raise DatabaseUnavailable(f"the database is unreachable: {exc}") from exc
            except TransportError as exc:
                self._release_pending()
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
            want = int(conf.get("DB_CLAIM_BATCH"))
        else:
            want = int(conf.get("AMQP_PREFETCH"))
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
        try:
            if processes.heartbeat(self.process, self.result.processed, self.result.failures):
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
        logger.warning("consumer %s: transport failed (%s); reconnecting in %.1fs", self.consumer.name, exc, pause)
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
        pending, self._pending = self._pending, []
        if pending and self._transport is not None:
            try:
                self._transport.release(pending)
            except TransportError:
                if self._transport.acks_in_transaction:  # claims in the database outlive the error
                    self._unreleased.extend(pending)
                logger.warning("consumer %s: could not release %d message(s); they come back after the "
                               "visibility timeout", self.consumer.name, len(pending))

    def _release_quietly(self, deliveries: list[Delivery]) -> None:
        try:
            self.transport.release(deliveries)
        except TransportError:
            if self.transport.acks_in_transaction:  # claims in the database outlive the error
                self._unreleased.extend(deliveries)
            logger.debug("consumer %s: releasing failed; redelivered later", self.consumer.name, exc_info=True)

    # -- handling ------------------------------------------------------------------
    def _handle(self, deliveries: list[Delivery]) -> None:
        if self.batch_size > 1 and self.batch_handler is not None:
            # The batch path looks up processed ids itself, inside its transaction.
            self.result.received += len(deliveries)
            self._pending = list(deliveries)  # released if the batch fails midway
            self._process_batch(self._pending)
            self._pending = []
            self.writer_pause.after_transaction()
            return
        self._pending = list(deliveries)
        self.dedup.look_up(deliveries)
        while self._pending and not self.stopping:
            self._process_group()
            # A prefetched batch may take long: stay visibly alive and notice a
            # restart request between groups, not only after the whole batch.
            self._tick_if_due()
            self.writer_pause.after_transaction()
        self._release_pending()

    def _process_group(self) -> None:
        """Process pending messages in one transaction, committed every
        `commit_interval` seconds: one commit (one fsync) per group instead of per
        message, and the group's de-duplication records and db acks in one statement
        each. If any handler fails, the whole group rolls back and its messages run
        again one by one, each in its own transaction, so only the failing one is
        retried. (Handlers must be idempotent anyway: a rolled-back run is harmless.)"""
        if self.commit_interval <= 0:
            delivery = self._pending.pop(0)
            self.result.received += 1
            self._process_one(delivery)
            return
        group: list[Delivery] = []
        again: list[Delivery] | None = None
        done: list[Delivery] = []
        rejected: set[int] = set()
        duplicates = 0
        started = time.monotonic()
        try:
            with transaction.atomic():
                while self._pending and not self.stopping:
                    delivery = self._pending.pop(0)
                    group.append(delivery)
                    if self._reject(delivery):
                        rejected.add(id(delivery))
                        continue
                    envelope = delivery.envelope
                    assert envelope is not None
                    if self.dedup.is_done(envelope.message_id):
                        duplicates += 1
                    else:
                        handler = self._handler_for(envelope.topic)
                        assert handler is not None
                        try:
                            handler(envelope)
                        except Exception as exc:
                            raise _GroupFailed(exc) from exc
                        self.dedup.done(envelope.message_id)
                    done.append(delivery)
                    if time.monotonic() - started >= self.commit_interval:
                        break
                fresh = self.dedup.unrecorded(d.envelope.message_id for d in done if d.envelope)
                self.dedup.record(fresh)
                if done and self.transport.acks_in_transaction:
                    self.transport.ack(done)
        except (_GroupFailed, IntegrityError, LostClaim) as exc:
            # Nothing of the group was committed. Run it again message by message.
            reason = exc.__cause__ if isinstance(exc, _GroupFailed) else exc
            logger.info("consumer %s: group of %d rolled back (%s: %s); processing one by one",
                        self.consumer.name, len(group), type(reason).__name__, reason)
            if self.transport.acks_in_transaction:
                self.result.dead -= len(rejected)  # their dead-lettering rolled back too
                again = group
            else:
                again = [d for d in group if id(d) not in rejected]  # dead-lettered for good
        except Exception:
            self._pending[:0] = group  # rolled back: give them back with the rest
            raise
        if again is not None:
            # Outside the `except`: a failure logged below must not carry the group's
            # exception as its context (operators would read two tracebacks for one error).
            # The messages go back in hand first, so that if the database is gone they
            # are given back with the rest instead of waiting out a visibility timeout.
            self._pending[:0] = again
            self.result.received += len(group) - len(again)
            self.dedup.look_up(group)
            for _ in range(len(again)):
                self.result.received += 1
                self._process_one(self._pending.pop(0))
            return
        self.result.received += len(group)
        self.dedup.recorded(fresh)
        self.result.duplicates += duplicates
        self.result.processed += len(done) - duplicates
        if done and not self.transport.acks_in_transaction:
            self.transport.ack(done)

    def _handler_for(self, topic: str) -> Callable[[Envelope], Any] | None:
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

    def _reject(self, delivery: Delivery) -> bool:
        """Dead-letter what must never run; return True if it did."""
        envelope = delivery.envelope
        if envelope is None:
            raw = (delivery.raw or b"")[:200]
            self._dead_letter(delivery, f"undecodable message: {raw!r}")
            return True
        if self._handler_for(envelope.topic) is None:
            self._dead_letter(delivery, f"topic {envelope.topic!r} is not handled by consumer {self.consumer.name!r}")
            return True
        if delivery.trials >= self.max_trials:
            self._dead_letter(delivery, f"gave up after {delivery.trials} trials")
            return True
        return False

    def _process_one(self, delivery: Delivery) -> None:
        """Run one message in its own transaction with its de-duplication record; ack
        it inside the transaction on the db transport, right after the commit otherwise."""
        if self._reject(delivery):
            return
        envelope = delivery.envelope
        assert envelope is not None
        handler = self._handler_for(envelope.topic)
        assert handler is not None
        transport = self.transport
        duplicate = self.dedup.is_done(envelope.message_id)
        try:
            with transaction.atomic():
                if not duplicate:
                    handler(envelope)
                    self.dedup.record([envelope.message_id])
                if transport.acks_in_transaction:
                    transport.ack([delivery])
        except Exception as exc:
            if isinstance(exc, DatabaseError) and database_unreachable():
                # Not the message's fault: give it back without a trial (retrying now
                # would only race through MAX_TRIALS into the dead letters) and let
                # the loop wait for the database like for a broker.
                self.result.received -= 1
                self._release_quietly([delivery])
                raise DatabaseUnavailable(f"the database is unreachable: {exc}") from exc
            self._failed(delivery, exc)
            return
        self.dedup.done(envelope.message_id)
        self.dedup.recorded([envelope.message_id])
        if not transport.acks_in_transaction:
            transport.ack([delivery])
        if duplicate:
            self.result.duplicates += 1
            logger.info("consumer %s: message %s already processed; acknowledged without running",
                        self.consumer.name, envelope.message_id)
        else:
            self.result.processed += 1

    def _process_batch(self, deliveries: Sequence[Delivery]) -> None:
        live = [d for d in deliveries if not self._reject(d)]
        if not live:
            return
        assert self.batch_handler is not None
        transport = self.transport
        name = self.consumer.name
        failed = False
        try:
            with transaction.atomic():
                done = self.dedup.processed(live)
                fresh: dict[str, Envelope] = {}
                for d in live:
                    assert d.envelope is not None
                    if d.envelope.message_id not in done:
                        fresh.setdefault(d.envelope.message_id, d.envelope)
                if fresh:
                    self.batch_handler(list(fresh.values()))
                    self.dedup.record(fresh)
                if transport.acks_in_transaction:
                    transport.ack(live)
        except Exception as exc:
            logger.warning("consumer %s: batch of %d failed (%s); processing one by one", name, len(live), exc)
            failed = True
        if failed:
            # Find the culprit: run the batch's messages one by one instead (outside the
            # `except`, so their own errors are logged without the batch's as context).
            # The batch's look-up of processed ids rolled back with it: look again, so
            # that a redelivered message of a failed batch is skipped, not run again.
            self.dedup.look_up(live)
            for delivery in live:
                self._process_one(delivery)
            return
        if not transport.acks_in_transaction:
            transport.ack(live)
        self.result.processed += len(fresh)
        self.result.duplicates += len(live) - len(fresh)

    def _failed(self, delivery: Delivery, exc: Exception) -> None:
        envelope = delivery.envelope
        assert envelope is not None
        self.result.failures += 1
        reason = f"{type(exc).__name__}: {exc}"
        logger.error(
            "consumer %s: message %s (topic %s, trial %d of %d) failed: %s",
            self.consumer.name, envelope.message_id, envelope.topic,
            delivery.trials + 1, self.max_trials, reason,
            exc_info=not isinstance(exc, TransportError),
        )
        if delivery.trials + 1 >= self.max_trials:
            self._dead_letter(delivery, f"failed {delivery.trials + 1} times; last error: {reason}")
        else:
            self.transport.retry(delivery, reason)

    def _dead_letter(self, delivery: Delivery, reason: str) -> None:
        envelope = delivery.envelope
        logger.error(
            "consumer %s: dead-lettering message %s from %s: %s",
            self.consumer.name, envelope.message_id if envelope else "?", delivery.queue, reason,
        )
        self.transport.dead_letter(delivery, reason)
        self.result.dead += 1
        if envelope is not None and self.consumer.on_dead_letter is not None:
            self._notify_dead_letter(envelope, reason)

    def _notify_dead_letter(self, envelope: Envelope, reason: str) -> None:
        """Tell the consumer's `on_dead_letter` hook; its failure must not stop the loop."""
        hook = resolve_handler(self.consumer.on_dead_letter)
        assert hook is not None  # only called when the consumer declares one
        try:
            with transaction.atomic():
                hook(envelope, reason)
        except Exception:  # the message is safe in the dead letters whatever the hook does
            logger.exception(
                "consumer %s: on_dead_letter hook failed for message %s",
                self.consumer.name, envelope.message_id,
            )


class _GroupFailed(Exception):
    """A handler failed inside a group; the group rolls back and runs one by one."""


def run_consumer(name: str, **options: Any) -> RunResult:
    """Run the consumer `name` in this thread until it stops; see ConsumerRuntime."""
    return ConsumerRuntime(name, **options).run()
