"""The operations app's settings: `operations_settings.MAX_ATTEMPTS`, … (`settings.OPERATIONS`
overrides). See `config.appsettings`; the environment variables are listed in the README.
"""

from __future__ import annotations

from config.appsettings import AppSettings, integer, number, text_list

operations_settings = AppSettings(
    "OPERATIONS",
    {
        # Tries of an operation that keeps failing transiently (lock waits, deadlocks)
        # before it is left retriably failed (2).
        "MAX_ATTEMPTS": (5, integer),
        # First pause between transient retries; doubles each time.
        "RETRY_BACKOFF_SECONDS": (0.2, number),
        # Operations the `async.operations.all` consumer takes and runs together, each
        # in a savepoint of one transaction (`--batch-size` overrides it; 1 runs them one
        # by one). A batch takes what is waiting, never waits to fill up.
        "CONSUMER_BATCH_SIZE": (100, integer),
        # An operation open longer than this is swept.
        "STUCK_AFTER_SECONDS": (3600, integer),
        # `operations_cleanup` deletes older bulks.
        "BULK_LIFETIME_DAYS": (60, integer),
        # How often the outbox relay runs.
        "RELAY_INTERVAL_SECONDS": (5.0, number),
        # The relay leaves alone operations opened more recently than this (their own
        # after-commit publish is still on its way).
        "RELAY_GRACE_SECONDS": (10.0, number),
        # How often the sweeper runs.
        "SWEEP_INTERVAL_SECONDS": (60.0, number),
        # After a failed publish, requests leave their operations to the relay for this
        # long instead of waiting for the broker again.
        "PUBLISH_PAUSE_SECONDS": (10.0, number),
        # Patterns of async topics the project routes to queues of its own; the
        # `async.operations.all` binding then leaves them out.
        "ROUTED_APART": ([], text_list),
        # On PostgreSQL, how long an operation waits for a row lock before the wait
        # counts as a transient failure (0 disables).
        "LOCK_TIMEOUT_MS": (2000, integer),
        # How long a consumer trusts a permission check.
        "PERMISSION_CACHE_SECONDS": (5.0, number),
        # Keys encrypting operations' secret fields at rest (`operations.secrets`): the
        # first encrypts, every one decrypts. Empty: one derived from SECRET_KEY.
        "SECRET_KEYS": ([], text_list),
    },
)
