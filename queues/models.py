"""Tables of the queue framework.

- QueueMessage: the db transport's messages, one row per destination queue.
- ProcessedMessage: which message_ids a consumer has processed (de-duplication).
- ConsumerProcess: every running consumer registers itself and heartbeats here.
- PeriodicRun: when each Periodic task last ran, so that only one process runs it.
- QueueMinute: per queue and per minute, what its consumers did (`queues.metrics`).
- OperatorAction: who restarted consumers, sent back or discarded dead letters.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.db import models
from django.utils import timezone


class QueueMessage(models.Model):
    """A message waiting in, being processed from, or done with a db-transport queue."""

    class Status(models.TextChoices):
        WAITING = "waiting", "waiting"
        CLAIMED = "claimed", "claimed"
        DONE = "done", "done"
        DEAD = "dead", "dead (dead-letter queue)"

    queue = models.CharField(max_length=255)
    topic = models.CharField(max_length=255)
    message_id = models.CharField(max_length=255)
    body = models.JSONField()
    headers = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    trials = models.PositiveIntegerField(default=0)
    available_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    error = models.TextField(blank=True, default="")
    created = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The claim query: waiting (or timed-out claimed) messages of one queue, in order.
            models.Index(fields=["queue", "status", "id"], name="queues_msg_claim"),
            models.Index(fields=["status", "finished_at"], name="queues_msg_cleanup"),
            models.Index(fields=["message_id"], name="queues_msg_message_id"),
        ]

    def __str__(self) -> str:
        return f"{self.queue}:{self.topic}:{self.message_id} ({self.status})"


class ProcessedMessage(models.Model):
    """A message_id a consumer has processed; a redelivery of it is acked without running."""

    consumer = models.CharField(max_length=255)
    message_id = models.CharField(max_length=255)
    processed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["consumer", "message_id"], name="queues_processed_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.consumer}:{self.message_id}"


class ConsumerProcessQuerySet(models.QuerySet):
    def alive(self, stale_after: float = 60.0) -> ConsumerProcessQuerySet:
        """Return the processes that have not stopped and heartbeat recently."""
        since = timezone.now() - timedelta(seconds=stale_after)
        return self.filter(stopped_at__isnull=True, last_heartbeat__gte=since)


class ConsumerProcess(models.Model):
    """A running consumer (a process, or a thread of the embedded server)."""

    name = models.CharField(max_length=255, db_index=True)
    host = models.CharField(max_length=255, default=socket.gethostname)
    pid = models.PositiveIntegerField(default=os.getpid)
    thread = models.CharField(max_length=64, blank=True, default="")
    transport = models.CharField(max_length=16, blank=True, default="")
    started = models.DateTimeField(default=timezone.now)
    last_heartbeat = models.DateTimeField(default=timezone.now)
    processed = models.PositiveBigIntegerField(default=0)
    failures = models.PositiveBigIntegerField(default=0)
    stop_requested = models.BooleanField(default=False)
    stopped_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=255, blank=True, default="")

    objects = ConsumerProcessQuerySet.as_manager()

    class Meta:
        ordering = ["name", "started"]
        permissions = [
            ("view_queues", "Can view queues, consumers and dead letters"),
            ("operate_queues", "Can restart consumers and send back or discard dead letters"),
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.host} pid {self.pid}"


class PeriodicRun(models.Model):
    """When a Periodic task last ran (claimed by one process at a time)."""

    name = models.CharField(max_length=255, unique=True)
    last_run = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.last_run}"


class QueueMinute(models.Model):
    """What the consumers of one queue did in one minute, summed over them (one upsert
    per received batch, `queues.metrics.record`). Charts read these rows, never the
    messages or the operations."""

    queue = models.CharField(max_length=255)
    minute = models.DateTimeField()  # the minute's start, UTC, seconds zero
    messages = models.PositiveBigIntegerField(default=0)  # handled and committed
    failed = models.PositiveBigIntegerField(default=0)  # handler raised (retried or dead)
    dead = models.PositiveBigIntegerField(default=0)  # dead-lettered
    operations = models.PositiveBigIntegerField(default=0)  # units of work completed
    operations_failed = models.PositiveBigIntegerField(default=0)
    seconds = models.FloatField(default=0.0)  # time the consumers spent on batches

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["queue", "minute"], name="queues_minute_once"),
        ]
        indexes = [models.Index(fields=["minute"], name="queues_minute_at")]

    def __str__(self) -> str:
        return f"{self.queue} at {self.minute:%Y-%m-%d %H:%M}"


class OperatorAction(models.Model):
    """An action a person took on the queues, recorded with who did it."""

    class Kind(models.TextChoices):
        RESTART = "restart", "restarted consumers"
        REQUEUE = "requeue", "sent dead letters back"
        DISCARD = "discard", "discarded dead letters"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(max_length=150)  # the username
    kind = models.CharField(max_length=16, choices=Kind.choices)
    target = models.CharField(max_length=255)  # a queue, or a consumer (name, or "all")
    count = models.PositiveIntegerField(default=0)  # messages or processes concerned
    detail = models.JSONField(default=dict, blank=True)  # what was chosen (ids, topic, …)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor} {self.get_kind_display()} ({self.target}, {self.count})"
