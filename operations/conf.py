"""The operations app's settings, read from `settings.OPERATIONS` in this one place.

Keys (defaults in brackets):
- MAX_ATTEMPTS [5]: tries of an operation that keeps failing transiently before it is
  left retriably failed (2).
- RETRY_BACKOFF_SECONDS [0.2]: first pause between transient retries; doubles each time.
- STUCK_AFTER_SECONDS [3600]: an operation open longer than this is swept.
- BULK_LIFETIME_DAYS [60]: `operations_cleanup` deletes older bulks.
- RELAY_INTERVAL_SECONDS [5]: how often the outbox relay runs.
- RELAY_GRACE_SECONDS [10]: the relay leaves alone operations opened more recently
  than this (their own after-commit publish is still on its way).
- PUBLISH_PAUSE_SECONDS [10]: after a failed publish, requests leave their operations
  to the relay for this long instead of waiting for the broker again.
- SWEEP_INTERVAL_SECONDS [60]: how often the sweeper runs.
- ROUTED_APART [[]]: patterns of async topics that the project routes to queues of
  its own; the `async.operations.all` binding then leaves them out.
- LOCK_TIMEOUT_MS [2000]: on PostgreSQL, how long an operation waits for a row lock
  before the wait counts as a transient failure (0 disables).
- PERMISSION_CACHE_SECONDS [5]: how long a consumer trusts a permission check.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "MAX_ATTEMPTS": 5,
    "RETRY_BACKOFF_SECONDS": 0.2,
    "STUCK_AFTER_SECONDS": 3600,
    "BULK_LIFETIME_DAYS": 60,
    "RELAY_INTERVAL_SECONDS": 5.0,
    "RELAY_GRACE_SECONDS": 10.0,
    "SWEEP_INTERVAL_SECONDS": 60.0,
    "PUBLISH_PAUSE_SECONDS": 10.0,
    "ROUTED_APART": [],
    "LOCK_TIMEOUT_MS": 2000,
    "PERMISSION_CACHE_SECONDS": 5.0,
}


class OperationsSettings:
    """Attribute access to `settings.OPERATIONS` with defaults, read on every access
    (so `override_settings` works in tests)."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown operations setting {name!r}")
        return getattr(settings, "OPERATIONS", {}).get(name, DEFAULTS[name])


operations_settings = OperationsSettings()


def webapi_setting(name: str, default: Any) -> Any:
    """Return a key of `settings.WEBAPI` (limits shared with the synchronous API)."""
    return getattr(settings, "WEBAPI", {}).get(name, default)
