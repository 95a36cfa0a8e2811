"""Delete old bulks, in batches, so that a cleanup never holds long locks or much memory."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from operations.actions.counters import record_transitions
from operations.conf import operations_settings
from operations.db import locked
from operations.models import Bulk, BulkAcknowledgement, Operation, OperationEvent

BATCH = 5_000


def delete_old_bulks(*, days: int | None = None, batch_size: int = BATCH) -> int:
    """Delete bulks created more than `days` ago (default BULK_LIFETIME_DAYS); return how many.

    Events, operations and acknowledgements go first, `batch_size` operations per
    transaction; each statement filters by primary keys, never a bulk-wide cascade.
    The bulks' counters lose each batch of operations in its transaction, so they
    stay true while a large bulk is being deleted.
    """
    lifetime = operations_settings.BULK_LIFETIME_DAYS if days is None else days
    cutoff = timezone.now() - timedelta(days=lifetime)
    old_bulks = Bulk.objects.filter(created__lt=cutoff)
    while True:
        ids = list(
            Operation.objects.filter(bulk__in=old_bulks.values("pk"))
            .order_by()
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        with transaction.atomic():
            # Locked, so that their statuses cannot change before they are uncounted.
            rows = list(
                locked(Operation.objects.filter(pk__in=ids)).values_list("bulk_id", "status")
            )
            OperationEvent.objects.filter(operation_id__in=ids).delete()
            Operation.objects.filter(pk__in=ids)._raw_delete(Operation.objects.db)
            record_transitions((bulk_id, status, None) for bulk_id, status in rows)
    deleted = 0
    while True:
        bulk_ids = list(old_bulks.order_by().values_list("pk", flat=True)[:batch_size])
        if not bulk_ids:
            return deleted
        with transaction.atomic():
            BulkAcknowledgement.objects.filter(bulk_id__in=bulk_ids).delete()
            deleted += Bulk.objects.filter(pk__in=bulk_ids)._raw_delete(Bulk.objects.db)
