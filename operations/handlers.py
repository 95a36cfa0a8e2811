"""The queue handlers of the operations app (declared in `operations.queues`).

Each message of an `async.*` topic carries `{"operation_id", "bulk_uuid"}` and the
`store_id` header; the handler runs the operation (`actions.execute_operations`).
The consumer runtime calls these inside `transaction.atomic()` with its message-id
de-duplication record and acknowledges after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from operations.actions.outbox import relay_unpublished, sweep_stuck
from operations.actions.people import retry_dead_lettered
from operations.actions.running import execute_operations, give_up_operation, operation_ids
from queues import Envelope


def handle_operation(envelope: Envelope) -> None:
    """Run the operation of one message."""
    execute_operations(operation_ids([envelope.body]))


def handle_operations(envelopes: Sequence[Envelope]) -> None:
    """Run the operations of a batch of messages (`queue_consumers_start --batch-size N`)
    in the runtime's one transaction, each in its own savepoint."""
    execute_operations(operation_ids([e.body for e in envelopes]))


def dead_lettered(envelope: Envelope, reason: str) -> None:
    """The message of an operation was set aside: leave the operation retriably failed."""
    for operation_id in operation_ids([envelope.body]):
        give_up_operation(operation_id, reason)


def requeued(bodies: Sequence[dict], actor: str) -> None:
    """Dead letters sent back by an operator: retry their operations (published afresh:
    the dead copies are then removed), recorded in their history with who."""
    retry_dead_lettered(operation_ids(bodies), actor)


def relay() -> None:
    """Periodic: publish open operations whose publish was never confirmed (the outbox)."""
    relay_unpublished()


def sweep() -> None:
    """Periodic: republish or fail operations stuck open (see `outbox.sweep_stuck`)."""
    sweep_stuck()
