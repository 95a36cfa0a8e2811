"""The failure policy: what becomes of a message that failed, or that must never run.

One object decides, and applies the decision (as procrastinate's RetryStrategy does):

- a delivery that cannot be decoded, whose topic the consumer has no handler for,
  or that has already been delivered `max_trials` times is dead-lettered at once,
  never run (`refuse`);
- a handler's error costs a trial: the message is retried (delivered again with
  `trials` + 1) until it has failed `max_trials` times, then dead-lettered with
  the last error (`failed`).

A database that went away is not the message's fault: the strategies give such a
message back without a trial (see `database.DatabaseUnavailable`) and never ask here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from queues.consumer.outcome import Outcome
from queues.exceptions import TransportError
from queues.transports import Delivery, Transport

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    """What to do with a message that is not processed now: retry it, or dead-letter it."""

    dead_letter: bool
    reason: str


class FailurePolicy:
    """Retry or dead-letter the messages of one consumer, by its `max_trials`.

    `handles(topic)` tells whether the consumer has a handler for a topic (read at
    each delivery: the consumer's handlers may be swapped in tests).
    """

    def __init__(self, consumer: str, max_trials: int, handles: Callable[[str], bool]) -> None:
        self.consumer = consumer
        self.max_trials = max_trials
        self.handles = handles

    # -- deciding ------------------------------------------------------------------
    def screen(self, delivery: Delivery) -> Decision | None:
        """Return the decision to dead-letter a delivery that must never run, or None
        if it may run."""
        envelope = delivery.envelope
        if envelope is None:
            raw = (delivery.raw or b"")[:200]
            return Decision(dead_letter=True, reason=f"undecodable message: {raw!r}")
        if not self.handles(envelope.topic):
            return Decision(
                dead_letter=True,
                reason=f"topic {envelope.topic!r} is not handled by consumer {self.consumer!r}",
            )
        if delivery.trials >= self.max_trials:
            return Decision(dead_letter=True, reason=f"gave up after {delivery.trials} trials")
        return None

    def decide(self, delivery: Delivery, error: str) -> Decision:
        """Return what to do after the handler failed on `delivery` with `error`:
        retry it, or dead-letter it if this was its last trial."""
        trial = delivery.trials + 1
        if trial >= self.max_trials:
            return Decision(dead_letter=True, reason=f"failed {trial} times; last error: {error}")
        return Decision(dead_letter=False, reason=error)

    # -- applying ------------------------------------------------------------------
    def refuse(self, transport: Transport, delivery: Delivery) -> Outcome | None:
        """Dead-letter `delivery` if it must never run and return the Outcome; return
        None (and do nothing) if it may run."""
        decision = self.screen(delivery)
        if decision is None:
            return None
        return self.apply(transport, delivery, decision)

    def failed(self, transport: Transport, delivery: Delivery, exc: Exception) -> Outcome:
        """Log the handler's error `exc` (with its traceback) and retry or dead-letter
        `delivery`; return the Outcome. Call it once the handler's transaction has
        rolled back."""
        envelope = delivery.envelope
        assert envelope is not None
        error = f"{type(exc).__name__}: {exc}"
        logger.error(
            "consumer %s: message %s (topic %s, trial %d of %d) failed: %s",
            self.consumer,
            envelope.message_id,
            envelope.topic,
            delivery.trials + 1,
            self.max_trials,
            error,
            exc_info=None if isinstance(exc, TransportError) else exc,
        )
        outcome = self.apply(transport, delivery, self.decide(delivery, error))
        outcome.failures += 1
        return outcome

    def apply(self, transport: Transport, delivery: Delivery, decision: Decision) -> Outcome:
        """Retry or dead-letter `delivery` as decided; return the Outcome."""
        if not decision.dead_letter:
            transport.retry(delivery, decision.reason)
            return Outcome(received=1)
        envelope = delivery.envelope
        logger.error(
            "consumer %s: dead-lettering message %s from %s: %s",
            self.consumer,
            envelope.message_id if envelope else "?",
            delivery.queue,
            decision.reason,
        )
        transport.dead_letter(delivery, decision.reason)
        return Outcome.dead_lettered(delivery, decision.reason)
