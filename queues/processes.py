"""Running consumers register themselves (ConsumerProcess) and heartbeat; operators
list them, ask them to stop (restart) and refuse a second single-instance one."""

from __future__ import annotations

import os
import socket
import threading
import zlib
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from queues.conf import queue_settings
from queues.exceptions import ConsumerAlreadyRunning
from queues.models import ConsumerProcess

HOST = socket.gethostname()


def stale_after() -> float:
    """Seconds without a heartbeat after which a consumer on another host counts as dead."""
    return max(3 * queue_settings.HEARTBEAT_INTERVAL, 30.0)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_running(process: ConsumerProcess) -> bool:
    """Return True if the registered process still runs: same host, by its pid; other
    hosts, by a fresh heartbeat."""
    if process.stopped_at is not None:
        return False
    if process.host == HOST:
        return pid_alive(process.pid)
    return process.last_heartbeat >= timezone.now() - timedelta(seconds=stale_after())


def running(name: str | None = None) -> list[ConsumerProcess]:
    """Return the registered processes (of consumer `name`) that still run."""
    qs = ConsumerProcess.objects.filter(stopped_at__isnull=True)
    if name is not None:
        qs = qs.filter(name=name)
    return [p for p in qs if is_running(p)]


def register(name: str, transport: str, *, single_instance: bool = False) -> ConsumerProcess:
    """Insert this process's ConsumerProcess row and return it.

    With `single_instance`, raise ConsumerAlreadyRunning if another instance of `name`
    runs. The check and the insert are one transaction, serialised per consumer name
    (PostgreSQL: an advisory lock; SQLite: the IMMEDIATE write lock).
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(f"queues:{name}".encode())]
                )
        if single_instance:
            others = running(name)
            if others:
                where = ", ".join(f"pid {p.pid} on {p.host}" for p in others)
                raise ConsumerAlreadyRunning(
                    f"consumer {name!r} is already running ({where}); "
                    "--single-thread allows one instance"
                )
        return ConsumerProcess.objects.create(
            name=name,
            host=HOST,
            pid=os.getpid(),
            thread=threading.current_thread().name,
            transport=transport,
        )


def heartbeat(process: ConsumerProcess, processed: int, failures: int) -> bool:
    """Record liveness and counters; return True if a stop was requested."""
    ConsumerProcess.objects.filter(pk=process.pk).update(
        last_heartbeat=timezone.now(),
        processed=processed,
        failures=failures,
    )
    return ConsumerProcess.objects.filter(pk=process.pk, stop_requested=True).exists()


def unregister(process: ConsumerProcess, reason: str, processed: int, failures: int) -> None:
    ConsumerProcess.objects.filter(pk=process.pk).update(
        stopped_at=timezone.now(),
        last_heartbeat=timezone.now(),
        exit_reason=reason[:255],
        processed=processed,
        failures=failures,
    )


def request_restart(name: str | None = None) -> int:
    """Ask every running consumer (or those of `name`) to finish its current message
    and exit; return how many were asked. Consumers started afterwards are unaffected."""
    qs = ConsumerProcess.objects.filter(stopped_at__isnull=True, stop_requested=False)
    if name is not None:
        qs = qs.filter(name=name)
    return qs.update(stop_requested=True)


def request_stop(process_id: int) -> int:
    """Ask one running consumer process (by its row's id) to finish its current message
    and exit; return 1 if it was asked, 0 if it has stopped or was asked already."""
    return ConsumerProcess.objects.filter(
        pk=process_id, stopped_at__isnull=True, stop_requested=False
    ).update(stop_requested=True)


def forget_stopped(older_than_hours: float = 24) -> int:
    """Delete rows of processes stopped (or silent) for longer than `older_than_hours`."""
    cutoff = timezone.now() - timedelta(hours=older_than_hours)
    stopped, _ = ConsumerProcess.objects.filter(stopped_at__lt=cutoff).delete()
    silent, _ = ConsumerProcess.objects.filter(
        stopped_at__isnull=True, last_heartbeat__lt=cutoff
    ).delete()
    return stopped + silent


__all__ = [
    "heartbeat",
    "is_running",
    "register",
    "request_restart",
    "request_stop",
    "running",
    "unregister",
]
