"""The queue framework's settings, read from `settings.QUEUES` in this one place.

Every other module asks here (`conf.get("MAX_TRIALS")`, `conf.resolve_connection(...)`)
so that defaults live in one table and tests can override `settings.QUEUES` with
`override_settings`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

CONNECTIONS = ("db", "amqp")
DEFAULT_CONNECTION = "default"  # the declarations' placeholder for QUEUES["CONNECTION"]

DEFAULTS: dict[str, Any] = {
    "CONNECTION": "db",
    "AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/%2F",
    "AMQP_QUEUE_TYPE": "classic",
    "AMQP_PREFETCH": 100,
    # Reconnection after a dropped connection or a broker restart: this many tries,
    # waiting 0.25 s, 0.5 s, 1 s, … at most AMQP_RECONNECT_MAX_DELAY between them
    # (the defaults ride out a broker restart of about 28 s).
    "AMQP_RECONNECT_ATTEMPTS": 10,
    "AMQP_RECONNECT_MAX_DELAY": 5.0,
    "MAX_TRIALS": 5,
    "DB_VISIBILITY_TIMEOUT": 300,
    "DB_CLAIM_BATCH": 100,
    "DB_POLL_INTERVAL": 0.5,
    "DB_KEEP_DONE_HOURS": 24,
    # How long a processed message_id is remembered for de-duplication.
    "DEDUP_KEEP_HOURS": 7 * 24,
    # Messages handled one by one are committed together at most this often (seconds):
    # each in its own savepoint, one commit per group. 0 commits after every message.
    "COMMIT_INTERVAL": 0.2,
    # How often a running consumer writes its heartbeat and looks for a stop request.
    "HEARTBEAT_INTERVAL": 5.0,
    # Extra modules imported at start-up for their declarations (besides apps' queues.py).
    "DECLARATION_MODULES": [],
    # Runtime hooks attached to every consumer: dotted paths of ConsumerHook subclasses
    # (queues/consumer/hooks.py), instantiated once per consumer runtime.
    "CONSUMER_HOOKS": [],
    "EMBEDDED_CONSUMERS": True,
    "RUNNER": {},
}

RUNNER_DEFAULTS: dict[str, Any] = {
    "max_messages": 10_000,
    "consumers": [],
    "multiple_processes": {},
    "only_spawn_when_message_available": True,
    "max_idle_time": None,
    "check_interval": 2.0,
    "max_backoff": 60.0,
}


def get(key: str) -> Any:
    """Return `settings.QUEUES[key]`, or its default."""
    if key not in DEFAULTS:
        raise KeyError(f"unknown QUEUES setting {key!r}")
    return getattr(settings, "QUEUES", {}).get(key, DEFAULTS[key])


def runner() -> dict[str, Any]:
    """Return the runner settings (`QUEUES["RUNNER"]`) with defaults filled in."""
    return {**RUNNER_DEFAULTS, **(get("RUNNER") or {})}


def default_connection() -> str:
    """Return the connection `"default"` stands for: `QUEUES["CONNECTION"]`."""
    name = get("CONNECTION")
    if name not in CONNECTIONS:
        raise ImproperlyConfigured(f"QUEUES['CONNECTION'] must be one of {CONNECTIONS}, got {name!r}")
    return name


def resolve_connection(name: str) -> str:
    """Return the real connection (`db` or `amqp`) for a declaration's `connection`.

    `"default"` means `QUEUES["CONNECTION"]`, so that one set of declarations runs
    embedded (db) and in production (amqp).
    """
    if name == DEFAULT_CONNECTION:
        return default_connection()
    if name not in CONNECTIONS:
        raise ImproperlyConfigured(f"unknown queue connection {name!r}; use one of {CONNECTIONS} or 'default'")
    return name
