"""Benchmark of `manage.py serve --workers 2` against one worker: the synchronous API's items/s.

Reproduce (PostgreSQL and Redis reachable; the bench database is dropped and
created afresh, so every run starts from the same empty catalog):

    .venv/bin/python bench/bench_serve.py --runs 3 --write-docs

Two servers run side by side for the whole bench, each `manage.py serve
--no-consumers` on a free port, on PostgreSQL with Redis as the channel layer: one
with `--workers 1` (today's single daphne process), one with `--workers 2` (a parent
and two daphne children sharing the listening socket). The runs alternate between
them (1, 2, 1, 2, ...), so that whatever else the machine does weighs on both.

A run: `--clients` (8) keep-alive HTTP connections, each creating products one per
request (`POST /rest/all/V1/products`, the same bodies as bench/bench_operations.py),
`--items` (1,200) in all; items/s from the first request sent to the last answer.
The load generator is lean so that it takes little of the 2 cores from the servers:
one thread, non-blocking sockets, requests prepared before the clock starts. Each
run also records the CPU seconds spent by the server's processes, by the PostgreSQL
backends serving the bench database and by the client, and how the
connections were spread over the worker processes.

Options: `--database-url URL` (default $BENCH_SERVE_DATABASE_URL, else
postgres://asyncbulk:asyncbulk@127.0.0.1:5432/asyncbulk_bench_serve), `--redis-url`
(default $REDIS_URL, else redis://127.0.0.1:6379/0), `--write-docs` to replace the
serve section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_operations import (  # noqa: E402
    PASSWORD,
    free_port,
    product,
    recreate_postgres_database,
    replace_section,
    wait_for_port,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DOCS = BASE_DIR / "docs" / "BENCHMARKS.md"
DEFAULT_DATABASE_URL = "postgres://asyncbulk:asyncbulk@127.0.0.1:5432/asyncbulk_bench_serve"
COMMAND = ".venv/bin/python bench/bench_serve.py --runs 3 --write-docs"
START = "<!-- section: serve (bench/bench_serve.py) -->"
END = "<!-- end: serve -->"
TARGET = 1.7
# Written by hand from a py-spy profile (not re-measured by --write-docs).
PROFILE = """\
Where a worker's time goes (py-spy, 2026-12-03: `.venv/bin/py-spy record -p <pid of
the --workers 1 server> -d 15 -f raw` while this bench ran 4,000 product creates; shares
of the sampled busy time, inclusive, overlapping):

| part of the request path | share |
|---|---:|
| the view (`webapi.views.ServiceView.serve`) | 38% |
| - permission check, of which the bearer token look-up (one query) 10% | 15% |
| - the product save (`ProductRepository.save`: insert 7%, stock item 6%) | 13% |
| - resolving the store (`resolve_store`) | 8% |
| psycopg round trips (`Cursor.execute`, every query of the request) | 29% |
| daphne and Twisted (the event loop: parsing, writing, the ASGI queue) | 25% |
| asgiref thread hops (`SyncToAsync`, `run_in_executor`, `Condition.notify`) | 18% |

One worker spends about 6.5–9 ms of CPU per product create and PostgreSQL 1.4–2 ms
more: with both workers, PostgreSQL and the client on the same 2 cores, two workers
can at most reach 2 × server / (server + PostgreSQL + client) of one worker's rate
(the ceiling line above; about 1.6× with equal CPU per item). 1.7× needs PostgreSQL's
share of an item's CPU below about 18% of the server's, PostgreSQL on cores of its own
(another machine), or more cores than workers. Two more costs showed in every run on
2026-12-03: the machine's other work (load average 5–10 on 2 cores) took cores from
both servers alike, and a product create cost 15–25% more server CPU with two workers
than with one (both processes and their request threads contending for 2 busy cores;
not explained further).
"""


@dataclass
class Run:
    rate: float
    server_cpu: float  # seconds, every process of the server
    postgres_cpu: float
    client_cpu: float
    elapsed: float
    spread: list[int]  # connections held by each worker process


@dataclass
class Case:
    workers: int
    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(r.rate for r in self.runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--items", type=int, default=1200)
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_SERVE_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()

    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "QUEUE_CONNECTION": "db",
        "QUEUE_EMBEDDED_CONSUMERS": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
    }
    for key in ("DATABASE_URL", "REDIS_URL", "QUEUE_CONNECTION", "DJANGO_SETTINGS_MODULE"):
        os.environ[key] = env[key]
    recreate_postgres_database(args.database_url)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    token = admin_token()
    cases = [Case(1), Case(2)]
    with serving(env, 1) as one, serving(env, 2) as two:
        servers = {1: one, 2: two}
        for case in cases:  # warm up: imports, caches, the pool's first connections
            load(servers[case.workers], token, f"W{case.workers}-", 16 * args.clients, args.clients)
        for run in range(args.runs):
            for case in cases:
                result = load(
                    servers[case.workers],
                    token,
                    f"R{run}-{case.workers}-",
                    args.items,
                    args.clients,
                )
                case.runs.append(result)
                print(
                    f"run {run + 1}, {case.workers} worker(s): {result.rate:,.0f} items/s "
                    f"(server CPU {result.server_cpu:.1f} s,"
                    f" PostgreSQL {result.postgres_cpu:.1f} s,"
                    f" client {result.client_cpu:.1f} s in {result.elapsed:.1f} s;"
                    f" connections per worker {result.spread})",
                    flush=True,
                )
    table = render(cases, args)
    print(table)
    if args.write_docs:
        write_docs(table)


def admin_token() -> str:
    from django.contrib.auth import get_user_model

    from webapi.actions import issue_admin_token

    get_user_model().objects.create_superuser("bench", "bench@example.com", PASSWORD)
    return issue_admin_token("bench", PASSWORD)


@dataclass
class Server:
    port: int
    process: subprocess.Popen

    def pids(self) -> list[int]:
        """The processes serving: the children of a --workers parent, else the process."""
        import psutil

        children = psutil.Process(self.process.pid).children()
        return [c.pid for c in children] or [self.process.pid]

    def cpu(self) -> float:
        import psutil

        parent = psutil.Process(self.process.pid)
        total = 0.0
        for proc in [parent, *parent.children()]:
            times = proc.cpu_times()
            total += times.user + times.system
        return total


@contextmanager
def serving(env: dict[str, str], workers: int) -> Iterator[Server]:
    port = free_port()
    with tempfile.NamedTemporaryFile(
        "w+", prefix=f"bench-serve-{workers}-", suffix=".log", delete=False
    ) as log:
        print(f"server --workers {workers} on port {port}, log: {log.name}", flush=True)
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--no-consumers", "--port", str(port)]
            + ["--workers", str(workers)],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port)
            yield Server(port, process)
        finally:
            process.terminate()
            process.wait(timeout=60)


def postgres_cpu(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving `database` (its process title
    names the database), by pid."""
    import psutil

    seconds = {}
    for proc in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        title = " ".join(proc.info["cmdline"] or ())
        if proc.info["name"] == "postgres" and f" {database} " in title and proc.info["cpu_times"]:
            seconds[proc.pid] = proc.info["cpu_times"].user + proc.info["cpu_times"].system
    return seconds


def spread(server: Server, client_ports: set[int]) -> list[int]:
    """How many of the client's connections each worker process holds."""
    import psutil

    counts = []
    for pid in server.pids():
        held = 0
        for conn in psutil.Process(pid).net_connections("tcp"):
            if conn.raddr and conn.raddr.port in client_ports and conn.laddr.port == server.port:
                held += 1
        counts.append(held)
    return counts


class Connection:
    """One keep-alive HTTP/1.1 connection sending prepared requests one after the other."""

    def __init__(self, port: int, requests: list[bytes]) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.requests = requests
        self.next = 0
        self.buffer = b""
        self.errors: list[str] = []

    def send_next(self) -> bool:
        if self.next >= len(self.requests):
            return False
        self.sock.sendall(self.requests[self.next])  # small: fits the socket buffer
        self.next += 1
        return True

    def received(self) -> bool:
        """Read what arrived; True once a whole answer is in (and checked)."""
        chunk = self.sock.recv(65536)
        if not chunk:
            raise SystemExit("the server closed a keep-alive connection")
        self.buffer += chunk
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return False
        head = self.buffer[:head_end].decode("latin-1")
        match = re.search(r"(?im)^content-length:\s*(\d+)", head)
        if match is None:
            raise SystemExit(f"an answer without Content-Length: {head[:300]}")
        end = head_end + 4 + int(match.group(1))
        if len(self.buffer) < end:
            return False
        status = head.split(" ", 2)[1]
        if status != "200":
            self.errors.append(f"{status} {self.buffer[head_end + 4 : end][:200]!r}")
        self.buffer = self.buffer[end:]
        return True


def load(server: Server, token: str, prefix: str, items: int, clients: int) -> Run:
    """Run `items` product creates over `clients` connections; each connection first
    sends one more, untimed, so that it is accepted by a worker before the clock starts."""
    per_client = items // clients
    head = (
        "POST /rest/all/V1/products HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
    )
    connections = []
    for index in range(clients):
        requests = []
        for n in range(per_client + 1):
            body = json.dumps(product(f"{prefix}{index}-{n}")).encode()
            requests.append(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        connections.append(Connection(server.port, requests))
    selector = selectors.DefaultSelector()
    for conn in connections:
        selector.register(conn.sock, selectors.EVENT_READ, conn)

    def drive(limit: int) -> None:
        """Send and receive until every connection has had `limit` answers."""
        waiting = 0
        for conn in connections:
            if conn.next < limit and conn.send_next():
                waiting += 1
        while waiting:
            for key, _ in selector.select(timeout=120):
                conn = key.data
                if conn.received() and not (conn.next < limit and conn.send_next()):
                    waiting -= 1

    drive(1)
    shares = spread(server, {conn.sock.getsockname()[1] for conn in connections})
    database = urlparse(os.environ["DATABASE_URL"]).path.lstrip("/")
    server_cpu, pg_before = server.cpu(), postgres_cpu(database)
    own = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    drive(per_client + 1)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    server_cpu = server.cpu() - server_cpu
    pg_after = postgres_cpu(database)
    pg_cpu = sum(t - pg_before.get(pid, 0.0) for pid, t in pg_after.items())
    for conn in connections:
        selector.unregister(conn.sock)
        conn.sock.close()
    errors = [e for conn in connections for e in conn.errors]
    if errors:
        raise SystemExit(f"{len(errors)} synchronous writes failed, e.g. {errors[0]}")
    client_cpu = (after.ru_utime + after.ru_stime) - (own.ru_utime + own.ru_stime)
    return Run(per_client * clients / elapsed, server_cpu, pg_cpu, client_cpu, elapsed, shares)


# -- the report -------------------------------------------------------------------------------


def render(cases: list[Case], args: argparse.Namespace) -> str:
    one, two = cases
    ratio = two.median / one.median
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {environment()}; {args.runs} runs of "
        f"{args.items:,} products by {args.clients} keep-alive connections, medians.",
        "",
        "| server | items/s (median) | runs | CPU per item: server, PostgreSQL, client |"
        " connections per worker |",
        "|---|---:|---|---|---|",
    ]
    items = args.items // args.clients * args.clients

    def per_item(seconds: list[float]) -> str:
        return f"{statistics.median(seconds) / items * 1000:.1f} ms"

    for case in cases:
        runs = ", ".join(f"{r.rate:,.0f}" for r in case.runs)
        cpu = ", ".join(
            per_item([getattr(r, name) for r in case.runs])
            for name in ("server_cpu", "postgres_cpu", "client_cpu")
        )
        shares = "; ".join("/".join(str(n) for n in r.spread) for r in case.runs)
        lines.append(
            f"| `serve --workers {case.workers}` | {case.median:,.0f} | {runs} | {cpu} | {shares} |"
        )
    verdict = "met" if ratio >= TARGET else "**not met**"
    lines += [
        "",
        f"Two workers: **{ratio:.2f}×** one worker's items/s (target ≥ {TARGET}×: {verdict}).",
    ]
    # What idle cores would allow, from the CPU each item cost in these runs.
    cores = os.cpu_count() or 1
    s1, p1, c1 = (cpu_per_item(one, name, items) for name in CPU_PARTS)
    s2, p2, c2 = (cpu_per_item(two, name, items) for name in CPU_PARTS)
    single = min(1 / s1, cores / (s1 + p1 + c1))  # one process: one core at most
    double = min(2 / s2, cores / (s2 + p2 + c2))
    lines += [
        "",
        f"The ceiling on {cores} idle cores, from the CPU per item above: one worker "
        f"≤ {single:,.0f} items/s (its one core), two ≤ {double:,.0f} items/s (the cores "
        f"shared by both workers, PostgreSQL and the client): **{double / single:.2f}×** at "
        f"best. Load average {os.getloadavg()[0]:.1f} at the end of this run: other work "
        "took part of the cores from both servers.",
    ]
    return "\n".join(lines)


CPU_PARTS = ("server_cpu", "postgres_cpu", "client_cpu")


def cpu_per_item(case: Case, name: str, items: int) -> float:
    """Median CPU seconds of `name` per item over the case's runs."""
    return statistics.median(getattr(r, name) for r in case.runs) / items


def environment() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0].split()[0]
    load_average = os.getloadavg()[0]
    return (
        f"{platform.system()} {os.cpu_count()} CPUs (load average {load_average:.1f} at the end), "
        f"Python {platform.python_version()}, PostgreSQL {pg}, Redis on loopback"
    )


def write_docs(table: str) -> None:
    body = (
        f"{START}\n## The synchronous API on several cores (`serve --workers`)\n\n"
        "Reproduce (PostgreSQL and Redis on loopback; the bench database "
        "`asyncbulk_bench_serve` is dropped and created afresh):\n\n"
        f"    {COMMAND}\n\n"
        "Two servers side by side, `manage.py serve --no-consumers --workers 1` and "
        "`--workers 2` (one listening socket shared by two daphne processes), runs "
        "alternating between them: 8 keep-alive connections creating products one per "
        "request through `POST /rest/all/V1/products`, from a lean one-thread client "
        "(non-blocking sockets, requests prepared beforehand). CPU per item is the "
        "median run's CPU seconds divided by its items: the server's processes, "
        "the PostgreSQL backends serving the bench database, and the client.\n\n"
        f"{table}\n\n{PROFILE}\n{END}"
    )
    replace_section(START, END, body, DOCS)


if __name__ == "__main__":
    main()
