"""Bulks, their operations, each operation's event history, and acknowledgements.

A bulk of 100,000 operations must keep every page and endpoint fast: counts are
aggregates over the (bulk, status) index, lists are paged, and nothing here loads a
bulk's operations in Python to count or summarise them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


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


class Bulk(models.Model):
    """One async or bulk request: a group of operations sent together by one user."""

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

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created"], name="ops_bulk_owner_created"),
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
