"""How a received batch of deliveries is processed: one by one, in group commits, or as batches.

Every strategy runs handlers inside `transaction.atomic()` together with their
de-duplication records, acknowledges inside that transaction on the db transport
(so that the work and the ack commit together) and right after the commit on amqp,
and hands the runtime the Outcome of each transaction once it has ended
(`runtime.settle`): every delivery is counted once, as what finally became of it.

- `OneByOne`: one transaction per message (`COMMIT_INTERVAL` 0), and the way the
  others find the culprit when their transaction rolls back.
- `GroupCommit`: many messages per transaction, committed every `COMMIT_INTERVAL`
  seconds (one fsync per group instead of per message).
- `Batch`: a `batch_handler` gets the whole batch in one call and one transaction.

A strategy takes the deliveries from the front of the runtime's `pending` list and
removes each once it has been dealt with; whatever is left when it returns or
raises is given back by the runtime.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import DatabaseError, IntegrityError, transaction

from queues.consumer.database import DatabaseUnavailable, database_unreachable
from queues.consumer.outcome import Outcome
from queues.exceptions import LostClaim
from queues.transports import Delivery, Envelope

if TYPE_CHECKING:
    from queues.consumer.loop import ConsumerRuntime

logger = logging.getLogger(__name__)


class Strategy:
    """Processes the deliveries a runtime has in hand."""

    def __init__(self, runtime: ConsumerRuntime) -> None:
        self.runtime = runtime

    def process(self, pending: list[Delivery]) -> None:
        """Deal with the deliveries of `pending`, removing each once it is dealt with."""
        raise NotImplementedError


class OneByOne(Strategy):
    """Each message in its own transaction with its de-duplication record."""

    def process(self, pending: list[Delivery]) -> None:
        runtime = self.runtime
        runtime.dedup.look_up(pending)
        while pending and not runtime.stopping:
            self.run_first(pending)
            runtime.between_transactions()

    def run_first(self, pending: list[Delivery]) -> None:
        """Process the first delivery of `pending`, then remove it and settle its
        Outcome. If this raises, the delivery stays in `pending` (to be given back)."""
        outcome = self.run(pending[0])
        del pending[0]
        self.runtime.settle(outcome)

    def run(self, delivery: Delivery) -> Outcome:
        """Run one message in its own transaction and return its Outcome; ack it inside
        the transaction on the db transport, right after the commit otherwise.

        Raise DatabaseUnavailable (no trial counted) if the handler's database error
        came from the database going away.
        """
        runtime = self.runtime
        transport = runtime.transport
        refused = runtime.failures.refuse(transport, delivery)
        if refused is not None:
            return refused
        envelope = delivery.envelope
        assert envelope is not None
        handler = runtime.handler_for(envelope.topic)
        assert handler is not None
        duplicate = runtime.dedup.is_done(envelope.message_id)
        try:
            with transaction.atomic():
                if not duplicate:
                    handler(envelope)
                    runtime.dedup.record([envelope.message_id])
                if transport.acks_in_transaction:
                    transport.ack([delivery])
        except Exception as exc:
            if isinstance(exc, DatabaseError) and database_unreachable(exc):
                # Not the message's fault: give it back without a trial (retrying now
                # would only race through MAX_TRIALS into the dead letters) and let
                # the loop wait for the database like for a broker.
                raise DatabaseUnavailable(f"the database is unreachable: {exc}") from exc
            return runtime.failures.failed(transport, delivery, exc)
        runtime.dedup.done(envelope.message_id)
        if not duplicate:
            runtime.dedup.recorded([envelope.message_id])
        if not transport.acks_in_transaction:
            transport.ack([delivery])
        if duplicate:
            logger.info(
                "consumer %s: message %s already processed; acknowledged without running",
                runtime.consumer.name,
                envelope.message_id,
            )
            return Outcome(received=1, duplicates=1)
        return Outcome(received=1, processed=1, envelopes=[envelope])


@dataclass
class _Group:
    """The deliveries one group transaction took, and what became of them in it."""

    deliveries: list[Delivery] = field(default_factory=list)
    done: list[Delivery] = field(default_factory=list)  # ran or duplicates: acknowledged
    ran: list[Envelope] = field(default_factory=list)
    duplicates: int = 0
    refused: dict[int, Outcome] = field(default_factory=dict)  # id(delivery): dead-lettered


class _GroupFailed(Exception):
    """A handler failed inside a group; the group rolls back and runs one by one."""


class GroupCommit(Strategy):
    """Many messages per transaction, committed every `commit_interval` seconds.

    If any handler fails, the whole group rolls back and its messages run again one
    by one, each in its own transaction, so that only the failing one is retried.
    (Handlers must be idempotent anyway: a rolled-back run is harmless.)
    """

    def process(self, pending: list[Delivery]) -> None:
        runtime = self.runtime
        runtime.dedup.look_up(pending)
        while pending and not runtime.stopping:
            self.commit_group(pending)
            # A prefetched batch may take long: stay visibly alive and notice a
            # restart request between groups, not only after the whole batch.
            runtime.between_transactions()

    def commit_group(self, pending: list[Delivery]) -> None:
        """Process deliveries from the front of `pending` in one transaction: its
        handlers' work, their de-duplication records in one statement and, on the db
        transport, their acks in another."""
        runtime, dedup = self.runtime, self.runtime.dedup
        transport = runtime.transport
        group = _Group()
        try:
            with transaction.atomic():
                self._run(group, pending)
                fresh = dedup.unrecorded(d.envelope.message_id for d in group.done if d.envelope)
                dedup.record(fresh)
                if group.done and transport.acks_in_transaction:
                    transport.ack(group.done)
        except (_GroupFailed, IntegrityError, LostClaim) as exc:
            rolled_back: Exception = exc
        except BaseException:
            self._after_rollback(group, pending)  # given back with the rest by the runtime
            raise
        else:
            dedup.recorded(fresh)
            if group.done and not transport.acks_in_transaction:
                transport.ack(group.done)
            del pending[: len(group.deliveries)]
            outcome = Outcome(
                received=len(group.done),
                processed=len(group.ran),
                duplicates=group.duplicates,
                envelopes=group.ran,
            )
            for refused in group.refused.values():
                outcome += refused
            runtime.settle(outcome)
            return
        # Outside the `except`: a failure logged below must not carry the group's
        # exception as its context (operators would read two tracebacks for one error).
        reason = rolled_back.__cause__ if isinstance(rolled_back, _GroupFailed) else rolled_back
        logger.info(
            "consumer %s: group of %d rolled back (%s: %s); processing one by one",
            runtime.consumer.name,
            len(group.deliveries),
            type(reason).__name__,
            reason,
        )
        again = self._after_rollback(group, pending)
        dedup.look_up(group.deliveries)  # what the group marked done was undone
        one_by_one = OneByOne(runtime)
        for _ in range(again):
            one_by_one.run_first(pending)

    def _run(self, group: _Group, pending: list[Delivery]) -> None:
        """Run handlers for deliveries from the front of `pending` until
        `commit_interval` seconds have passed; dead-letter those that must never run."""
        runtime, dedup = self.runtime, self.runtime.dedup
        started = time.monotonic()
        for delivery in pending:
            if runtime.stopping:
                break
            group.deliveries.append(delivery)
            refused = runtime.failures.refuse(runtime.transport, delivery)
            if refused is not None:
                group.refused[id(delivery)] = refused
                continue
            envelope = delivery.envelope
            assert envelope is not None
            if dedup.is_done(envelope.message_id):
                group.duplicates += 1
            else:
                handler = runtime.handler_for(envelope.topic)
                assert handler is not None
                try:
                    handler(envelope)
                except Exception as exc:
                    raise _GroupFailed(exc) from exc
                dedup.done(envelope.message_id)
                group.ran.append(envelope)
            group.done.append(delivery)
            if time.monotonic() - started >= runtime.commit_interval:
                break

    def _after_rollback(self, group: _Group, pending: list[Delivery]) -> int:
        """Return how many of the rolled-back group's deliveries (at the front of
        `pending`) are still to be dealt with, dropping the others from `pending`.

        On the db transport their dead-lettering rolled back too: all of them. On amqp
        the dead-lettered ones were published to the dead-letter queue for good: they
        are settled now, once, and not run again.
        """
        if self.runtime.transport.acks_in_transaction:
            return len(group.deliveries)
        again = [d for d in group.deliveries if id(d) not in group.refused]
        pending[: len(group.deliveries)] = again
        for refused in group.refused.values():
            self.runtime.settle(refused)
        return len(again)


class Batch(Strategy):
    """The consumer's `batch_handler` gets every live delivery of the batch in one call,
    in one transaction with their de-duplication records. If the batch fails, its
    messages run one by one to find the culprit."""

    def process(self, pending: list[Delivery]) -> None:
        runtime = self.runtime
        transport = runtime.transport
        live = []
        for delivery in pending:
            refused = runtime.failures.refuse(transport, delivery)
            if refused is None:
                live.append(delivery)
            else:
                runtime.settle(refused)
        pending[:] = live
        if live:
            self._process_live(pending)
        runtime.between_transactions()

    def _process_live(self, pending: list[Delivery]) -> None:
        """Process `pending`, which holds only deliveries that may run."""
        runtime = self.runtime
        ran = self._commit(pending)
        if ran is None:
            # Find the culprit: run the batch's messages one by one instead (outside the
            # `except`, so their own errors are logged without the batch's as context).
            # The batch's look-up of processed ids rolled back with it: look again, so
            # that a redelivered message of a failed batch is skipped, not run again.
            runtime.dedup.look_up(pending)
            one_by_one = OneByOne(runtime)
            for _ in range(len(pending)):
                one_by_one.run_first(pending)
            return
        if not runtime.transport.acks_in_transaction:
            runtime.transport.ack(pending)
        outcome = Outcome(
            received=len(pending),
            processed=len(ran),
            duplicates=len(pending) - len(ran),
            envelopes=ran,
        )
        pending.clear()
        runtime.settle(outcome)

    def _commit(self, live: list[Delivery]) -> list[Envelope] | None:
        """Run the batch handler on the messages of `live` not processed yet, in one
        transaction; return their envelopes, or None if the transaction rolled back."""
        runtime = self.runtime
        transport = runtime.transport
        batch_handler = runtime.batch_handler
        assert batch_handler is not None
        try:
            with transaction.atomic():
                processed = runtime.dedup.processed(live)
                fresh: dict[str, Envelope] = {}
                for delivery in live:
                    assert delivery.envelope is not None
                    if delivery.envelope.message_id not in processed:
                        fresh.setdefault(delivery.envelope.message_id, delivery.envelope)
                if fresh:
                    batch_handler(list(fresh.values()))
                    runtime.dedup.record(fresh)
                if transport.acks_in_transaction:
                    transport.ack(live)
        except Exception as exc:
            logger.warning(
                "consumer %s: batch of %d failed (%s); processing one by one",
                runtime.consumer.name,
                len(live),
                exc,
            )
            return None
        return list(fresh.values())
