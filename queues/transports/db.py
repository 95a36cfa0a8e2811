"""The `db` transport: queues as rows of QueueMessage in the project's database.

- publish: route each message by the bindings of the (db) exchange and insert one row
  per destination queue, in the caller's transaction.
- receive: claim up to N waiting messages in one short transaction. PostgreSQL uses
  `SELECT … FOR UPDATE SKIP LOCKED`, so competing consumers never wait on each other;
  SQLite has one writer at a time (settings open transactions IMMEDIATE), which makes
  the same select-then-update correct there.
- A claim older than the visibility timeout belongs to a consumer presumed dead: the
  message is made available again with one more trial.
- ack marks rows done inside the handler's transaction (`acks_in_transaction`), so a
  message's work and its completion commit together; retry puts a row back with one
  more trial; dead_letter keeps it with status `dead` (the dead-letter queue).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from queues.conf import queue_settings
from queues.declarations import Topology
from queues.exceptions import LostClaim, PublishError, TransportError, UnroutableError
from queues.models import QueueMessage
from queues.transports.base import Delivery, Depth, Envelope, Transport

logger = logging.getLogger(__name__)

Status = QueueMessage.Status


class DbTransport(Transport):
    name = "db"
    acks_in_transaction = True

    def __init__(
        self,
        *,
        visibility_timeout: float | None = None,
        poll_interval: float | None = None,
        routes: Callable[[str, str], list[str]] | None = None,
    ) -> None:
        self.visibility_timeout = float(
            queue_settings.DB_VISIBILITY_TIMEOUT
            if visibility_timeout is None
            else visibility_timeout
        )
        self.poll_interval = float(
            queue_settings.DB_POLL_INTERVAL if poll_interval is None else poll_interval
        )
        self._routes = routes
        self.token = uuid.uuid4().hex  # who holds a claim: this transport instance
        self._last_reclaim: dict[str, float] = {}

    @classmethod
    def from_settings(cls, *, fail_fast: bool = False) -> DbTransport:
        return cls()

    # -- topology ------------------------------------------------------------------
    def setup(self, topology: Topology) -> None:
        """Nothing to create: queues are rows; routing reads the declared bindings."""
        return None

    def routes(self, exchange: str, topic: str) -> list[str]:
        if self._routes is not None:
            return self._routes(exchange, topic)
        from queues import registry

        return registry.current().routes(exchange, topic)

    # -- publishing ----------------------------------------------------------------
    def publish(self, exchange: str, envelopes: Sequence[Envelope]) -> None:
        now = timezone.now()
        rows: list[QueueMessage] = []
        for envelope in envelopes:
            queues = self.routes(exchange, envelope.topic)
            if not queues:
                # As RabbitMQ with `mandatory`: refuse the batch rather than drop silently.
                raise UnroutableError(
                    f"topic {envelope.topic!r} on exchange {exchange!r} is routed to no queue"
                )
            rows.extend(
                QueueMessage(
                    queue=queue,
                    topic=envelope.topic,
                    message_id=envelope.message_id,
                    body=envelope.body,
                    headers=envelope.headers,
                    available_at=now,
                    created=now,
                )
                for queue in queues
            )
        try:
            if connection.vendor == "postgresql":
                _copy_messages(rows)
            else:
                QueueMessage.objects.bulk_create(rows, batch_size=500)
        except (DatabaseError, TypeError, ValueError) as exc:
            raise PublishError(f"could not store {len(rows)} message row(s): {exc}") from exc

    # -- consuming -----------------------------------------------------------------
    def receive(self, queue: str, max_count: int, timeout: float) -> list[Delivery]:
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            self._reclaim_expired(queue)
            deliveries = self._claim(queue, max_count)
            if deliveries:
                return deliveries
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            time.sleep(min(self.poll_interval, remaining))

    def _claim(self, queue: str, max_count: int) -> list[Delivery]:
        now = timezone.now()
        waiting = QueueMessage.objects.filter(
            queue=queue, status=Status.WAITING, available_at__lte=now
        )
        try:
            # A plain read first: an idle poll then takes no write lock (SQLite's
            # IMMEDIATE transactions would otherwise serialise it with every request).
            if not waiting.exists():
                return []
            with transaction.atomic():
                rows = list(
                    QueueMessage.objects.select_for_update(skip_locked=True)
                    .filter(queue=queue, status=Status.WAITING, available_at__lte=now)
                    .order_by("id")
                    .values_list("id", "topic", "message_id", "body", "headers", "trials")[
                        :max_count
                    ]
                )
                if rows:
                    QueueMessage.objects.filter(id__in=[r[0] for r in rows]).update(
                        status=Status.CLAIMED, claimed_at=now, claimed_by=self.token
                    )
        except DatabaseError as exc:
            raise TransportError(f"claiming from queue {queue!r} failed: {exc}") from exc
        return [_delivery(queue, *row) for row in rows]

    def _reclaim_expired(self, queue: str) -> None:
        """Make messages claimed longer than the visibility timeout available again."""
        now_mono = time.monotonic()
        # Checking every poll would cost a write per poll; a tenth of the timeout is plenty.
        if now_mono - self._last_reclaim.get(queue, -1e9) < min(self.visibility_timeout / 10, 5.0):
            return
        self._last_reclaim[queue] = now_mono
        cutoff = timezone.now() - timedelta(seconds=self.visibility_timeout)
        try:
            with transaction.atomic():
                count = QueueMessage.objects.filter(
                    queue=queue, status=Status.CLAIMED, claimed_at__lt=cutoff
                ).update(
                    status=Status.WAITING,
                    trials=F("trials") + 1,
                    claimed_by="",
                    claimed_at=None,
                    error="visibility timeout: the consumer holding it stopped without an answer",
                )
        except DatabaseError as exc:
            raise TransportError(
                f"re-claiming expired messages of {queue!r} failed: {exc}"
            ) from exc
        if count:
            logger.warning(
                "queue %s: %d message(s) claimed by a dead consumer are delivered again",
                queue,
                count,
            )

    def _mine(self, deliveries: Sequence[Delivery]):
        return QueueMessage.objects.filter(
            id__in=[d.tag for d in deliveries], claimed_by=self.token
        )

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Mark done. Called inside the handler's transaction; raise LostClaim (so the
        work rolls back) if another consumer re-claimed a message meanwhile."""
        if not deliveries:
            return
        try:
            updated = (
                self._mine(deliveries)
                .filter(status=Status.CLAIMED)
                .update(status=Status.DONE, finished_at=timezone.now(), claimed_by="")
            )
        except DatabaseError as exc:
            raise TransportError(
                f"acknowledging {len(deliveries)} message(s) failed: {exc}"
            ) from exc
        if updated != len(deliveries):
            raise LostClaim(
                f"{len(deliveries) - updated} of {len(deliveries)} message(s) were re-claimed "
                "by another consumer after the visibility timeout"
            )

    def retry(self, delivery: Delivery, error: str) -> None:
        self._update(
            delivery,
            status=Status.WAITING,
            trials=F("trials") + 1,
            error=error[:10_000],
            available_at=timezone.now(),
            claimed_at=None,
        )

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        self._update(
            delivery, status=Status.DEAD, error=reason[:10_000], finished_at=timezone.now()
        )

    def release(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        try:
            with transaction.atomic():
                self._mine(deliveries).filter(status=Status.CLAIMED).update(
                    status=Status.WAITING, claimed_by="", claimed_at=None
                )
        except DatabaseError as exc:
            raise TransportError(f"releasing {len(deliveries)} message(s) failed: {exc}") from exc

    def _update(self, delivery: Delivery, **fields) -> None:
        try:
            with transaction.atomic():
                self._mine([delivery]).update(claimed_by="", **fields)
        except DatabaseError as exc:
            raise TransportError(f"updating message {delivery.tag} failed: {exc}") from exc

    def count(self, queue: str) -> int:
        try:
            return QueueMessage.objects.filter(queue=queue, status=Status.WAITING).count()
        except DatabaseError as exc:
            raise TransportError(f"counting queue {queue!r} failed: {exc}") from exc

    def depth(self, queue: str) -> Depth:
        """Return `queue`'s waiting, claimed (unacknowledged) and dead messages."""
        return self.depths([queue])[queue]

    def depths(self, queues: Sequence[str]) -> dict[str, Depth]:
        """Return the Depth of each of `queues` in one grouped query (done rows skipped)."""
        found: dict[tuple[str, str], int] = {}
        if queues:
            rows = (
                QueueMessage.objects.filter(
                    queue__in=list(queues),
                    status__in=[Status.WAITING, Status.CLAIMED, Status.DEAD],
                )
                .values_list("queue", "status")
                .annotate(n=Count("id"))
                .order_by()
            )
            found = {(queue, status): n for queue, status, n in rows}
        return {
            queue: Depth(
                waiting=found.get((queue, Status.WAITING), 0),
                unacked=found.get((queue, Status.CLAIMED), 0),
                consumers=None,
                dead=found.get((queue, Status.DEAD), 0),
            )
            for queue in queues
        }

    def close(self) -> None:
        return None


def _delivery(
    queue: str, pk: int, topic: str, message_id: str, body: Any, headers: Any, trials: int
) -> Delivery:
    if isinstance(body, dict) and isinstance(headers, dict) and message_id:
        envelope: Envelope | None = Envelope(
            message_id=message_id, topic=topic, body=body, headers=headers
        )
        raw = None
    else:
        # Rows written by something other than publish(): not a message we can run.
        envelope = None
        raw = json.dumps(
            {"body": body, "headers": headers, "message_id": message_id}, default=str
        ).encode()
    return Delivery(
        queue=queue, tag=pk, envelope=envelope, trials=trials, redelivered=trials > 0, raw=raw
    )


def cleanup(keep_done_hours: float | None = None) -> int:
    """Delete done messages finished more than `keep_done_hours` ago; return how many."""
    hours = queue_settings.DB_KEEP_DONE_HOURS if keep_done_hours is None else keep_done_hours
    cutoff = timezone.now() - timedelta(hours=hours)
    deleted, _ = QueueMessage.objects.filter(status=Status.DONE, finished_at__lt=cutoff).delete()
    return deleted


_COPY_COLUMNS = (
    "queue",
    "topic",
    "message_id",
    "body",
    "headers",
    "status",
    "trials",
    "available_at",
    "claimed_by",
    "error",
    "created",
)


def _copy_messages(rows: Sequence[QueueMessage]) -> None:
    """Insert message rows with PostgreSQL's COPY, in one transaction (`bulk_create` binds
    every value in Python, which costs more than the publish itself for a big batch)."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in _COPY_COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        sql = f"COPY {quote(QueueMessage._meta.db_table)} ({names}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(
                    (
                        row.queue,
                        row.topic,
                        row.message_id,
                        json.dumps(row.body),
                        json.dumps(row.headers),
                        row.status,
                        row.trials,
                        row.available_at,
                        row.claimed_by,
                        row.error,
                        row.created,
                    )
                )
