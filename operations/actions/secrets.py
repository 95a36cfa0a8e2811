"""Re-encrypting the secrets of operations not yet final with the newest key."""

from __future__ import annotations

from django.db import transaction

from operations import items as item_rules
from operations import secrets
from operations.models import Operation, OperationStatus

ROTATE_BATCH = 500


def rotate_secrets(batch_size: int = ROTATE_BATCH) -> tuple[int, list[int]]:
    """Re-encrypt every operation's secrets that are still kept (open or failed) with the first key
    of OPERATIONS_SECRET_KEYS; return how many were rewritten and the ids of those no
    configured key decrypts.

    Each row is written only if its payload is still the one read (compare and swap),
    so an operation a consumer completed meanwhile keeps its erased secrets.
    """
    rows = (
        Operation.objects.exclude(status=OperationStatus.COMPLETE)
        .filter(serialized_data__contains=item_rules.ENCRYPTED_SECRETS)
        .order_by("pk")
        .values_list("pk", "serialized_data")
    )
    rotated = 0
    unreadable: list[int] = []
    for pk, payload in rows.iterator(chunk_size=batch_size):
        try:
            fresh = secrets.rotated(payload)
        except secrets.SecretsUnreadable:
            unreadable.append(pk)
            continue
        if fresh is None or fresh == payload:
            continue
        with transaction.atomic():
            rotated += Operation.objects.filter(pk=pk, serialized_data=payload).update(
                serialized_data=fresh
            )
    return rotated, unreadable
