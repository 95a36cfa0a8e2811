"""Writes of the queue framework that commands, periodic tasks and the dashboard call."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from queues import processes
from queues.conf import queue_settings
from queues.models import ProcessedMessage
from queues.transports import db

logger = logging.getLogger(__name__)


def cleanup() -> dict[str, int]:
    """Delete done db-transport messages older than DB_KEEP_DONE_HOURS, de-duplication
    records older than DEDUP_KEEP_HOURS and rows of consumers stopped a day ago."""
    dedup_cutoff = timezone.now() - timedelta(hours=queue_settings.DEDUP_KEEP_HOURS)
    result = {
        "messages": db.cleanup(),
        "processed": ProcessedMessage.objects.filter(processed_at__lt=dedup_cutoff).delete()[0],
        "consumers": processes.forget_stopped(),
    }
    logger.info("queues clean-up: %s", result)
    return result


def request_restart(name: str | None = None) -> int:
    """Ask running consumers (all, or those of `name`) to finish their message and exit."""
    return processes.request_restart(name)
