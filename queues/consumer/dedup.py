"""De-duplication by message id: a consumer runs each message_id once.

Every committed handler run leaves a `ProcessedMessage(consumer, message_id)`,
written in the handler's own transaction; a delivery whose id has one is
acknowledged without running (a redelivery after a lost ack, a message published
twice). For the batch in hand `Dedup` also remembers which ids are done and which
records exist, so that an id received twice in one batch runs once and its record
is not written twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from queues.models import ProcessedMessage
from queues.transports import Delivery


class Dedup:
    """The processed message ids of one consumer, and what the batch in hand knows of them."""

    def __init__(self, consumer: str) -> None:
        self.consumer = consumer
        self._done: set[str] = set()  # processed, or known processed, in this batch
        self._recorded: set[str] = set()  # ids whose record is committed

    def look_up(self, deliveries: Iterable[Delivery]) -> None:
        """Start over for `deliveries`: query which of their ids were processed.

        Called when a batch arrives, and again after a transaction rolled back (what
        it marked done was undone with it).
        """
        self._done = self.processed(deliveries)
        self._recorded = set(self._done)

    def processed(self, deliveries: Iterable[Delivery]) -> set[str]:
        """Return the ids among `deliveries` this consumer has processed (one query;
        nothing is remembered)."""
        ids = [d.envelope.message_id for d in deliveries if d.envelope is not None]
        return set(
            ProcessedMessage.objects.filter(consumer=self.consumer, message_id__in=ids).values_list(
                "message_id", flat=True
            )
        )

    def is_done(self, message_id: str) -> bool:
        """Return True if `message_id` was processed, before or in this batch."""
        return message_id in self._done

    def done(self, message_id: str) -> None:
        """Remember that `message_id` ran in this batch (its transaction may still be open)."""
        self._done.add(message_id)

    def unrecorded(self, message_ids: Iterable[str]) -> list[str]:
        """Return `message_ids` (each once, in order) whose record is not known to exist."""
        return [mid for mid in dict.fromkeys(message_ids) if mid not in self._recorded]

    def record(self, message_ids: Iterable[str]) -> None:
        """Write the records of `message_ids` in one statement, inside the transaction
        of their handlers' work; IntegrityError if another consumer process wrote one
        meanwhile."""
        ProcessedMessage.objects.bulk_create(
            [ProcessedMessage(consumer=self.consumer, message_id=mid) for mid in message_ids]
        )

    def recorded(self, message_ids: Iterable[str]) -> None:
        """Remember records written by a transaction that has committed."""
        self._recorded.update(message_ids)

    def forget(self) -> None:
        """Drop what the batch knew (nothing is kept between batches)."""
        self._done = set()
        self._recorded = set()
