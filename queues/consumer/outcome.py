"""What came of received deliveries: an `Outcome` per transaction, summed per batch.

A transaction's Outcome is made once it has ended (committed, or rolled back for
good), so it counts what finally became of each delivery: the runtime adds a
batch's Outcome to its `RunResult` once, and never corrects a count afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from queues.transports import Delivery, Envelope


@dataclass
class Outcome:
    """What came of a batch of deliveries, or of one transaction of it.

    Each delivery of a batch counts once: in `received` when it was dealt with (its
    handler's work committed, acknowledged as a duplicate, retried or dead-lettered),
    else in `released` (given back unprocessed: the consumer is stopping, or the
    database or the broker went away).
    """

    received: int = 0  # dealt with, whatever the outcome
    processed: int = 0  # handler ran and committed
    duplicates: int = 0  # already processed: acknowledged without running
    failures: int = 0  # handler raised (retried or dead-lettered)
    dead: int = 0  # dead-lettered
    released: int = 0  # given back unprocessed, without a trial
    envelopes: list[Envelope] = field(default_factory=list)  # whose handler ran and committed
    dead_letters: list[tuple[Delivery, str]] = field(default_factory=list)  # with the reason
    seconds: float = 0.0  # spent on the batch (set by the runtime)
    # Units of work the hooks counted, by name (operations' hook: "operations",
    # "operations_failed"); summed per batch and recorded per minute by the metrics hook.
    work: dict[str, int] = field(default_factory=dict)

    def __iadd__(self, other: Outcome) -> Outcome:
        self.received += other.received
        self.processed += other.processed
        self.duplicates += other.duplicates
        self.failures += other.failures
        self.dead += other.dead
        self.released += other.released
        self.envelopes += other.envelopes
        self.dead_letters += other.dead_letters
        self.seconds += other.seconds
        for name, count in other.work.items():
            self.work[name] = self.work.get(name, 0) + count
        return self

    @classmethod
    def dead_lettered(cls, delivery: Delivery, reason: str) -> Outcome:
        """Return the Outcome of one delivery moved to its dead-letter queue."""
        return cls(received=1, dead=1, dead_letters=[(delivery, reason)])
