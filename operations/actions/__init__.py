"""Every write of the operations app. Views, handlers and commands call these."""

from operations.actions.accepting import Accepted, accept_bulk, request_fingerprint
from operations.actions.cleanup import delete_old_bulks
from operations.actions.counters import Drift, record_transitions, recount_bulks
from operations.actions.outbox import publish_rows, relay_unpublished, sweep_stuck
from operations.actions.people import (
    acknowledge_bulk,
    acknowledge_finished,
    edit_operation,
    retry_by_error_code,
    retry_failed,
    retry_group,
    retry_operation,
    retry_operations,
)
from operations.actions.running import execute_operations

__all__ = [
    "Accepted",
    "Drift",
    "accept_bulk",
    "acknowledge_bulk",
    "acknowledge_finished",
    "delete_old_bulks",
    "edit_operation",
    "execute_operations",
    "publish_rows",
    "record_transitions",
    "recount_bulks",
    "relay_unpublished",
    "request_fingerprint",
    "retry_by_error_code",
    "retry_failed",
    "retry_group",
    "retry_operation",
    "retry_operations",
    "sweep_stuck",
]
