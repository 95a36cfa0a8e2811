"""The `imports.jobs` consumer's handler (see imports/queues.py)."""

from __future__ import annotations

from imports import actions
from imports.models import Import, ImportState
from queues import Envelope, publish_on_commit

RUNNING = (ImportState.VALIDATING, ImportState.QUEUED, ImportState.RUNNING)


def enqueue(job: Import) -> None:
    """Have a consumer run the import's next slice (after the caller's transaction)."""
    from imports.queues import TOPIC

    publish_on_commit(TOPIC, {"import_id": job.pk})


def run_import(envelope: Envelope) -> None:
    """Run one slice of the import; queue the next one while rows remain. A message
    for an import that ended or was deleted is dropped (redelivery is harmless)."""
    job_id = int(envelope.body["import_id"])
    if not Import.objects.filter(pk=job_id, state__in=RUNNING).exists():
        return
    job = actions.run_slice(job_id)
    if job.state in RUNNING:
        enqueue(job)
