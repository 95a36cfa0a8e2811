"""Writes of the queue framework that commands, periodic tasks and the dashboard call."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from queues import metrics, processes
from queues.conf import queue_settings
from queues.models import ConsumerProcess, OperatorAction, ProcessedMessage
from queues.transports import db

logger = logging.getLogger(__name__)


def cleanup() -> dict[str, int]:
    """Delete done db-transport messages older than DB_KEEP_DONE_HOURS, de-duplication
    records older than DEDUP_KEEP_HOURS, rows of consumers stopped a day ago and
    per-minute metrics older than METRICS_KEEP_DAYS."""
    dedup_cutoff = timezone.now() - timedelta(hours=queue_settings.DEDUP_KEEP_HOURS)
    result = {
        "messages": db.cleanup(),
        "processed": ProcessedMessage.objects.filter(processed_at__lt=dedup_cutoff).delete()[0],
        "consumers": processes.forget_stopped(),
        "metrics": metrics.forget_old(),
    }
    logger.info("queues clean-up: %s", result)
    return result


def request_restart(name: str | None = None) -> int:
    """Ask running consumers (all, or those of `name`) to finish their message and exit."""
    return processes.request_restart(name)


def restart_consumers(actor: str, process_id: int | None = None) -> int:
    """Ask one consumer process (its ConsumerProcess id), or every running one, to finish
    its message and exit (the graceful restart of `queue_consumers_restart`; a
    supervisor starts it again), and record who asked. Return how many were asked."""
    detail: dict[str, object] = {}
    with transaction.atomic():
        if process_id is None:
            count = processes.request_restart()
            target = "all"
        else:
            row = ConsumerProcess.objects.filter(pk=process_id).first()
            count = processes.request_stop(process_id)
            target = row.name if row is not None else f"process {process_id}"
            detail["process"] = process_id
            if row is not None:
                detail.update(host=row.host, pid=row.pid)
        OperatorAction.objects.create(
            actor=actor[:150],
            kind=OperatorAction.Kind.RESTART,
            target=target[:255],
            count=count,
            detail=detail,
        )
    logger.info("%s asked %d consumer process(es) (%s) to restart", actor, count, target)
    return count
