"""`manage.py serve --no-consumers` counting its own database queries (bench/bench_dashboard.py).

Bench only: nothing in the project changes. This sets Django up, wraps
`django.db.backends.utils.CursorWrapper.execute` and `executemany` with a counter
(`CursorDebugWrapper`, used with DEBUG on, calls them through `super()`, so it is
counted too, once), counts the connections opened (`connection_created`) and the
flushes of the dashboard's hubs (`Hub.flushes`), times the flushes, then runs the
`serve` command itself (daphne, exactly as `manage.py serve --no-consumers` does).
Every `--interval` seconds it replaces `--counts` with one JSON line:

    {"time": <time.time()>, "queries": N, "connections": N, "flushes": N,
     "flush_seconds": S, "batch_seconds": S}

(`flushes` counts the flushes that sent something, `flush_seconds` is the time spent in
`Hub.flush` in all, reading, rendering and sending, `batch_seconds` the part of it in
`render.flush_batch`, reading and rendering.)

Run: `.venv/bin/python bench/_counting_server.py --port 8123 --counts /tmp/counts.json`
(with the same environment as `manage.py serve`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


class Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queries = 0
        self.connections = 0
        self.flush_seconds = 0.0  # time spent in Hub.flush (read, render, send), in all
        self.batch_seconds = 0.0  # of which in render.flush_batch (read and render)

    def query(self) -> None:
        with self.lock:
            self.queries += 1

    def connection(self, **_kwargs: object) -> None:
        with self.lock:
            self.connections += 1


def install(counter: Counter) -> None:
    from django.db.backends import utils
    from django.db.backends.signals import connection_created

    execute, executemany = utils.CursorWrapper.execute, utils.CursorWrapper.executemany

    def counted_execute(self, sql, params=None):  # type: ignore[no-untyped-def]
        counter.query()
        return execute(self, sql, params)

    def counted_executemany(self, sql, param_list):  # type: ignore[no-untyped-def]
        counter.query()
        return executemany(self, sql, param_list)

    utils.CursorWrapper.execute = counted_execute  # type: ignore[method-assign]
    utils.CursorWrapper.executemany = counted_executemany  # type: ignore[method-assign]
    connection_created.connect(counter.connection, weak=False)

    # How long flushes take (the hub looks both up at call time).
    from dashboard.live import hub, render

    flush, flush_batch = hub.Hub.flush, render.flush_batch

    async def timed_flush(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return await flush(self, *args, **kwargs)
        finally:
            with counter.lock:
                counter.flush_seconds += time.perf_counter() - started

    def timed_flush_batch(*args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return flush_batch(*args, **kwargs)
        finally:
            with counter.lock:
                counter.batch_seconds += time.perf_counter() - started

    hub.Hub.flush = timed_flush  # type: ignore[method-assign]
    render.flush_batch = timed_flush_batch


def flushes() -> int:
    from dashboard.live import hub

    return sum(h.flushes for h in list(hub._hubs.values()))


def write_forever(counter: Counter, path: Path, interval: float) -> None:
    tmp = path.with_name(path.name + ".tmp")
    while True:
        with counter.lock:
            line = {
                "time": time.time(),
                "queries": counter.queries,
                "connections": counter.connections,
                "flush_seconds": counter.flush_seconds,
                "batch_seconds": counter.batch_seconds,
            }
        line["flushes"] = flushes()
        tmp.write_text(json.dumps(line) + "\n")
        os.replace(tmp, path)
        time.sleep(interval)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--counts", type=Path, required=True)
    parser.add_argument("--interval", type=float, default=0.1)
    args = parser.parse_args()

    sys.path.insert(0, str(BASE_DIR))
    os.chdir(BASE_DIR)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    counter = Counter()
    install(counter)
    threading.Thread(
        target=write_forever,
        args=(counter, args.counts, args.interval),
        name="bench counts",
        daemon=True,
    ).start()
    from django.core.management import call_command

    call_command("serve", "--no-consumers", "--host", args.host, "--port", str(args.port))


if __name__ == "__main__":
    main()
