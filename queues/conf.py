"""The queue framework's settings: `queue_settings.MAX_TRIALS`, … (`settings.QUEUES` overrides).

See `config.appsettings`; the environment variables are listed in the README.
`resolve_connection` turns a declaration's connection ("default", "db", "amqp") into
the transport it runs on.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from config.appsettings import (
    AppSettings,
    boolean,
    counts,
    integer,
    number,
    optional_number,
    text,
    text_list,
)

CONNECTIONS = ("db", "amqp")
DEFAULT_CONNECTION = "default"  # the declarations' placeholder for QUEUES["CONNECTION"]

queue_settings = AppSettings(
    "QUEUES",
    {
        # The transport of every declaration on the "default" connection: db or amqp.
        "CONNECTION": ("db", text),
        "AMQP_URL": ("amqp://guest:guest@127.0.0.1:5672/%2F", text),
        "AMQP_QUEUE_TYPE": ("classic", text),
        # Messages a consumer may hold unacknowledged (raised to twice its batch size).
        "AMQP_PREFETCH": (100, integer),
        # Reconnection after a dropped connection or a broker restart: this many tries,
        # waiting 0.25 s, 0.5 s, 1 s, … at most AMQP_RECONNECT_MAX_DELAY between them
        # (the defaults ride out a broker restart of about 28 s).
        "AMQP_RECONNECT_ATTEMPTS": (10, integer),
        "AMQP_RECONNECT_MAX_DELAY": (5.0, number),
        # Deliveries of a failing message before it is dead-lettered.
        "MAX_TRIALS": (5, integer),
        # db transport: a claim older than this belongs to a consumer presumed dead.
        "DB_VISIBILITY_TIMEOUT": (300, integer),
        "DB_CLAIM_BATCH": (100, integer),
        "DB_POLL_INTERVAL": (0.5, number),
        "DB_KEEP_DONE_HOURS": (24, integer),
        # How long a processed message_id is remembered for de-duplication.
        "DEDUP_KEEP_HOURS": (7 * 24, integer),
        # Messages handled one by one are committed together at most this often (seconds):
        # each in its own savepoint, one commit per group. 0 commits after every message.
        "COMMIT_INTERVAL": (0.2, number),
        # How often a running consumer writes its heartbeat and looks for a stop request.
        "HEARTBEAT_INTERVAL": (5.0, number),
        # Extra modules imported at start-up for their declarations (besides apps' queues.py).
        "DECLARATION_MODULES": ([], text_list),
        # Whether `serve` runs the db-transport consumers in threads of the server.
        "EMBEDDED_CONSUMERS": (True, boolean),
        # Hooks attached to every consumer (dotted paths of queues.consumer.ConsumerHook
        # subclasses), before those a Consumer declares.
        "CONSUMER_HOOKS": ([], text_list),
        # Per-minute metrics (QueueMinute) older than this are deleted by the clean-up.
        "METRICS_KEEP_DAYS": (8, integer),
        # RabbitMQ's management API (e.g. http://guest:guest@127.0.0.1:15672), read for
        # the unacknowledged messages of each queue; empty: shown as unknown.
        "AMQP_MANAGEMENT_URL": ("", text),
        # The dashboard samples queue depths at most this often (seconds), per process.
        "DEPTH_SAMPLE_INTERVAL": (1.0, number),
        # Dead letters sent back or discarded by one action, at most (queues.dead_letters).
        "DEAD_LETTER_BATCH": (500, integer),
        # The supervising runner (Magento's cron_consumers_runner): `runner_options()`.
        "RUNNER_MAX_MESSAGES": (10_000, integer),
        "RUNNER_CONSUMERS": ([], text_list),  # empty: every declared consumer
        "RUNNER_MULTIPLE_PROCESSES": ({}, counts),  # {consumer: processes}, 1 each otherwise
        "RUNNER_ONLY_SPAWN_WHEN_MESSAGE_AVAILABLE": (True, boolean),
        "RUNNER_MAX_IDLE_TIME": (None, optional_number),  # passed to spawned consumers
        "RUNNER_CHECK_INTERVAL": (2.0, number),
        "RUNNER_MAX_BACKOFF": (60.0, number),
    },
)


def runner_options() -> dict[str, Any]:
    """Return the runner's options, as `queues.runner.Runner(options=...)` takes them."""
    prefix = "RUNNER_"
    return {
        key[len(prefix) :].lower(): getattr(queue_settings, key)
        for key in queue_settings.declarations
        if key.startswith(prefix)
    }


def default_connection() -> str:
    """Return the connection `"default"` stands for: `QUEUES["CONNECTION"]`."""
    name = queue_settings.CONNECTION
    if name not in CONNECTIONS:
        raise ImproperlyConfigured(
            f"QUEUES['CONNECTION'] must be one of {CONNECTIONS}, got {name!r}"
        )
    return name


def resolve_connection(name: str) -> str:
    """Return the real connection (`db` or `amqp`) for a declaration's `connection`.

    `"default"` means `QUEUES["CONNECTION"]`, so that one set of declarations runs
    embedded (db) and in production (amqp).
    """
    if name == DEFAULT_CONNECTION:
        return default_connection()
    if name not in CONNECTIONS:
        raise ImproperlyConfigured(
            f"unknown queue connection {name!r}; use one of {CONNECTIONS} or 'default'"
        )
    return name
