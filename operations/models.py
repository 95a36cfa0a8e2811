"""Bulks, their operations, each operation's event history, and acknowledgements.

A bulk of 100,000 operations must keep every page and endpoint fast: a bulk row
stores how many of its operations are in each status (`Bulk.complete_count`, …),
updated in the transaction of every status change (`operations.actions.counters`),
so that reading or listing bulks never aggregates over their operations; lists are
paged, and nothing here loads a bulk's operations in Python to count them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from django.conf import settings
from django.db import models
from django.utils import timezone


class UserType(models.IntegerChoices):
    """Magento's user types."""

    INTEGRATION = 1, "Integration"
    ADMIN = 2, "Admin"
    CUSTOMER = 3, "Customer"
    GUEST = 4, "Guest"


class OperationStatus(models.IntegerChoices):
    """Magento's operation statuses (`OperationInterface::STATUS_TYPE_*`)."""

    COMPLETE = 1, "Complete"
    RETRIABLY_FAILED = 2, "Retriably failed"
    NOT_RETRIABLY_FAILED = 3, "Not retriably failed"
    OPEN = 4, "Open"
    REJECTED = 5, "Rejected"


FINAL_STATUSES = frozenset(
    {OperationStatus.COMPLETE, OperationStatus.NOT_RETRIABLY_FAILED, OperationStatus.REJECTED}
)
FAILED_STATUSES = frozenset(
    {
        OperationStatus.RETRIABLY_FAILED,
        OperationStatus.NOT_RETRIABLY_FAILED,
        OperationStatus.REJECTED,
    }
)


class BulkStatus(models.IntegerChoices):
    """Magento's bulk summary statuses (`BulkSummaryInterface`)."""

    NOT_STARTED = 0, "Not started"
    IN_PROGRESS = 1, "In progress"
    FINISHED_SUCCESSFULLY = 2, "Finished successfully"
    FINISHED_WITH_FAILURE = 3, "Finished with failure"


# The counter of each operation status on the bulk row.
COUNTER_FIELDS: dict[int, str] = {
    OperationStatus.COMPLETE: "complete_count",
    OperationStatus.RETRIABLY_FAILED: "retriably_failed_count",
    OperationStatus.NOT_RETRIABLY_FAILED: "not_retriably_failed_count",
    OperationStatus.OPEN: "open_count",
    OperationStatus.REJECTED: "rejected_count",
}


def summary_status(counts: Mapping[int, int], *, ever_started: bool | None = None) -> int:
    """Return the bulk summary status (`BulkStatus`) from per-status counts.

    Any open operation means in progress — unless nothing was processed yet (every
    operation open or rejected, and, when known, none ever started): not started.
    With no open operation: finished successfully if every operation is complete,
    else finished with failure.
    """
    total = sum(counts.values())
    open_count = counts.get(OperationStatus.OPEN, 0)
    if total == 0:
        return BulkStatus.NOT_STARTED
    if open_count:
        processed = total - open_count - counts.get(OperationStatus.REJECTED, 0)
        if processed == 0 and not ever_started:
            return BulkStatus.NOT_STARTED
        return BulkStatus.IN_PROGRESS
    if counts.get(OperationStatus.COMPLETE, 0) == total:
        return BulkStatus.FINISHED_SUCCESSFULLY
    return BulkStatus.FINISHED_WITH_FAILURE


def summary_status_q(status: int) -> models.Q:
    """Return the condition on a bulk's counters (and `started_at`) that its summary
    status is `status`, as `summary_status` decides it: for filtering in SQL.

    Raise ValueError for a number that is not a `BulkStatus`.
    """
    nothing_processed = models.Q(
        complete_count=0, retriably_failed_count=0, not_retriably_failed_count=0
    )
    no_failure = models.Q(retriably_failed_count=0, not_retriably_failed_count=0, rejected_count=0)
    has_open = models.Q(open_count__gt=0)
    not_started = has_open & nothing_processed & models.Q(started_at__isnull=True)
    if status == BulkStatus.NOT_STARTED:
        empty = nothing_processed & models.Q(open_count=0, rejected_count=0)
        return not_started | empty
    if status == BulkStatus.IN_PROGRESS:
        return has_open & ~not_started
    if status == BulkStatus.FINISHED_SUCCESSFULLY:
        return models.Q(open_count=0, complete_count__gt=0) & no_failure
    if status == BulkStatus.FINISHED_WITH_FAILURE:
        return models.Q(open_count=0) & ~no_failure
    raise ValueError(f"{status!r} is not a bulk summary status (0 to 3)")


class BulkQuerySet(models.QuerySet["Bulk"]):
    def with_summary_status(self, status: int) -> BulkQuerySet:
        """Return the bulks whose summary status is `status`, from their counters alone."""
        return self.filter(summary_status_q(status))


class Bulk(models.Model):
    """One async or bulk request: a group of operations sent together by one user.

    The `*_count` fields count its operations per status; every action that changes
    an operation's status updates them in the same transaction, with F() increments
    (`operations.actions.counters.record_transitions`), and sets `changed_at`.
    `manage.py operations_recount` finds (and fixes) counters that drifted.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bulks",
    )
    user_type = models.PositiveSmallIntegerField(choices=UserType.choices, default=UserType.ADMIN)
    description = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(db_index=True)
    operation_count = models.PositiveIntegerField(default=0)
    # Idempotency-Key: a retried request by the same owner with the same key gets
    # `idempotency_response` back instead of a second bulk. Only set when sent.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    idempotency_fingerprint = models.CharField(max_length=64, blank=True)
    idempotency_response = models.TextField(null=True, blank=True)
    # The async topic of the route the bulk was accepted for (one route per bulk).
    topic = models.CharField(max_length=255, blank=True)
    complete_count = models.PositiveIntegerField(default=0)
    retriably_failed_count = models.PositiveIntegerField(default=0)
    not_retriably_failed_count = models.PositiveIntegerField(default=0)
    open_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When an operation of the bulk first started."
    )
    changed_at = models.DateTimeField(
        default=timezone.now, db_index=True, help_text="When a counter last changed."
    )

    objects = BulkQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created"], name="ops_bulk_owner_created"),
            # Keyset paging of the lists: ORDER BY created DESC, id DESC.
            models.Index(fields=["-created", "-id"], name="ops_bulk_created_id"),
            models.Index(fields=["topic", "-created"], name="ops_bulk_topic_created"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="ops_bulk_owner_idempotency_key",
            ),
        ]
        permissions = [
            ("view_all_bulks", "Can view every user's bulks"),
            ("retry_operations", "Can retry failed operations"),
            ("edit_operations", "Can edit an operation's payload"),
            ("acknowledge_bulks", "Can acknowledge (dismiss) bulks"),
        ]

    def __str__(self) -> str:
        return str(self.uuid)

    def counts(self) -> dict[int, int]:
        """Return {operation status: count} from the stored counters; statuses with no
        operation are omitted (the shape of `operations.status.status_counts`)."""
        return {
            status: n for status, field in COUNTER_FIELDS.items() if (n := getattr(self, field))
        }

    @property
    def total_count(self) -> int:
        """How many operations the bulk has, in every status."""
        return sum(getattr(self, field) for field in COUNTER_FIELDS.values())

    @property
    def done_count(self) -> int:
        """How many of its operations are no longer open (complete, failed or rejected)."""
        return self.total_count - self.open_count

    @property
    def summary_status(self) -> int:
        """Return Magento's summary status (`BulkStatus`) from the counters."""
        return summary_status(self.counts(), ever_started=self.started_at is not None)


class Operation(models.Model):
    """One item of a bulk: a service call waiting for, being, or having been executed.

    `serialized_data` is the request as JSON text (Magento's shape: the item with the
    URL parameters it carries); it is kept after success as the audit trail.
    """

    bulk = models.ForeignKey(Bulk, on_delete=models.CASCADE, related_name="operations")
    index = models.PositiveIntegerField(
        help_text="Position of the item in the request (the `id` of Listing 8)."
    )
    topic = models.CharField(max_length=255)
    serialized_data = models.TextField()
    data_hash = models.CharField(max_length=64, blank=True)
    store = models.ForeignKey("store.Store", on_delete=models.PROTECT, related_name="+")
    status = models.PositiveSmallIntegerField(
        choices=OperationStatus.choices, default=OperationStatus.OPEN
    )
    result_serialized_data = models.TextField(null=True, blank=True)
    result_message = models.TextField(blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    accepted_at = models.DateTimeField()
    # When the operation was last opened (accepted or retried): the relay's grace and
    # the sweeper's timeout count from here.
    opened_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    published = models.BooleanField(default=False)
    sweeps = models.PositiveSmallIntegerField(
        default=0, help_text="Times the sweeper republished it."
    )

    class Meta:
        ordering = ["bulk_id", "index"]
        indexes = [
            models.Index(fields=["bulk", "status", "error_code"], name="ops_op_bulk_status_code"),
            models.Index(
                fields=["status", "published", "opened_at"], name="ops_op_status_published"
            ),
            models.Index(fields=["status", "finished_at"], name="ops_op_status_finished"),
            models.Index(fields=["topic", "status"], name="ops_op_topic_status"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["bulk", "index"], name="ops_op_bulk_index"),
        ]

    def __str__(self) -> str:
        return f"{self.bulk_id}#{self.index} {self.topic}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


# -- an operation row's columns, by who writes them ------------------------------------
# Every concrete column is in exactly one group (a test checks it): a column added to
# the model and to no group fails that test, instead of being silently left unwritten
# by the bulk insert or the outcome writes.

OPERATION_COLUMNS: tuple[str, ...] = tuple(f.attname for f in Operation._meta.concrete_fields)
# Written once, when the bulk is accepted.
IDENTITY_COLUMNS = ("id", "bulk_id", "index", "topic", "store_id", "accepted_at")
# The request; replaced by an edit, masked once a secret has been used.
PAYLOAD_COLUMNS = ("serialized_data", "data_hash")
# What running an operation decides; a retry clears them (attempts aside).
OUTCOME_COLUMNS = (
    "status",
    "result_serialized_data",
    "result_message",
    "error_code",
    "attempts",
    "started_at",
    "finished_at",
)
# The outbox's bookkeeping: when it was (re)opened, whether its message is confirmed.
DELIVERY_COLUMNS = ("opened_at", "published", "sweeps")
# What reopening an operation for a retry writes (attempts are kept, as history).
REOPEN_COLUMNS = tuple(c for c in OUTCOME_COLUMNS if c != "attempts") + DELIVERY_COLUMNS


class EventKind(models.TextChoices):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PUBLISHED = "published"
    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    RETRIED = "retried"
    EDITED = "edited"


class OperationEvent(models.Model):
    """An append-only record of one state change of an operation: when, by whom, why."""

    operation = models.ForeignKey(Operation, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    consumer = models.CharField(
        max_length=255, blank=True, help_text="The consumer that acted, if not a person."
    )
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["operation_id", "at", "id"]
        indexes = [
            models.Index(fields=["operation", "at"], name="ops_event_op_at"),
        ]

    def __str__(self) -> str:
        return f"{self.operation_id} {self.kind} at {self.at:%Y-%m-%d %H:%M:%S}"


class BulkAcknowledgement(models.Model):
    """A user dismissed a finished bulk from their notifications."""

    bulk = models.ForeignKey(Bulk, on_delete=models.CASCADE, related_name="acknowledgements")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bulk", "user"], name="ops_ack_bulk_user"),
        ]
        indexes = [
            models.Index(fields=["user", "bulk"], name="ops_ack_user_bulk"),
        ]

    def __str__(self) -> str:
        return f"{self.bulk_id} acknowledged by {self.user_id}"


class GroupRetry(models.Model):
    """One "Retry a group" of the failures across bulks: a person reopened, at once, every
    failed operation they may retry that shares a topic, an error code and a message and
    finished within a time range, whatever its bulk.

    What it covers is listed in `GroupRetryOperation` (one row per reopened operation),
    so its progress is read from those operations alone (a grouped count over the
    retry's own rows), never from all operations. Once none of them is open any more the
    outcome is kept here (`settled_at`, `complete_count`, `failed_count`) and the
    operations are not counted again.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, help_text="Who asked (kept if the user goes).")
    at = models.DateTimeField(help_text="When it was asked for.")
    topic = models.CharField(max_length=255)
    error_code = models.IntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    range = models.CharField(max_length=8, help_text="The page's time range: 1h, 24h, 7d, 30d.")
    since = models.DateTimeField(help_text="Operations that finished from here…")
    until = models.DateTimeField(help_text="…to here (the moment it was asked for).")
    total = models.PositiveIntegerField(default=0, help_text="Operations reopened.")
    bulk_count = models.PositiveIntegerField(default=0, help_text="Bulks they belong to.")
    reopened_at = models.DateTimeField(
        null=True, blank=True, help_text="When its last chunk was reopened."
    )
    settled_at = models.DateTimeField(
        null=True, blank=True, help_text="When none of its operations was open any more."
    )
    complete_count = models.PositiveIntegerField(default=0, help_text="Complete, once settled.")
    failed_count = models.PositiveIntegerField(default=0, help_text="Failed again, once settled.")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["-at"], name="ops_gretry_at")]

    def __str__(self) -> str:
        return f"group retry {self.pk} of {self.topic} {self.error_code} by {self.actor_name}"


class GroupRetryOperation(models.Model):
    """An operation that a `GroupRetry` reopened.

    The operation is referenced without a database constraint: the clean-up deletes
    old operations by primary key in raw batches (`operations.actions.cleanup`), and a
    deleted operation simply drops out of a retry's progress (the join finds nothing).
    """

    retry = models.ForeignKey(GroupRetry, on_delete=models.CASCADE, related_name="items")
    operation = models.ForeignKey(
        Operation,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["retry", "operation"], name="ops_gretry_op"),
        ]

    def __str__(self) -> str:
        return f"{self.retry_id}: {self.operation_id}"
