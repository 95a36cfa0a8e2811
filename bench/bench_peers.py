"""End to end against Celery and Dramatiq, the transports, and the consumer's memory.

Reproduce (PostgreSQL, RabbitMQ and rabbitmqctl on loopback; the bench database
`asyncbulk_bench_peers` is dropped and created afresh, RabbitMQ vhosts of its own are
created and deleted again):

    .venv/bin/python bench/bench_peers.py --write-docs

Every operation is a product create recorded exactly as the bulk API records it:
bulks are POSTed to a real `manage.py serve --no-consumers` (amqp) before anything
runs, and the messages it published are purged, so no consumer sees them. Each
measured run then takes one set of those open operations and:

1. starts the worker(s) and waits until they consume (RabbitMQ counts their
   consumers) and sit idle: start-up is not measured;
2. reads their CPU time (psutil, every process of the worker and its children),
   pauses them (SIGSTOP), publishes the set's messages, resumes them (SIGCONT), so
   publishing neither competes with nor slows the work;
3. waits until every operation of the set completed, reads the CPU time again
   and stops the worker(s); peak RSS is the highest sum over the worker's
   processes, sampled every 0.2 s.

Operations/s is the set's size divided by the time from the first operation
started to the last one finished, from the operations' own `started_at` and
`finished_at` in the database.

Parts (`--parts`, default all):
- `peers`: ours, `manage.py queue_consumers_start async.operations.all` exactly as
  the README starts it (default options, amqp, its own vhost), published with the
  project's own `publish_rows` (what the API does after commit); Celery, one task
  per message calling `execute_operations([id])` (the function our consumer runs),
  `task_acks_late=True`; Dramatiq, one actor doing the same, `RabbitmqBroker`, acked
  after the actor returned. Each peer on the same RabbitMQ in a vhost of its own.
  One process of each, then two.
- `transports`: our consumer on the db transport with PostgreSQL and with SQLite
  (a fresh file; its own `serve` accepts the bulks), beside the amqp figure of
  `peers` (measured again here if `peers` is not run).
- `memory`: one consumer (amqp) over `--rss-operations` operations: RSS sampled
  every 2 s against operations completed; RSS at 10,000 and at the end.

Options: `--runs` (3), `--operations` (10,000 per run of ours, at most 10,000:
one bulk), `--peer-operations` (500 per Celery/Dramatiq run: they run about
150/s, rates are compared, not totals), `--transport-operations` (5,000),
`--rss-operations` (100,000), `--celery-pool`/`--celery-prefetch`/
`--dramatiq-threads` (the peers' settings; defaults are their fastest one-process
settings found with `--tune`), `--profile` (py-spy records 20 s of our first
one-process run; the top entries are reported), `--tune` (first try several settings of each peer on
`--tune-operations` operations and use the fastest), `--database-url`,
`--write-docs` (replace this bench's section of docs/BENCHMARKS.md and write the
plots under docs/bench/).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.bench_operations import (  # noqa: E402
    Client,
    free_port,
    recreate_postgres_database,
    replace_section,
    wait_for_port,
)

DOCS = BASE_DIR / "docs" / "BENCHMARKS.md"
PLOTS = BASE_DIR / "docs" / "bench"
DEFAULT_DATABASE_URL = "postgres://asyncbulk:asyncbulk@127.0.0.1:5432/asyncbulk_bench_peers"
COMMAND = ".venv/bin/python bench/bench_peers.py --write-docs"
SECTION_START = "<!-- section: peers (bench/bench_peers.py) -->"
SECTION_END = "<!-- end: peers -->"
QUEUE = "async.operations.all"
PEER_QUEUE = "peers"
VHOSTS = {
    "ours": "asyncbulk_bench_peers",
    "celery": "asyncbulk_bench_peers_celery",
    "dramatiq": "asyncbulk_bench_peers_dramatiq",
}
AMQP_BASE = "amqp://guest:guest@127.0.0.1:5672/"
REDIS_URL = "redis://127.0.0.1:6379/8"
PASSWORD = "bench-password-1"
BULK_MAX = 10_000
OPEN, COMPLETE = 4, 1
# The peers' fastest one-process settings on this machine (`--tune` measures them again).
CELERY_POOL, CELERY_PREFETCH, DRAMATIQ_THREADS = "solo", 100, 16
OURS_COMMAND = ["manage.py", "queue_consumers_start", QUEUE]


def amqp_url(vhost: str) -> str:
    return AMQP_BASE + quote(vhost, safe="")


# -- results ----------------------------------------------------------------------------------


@dataclass
class Run:
    rate: float  # operations/s
    cpu_ms: float  # CPU ms per operation, every process of the worker
    rss_mib: float  # peak RSS, summed over the worker's processes
    seconds: float


@dataclass
class Case:
    name: str
    processes: int
    operations: int
    setting: str = ""
    runs: list[Run] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)


# -- services ---------------------------------------------------------------------------------


def rabbitmq_missing() -> str | None:
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not on PATH (needed for the bench's own vhosts)"
    try:
        import pika

        pika.BlockingConnection(pika.URLParameters(AMQP_BASE + "%2F")).close()
    except Exception as exc:  # noqa: BLE001 - any failure means: not reachable
        return f"RabbitMQ is not reachable at 127.0.0.1:5672 ({type(exc).__name__})"
    return None


def postgres_missing(url: str) -> str | None:
    try:
        import psycopg

        parsed = urlparse(url)
        with psycopg.connect(url[: -len(parsed.path)] + "/postgres", connect_timeout=3):
            pass
    except Exception as exc:  # noqa: BLE001
        reason = " ".join(str(exc).split())
        return f"PostgreSQL is not reachable ({type(exc).__name__}: {reason})"
    return None


def redis_up() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def create_vhosts() -> None:
    for vhost in VHOSTS.values():
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True)
        rabbitmqctl("add_vhost", vhost)
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")


def delete_vhosts() -> None:
    for vhost in VHOSTS.values():
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True)


def rabbitmq_version() -> str:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(AMQP_BASE + "%2F"))
    try:
        version = conn._impl.server_properties.get("version", b"?")  # noqa: SLF001
    finally:
        conn.close()
    return version.decode() if isinstance(version, bytes) else str(version)


def consumer_count(vhost: str, queue: str) -> int:
    import pika

    try:
        conn = pika.BlockingConnection(pika.URLParameters(amqp_url(vhost)))
    except Exception:  # noqa: BLE001
        return 0
    try:
        return conn.channel().queue_declare(queue, passive=True).method.consumer_count
    except Exception:  # noqa: BLE001 - not declared yet
        return 0
    finally:
        if conn.is_open:
            conn.close()


# -- databases ----------------------------------------------------------------------------------


class Database:
    """Raw reads of the operations table, on PostgreSQL (psycopg) or SQLite (sqlite3)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite:")
        if self.sqlite:
            import sqlite3

            self.conn: Any = sqlite3.connect(urlparse(url).path, timeout=30)
        else:
            import psycopg

            self.conn = psycopg.connect(url, autocommit=True)

    def all(self, sql: str) -> list[tuple[Any, ...]]:
        cursor = self.conn.cursor()
        cursor.execute(sql)
        rows = cursor.fetchall()
        cursor.close()
        if self.sqlite:
            self.conn.commit()
        return rows

    def bulk_ids(self, uuids: Sequence[str]) -> list[int]:
        wanted = {u.replace("-", "") for u in uuids}
        rows = self.all("SELECT id, uuid FROM operations_bulk")
        return sorted(pk for pk, uuid in rows if str(uuid).replace("-", "") in wanted)

    def done(self, bulk_ids: Sequence[int]) -> int:
        ids = ",".join(str(int(i)) for i in bulk_ids)
        sql = (
            "SELECT count(*) FROM operations_operation "
            f"WHERE bulk_id IN ({ids}) AND status <> {OPEN}"
        )
        return int(self.all(sql)[0][0])

    def outcome(self, bulk_ids: Sequence[int]) -> tuple[dict[int, int], float, list[str]]:
        """Return ({status: count}, seconds from first started to last finished, failures)."""
        ids = ",".join(str(int(i)) for i in bulk_ids)
        where = f"WHERE bulk_id IN ({ids})"
        counts = dict(
            self.all(f"SELECT status, count(*) FROM operations_operation {where} GROUP BY status")
        )
        first, last = self.all(
            f"SELECT min(started_at), max(finished_at) FROM operations_operation {where}"
        )[0]
        failures = [
            str(m)
            for (m,) in self.all(
                f"SELECT result_message FROM operations_operation {where} "
                f"AND status NOT IN ({COMPLETE}, {OPEN}) LIMIT 3"
            )
        ]
        span = (as_datetime(last) - as_datetime(first)).total_seconds() if first else 0.0
        return counts, span, failures

    def close(self) -> None:
        self.conn.close()


def as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


# -- processes ----------------------------------------------------------------------------------


def base_environment(database_url: str, connection: str, redis: bool) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "QUEUE_", "AMQP_", "REDIS_", "PEERS_"))
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "QUEUE_CONNECTION": connection,
            "QUEUE_EMBEDDED_CONSUMERS": "0",
            "AMQP_URL": amqp_url(VHOSTS["ours"]),
            # Under ASGI every request runs in a thread of its own (see bench_operations).
            "DATABASE_CONN_MAX_AGE": "0",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if redis:
        env["REDIS_URL"] = REDIS_URL
    return env


def manage_shell(env: dict[str, str], code: str) -> str:
    """Run Python `code` in `manage.py shell` with `env`; return its output."""
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"manage.py shell failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


PREPARE = """
from django.contrib.auth import get_user_model
from django.core.management import call_command
from queues.transports import create_transport
from webapi.actions import issue_admin_token
from queues.conf import default_connection
if default_connection() == "amqp":
    call_command("queue_setup", verbosity=0)
get_user_model().objects.create_superuser("bench", "bench@example.com", {password!r})
print("TOKEN=" + issue_admin_token("bench", {password!r}))
"""

PURGE = """
from queues.conf import default_connection
from queues.models import QueueMessage
from queues.transports import create_transport
if default_connection() == "amqp":
    t = create_transport("amqp")
    try:
        t.purge({queue!r})
    finally:
        t.close()
else:  # the db transport's messages are rows
    QueueMessage.objects.filter(queue={queue!r}).delete()
"""

# What the bulk API does after commit (operations.actions.outbox.publish_rows).
PUBLISH = """
from operations.actions.outbox import publish_rows
from operations.models import Operation
rows = [
    (pk, topic, store_id, str(uuid))
    for pk, topic, store_id, uuid in Operation.objects.filter(
        bulk_id__in={bulk_ids!r}, status={open}
    ).order_by("pk").values_list("pk", "topic", "store_id", "bulk__uuid")
]
done = publish_rows(rows)
assert done == len(rows), (done, len(rows))
print("PUBLISHED", done)
"""


class Worker:
    """Worker processes started by the bench (each in a session of its own)."""

    def __init__(self, commands: list[list[str]], env: dict[str, str], log: Path) -> None:
        self.log = log.open("ab")
        self.procs = [
            subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=env,
                stdout=self.log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            for command in commands
        ]
        self.peak_rss = 0
        self._sampling = False
        self._sampler: threading.Thread | None = None

    def tree(self) -> list[Any]:
        import psutil

        procs = []
        for popen in self.procs:
            try:
                proc = psutil.Process(popen.pid)
                procs.append(proc)
                procs.extend(proc.children(recursive=True))
            except psutil.NoSuchProcess:
                pass
        return procs

    def cpu_seconds(self) -> float:
        import psutil

        total = 0.0
        for proc in self.tree():
            try:
                t = proc.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.NoSuchProcess:
                pass
        return total

    def rss(self) -> int:
        import psutil

        total = 0
        for proc in self.tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
        return total

    def check_alive(self) -> None:
        for popen in self.procs:
            if popen.poll() is not None:
                raise SystemExit(
                    f"a worker exited with {popen.returncode}: {popen.args!r}; "
                    f"see {self.log.name!r}"
                )

    def wait_ready(self, consumers: Callable[[], int] | None, expected: int) -> None:
        """Wait until `consumers()` reaches `expected` and the workers' CPU rests."""
        deadline = time.monotonic() + 90
        while consumers is not None and consumers() < expected:
            self.check_alive()
            if time.monotonic() > deadline:
                raise SystemExit(f"the workers did not start consuming; see {self.log.name}")
            time.sleep(0.3)
        time.sleep(1.0)
        previous = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            self.check_alive()
            now = self.cpu_seconds()
            if now - previous < 0.03 * len(self.tree()):
                return
            previous = now
        raise SystemExit(f"the workers never went idle; see {self.log.name}")

    def signal(self, sig: int) -> None:
        for proc in self.tree():
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, sig)

    def start_sampling(self, interval: float = 0.2) -> None:
        self._sampling = True

        def sample() -> None:
            while self._sampling:
                self.peak_rss = max(self.peak_rss, self.rss())
                time.sleep(interval)

        self._sampler = threading.Thread(target=sample, daemon=True)
        self._sampler.start()

    def stop(self) -> None:
        self._sampling = False
        if self._sampler is not None:
            self._sampler.join()
        self.signal(signal.SIGCONT)
        for popen in self.procs:
            if popen.poll() is None:
                os.killpg(popen.pid, signal.SIGTERM)
        for popen in self.procs:
            try:
                popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(popen.pid, signal.SIGKILL)
                popen.wait()
        self.log.close()


def measure(
    name: str,
    commands: list[list[str]],
    env: dict[str, str],
    db: Database,
    bulk_ids: list[int],
    publish: Callable[[], None],
    consumers: Callable[[], int] | None,
    expected_consumers: int,
    log: Path,
    on_sample: Callable[[int, int], None] | None = None,
    profile: Path | None = None,
) -> Run:
    """One measured run (see the module's docstring); return its figures.

    `profile`: record the first worker process with py-spy (raw, collapsed stacks) there.
    """
    total = db.outcome(bulk_ids)[0].get(OPEN, 0)
    worker = Worker(commands, env, log)
    spy: subprocess.Popen[bytes] | None = None
    try:
        worker.wait_ready(consumers, expected_consumers)
        before = worker.cpu_seconds()
        worker.signal(signal.SIGSTOP)
        try:
            publish()
        finally:
            worker.start_sampling()
            worker.signal(signal.SIGCONT)
        if profile is not None:
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "-d",
                    "20",
                    "-r",
                    "100",
                    "-f",
                    "raw",
                    "-o",
                    str(profile),
                    "--pid",
                    str(worker.tree()[-1].pid),  # Dramatiq: its forked worker process
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        started = time.monotonic()
        last_change, last_done = started, -1
        next_sample = started
        while True:
            done = db.done(bulk_ids)
            now = time.monotonic()
            if on_sample is not None and now >= next_sample:
                on_sample(done, worker.rss())
                next_sample = now + 2.0
            if done >= total:
                break
            if done != last_done:
                last_change, last_done = now, done
            elif now - last_change > 60:
                raise SystemExit(f"{name}: stuck at {done} of {total} operations; see {log}")
            worker.check_alive()
            time.sleep(0.25)
        after = worker.cpu_seconds()
        if on_sample is not None:
            on_sample(done, worker.rss())
    finally:
        worker.stop()
        if spy is not None:
            spy.wait(timeout=60)  # it ends when the process it records exits
    counts, span, failures = db.outcome(bulk_ids)
    if counts.get(COMPLETE, 0) != total:
        raise SystemExit(
            f"{name}: {counts} (statuses: count) instead of {total} complete: {failures}"
        )
    run = Run(
        rate=total / span,
        cpu_ms=(after - before) * 1000 / total,
        rss_mib=worker.peak_rss / 2**20,
        seconds=span,
    )
    print(
        f"  {name}: {run.rate:,.0f} operations/s, {run.cpu_ms:.2f} CPU ms/operation, "
        f"peak RSS {run.rss_mib:,.0f} MiB ({total:,} operations in {span:.1f} s)",
        flush=True,
    )
    return run


# -- accepting ----------------------------------------------------------------------------------


class Acceptor:
    """A `manage.py serve --no-consumers` on one database; bulks POSTed to it."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env = env
        self.port = free_port()
        self.log = (logdir / f"server-{self.port}.log").open("wb")
        self.server = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--no-consumers", "--port", str(self.port)],
            cwd=BASE_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.rates: list[float] = []
        self.serial = 0

    def __enter__(self) -> Acceptor:
        output = manage_shell(self.env, PREPARE.format(password=PASSWORD))
        token = output.split("TOKEN=", 1)[1].strip()
        wait_for_port(self.port)
        self.client = Client(self.port, token)
        return self

    def accept(self, operations: int) -> list[str]:
        """POST bulks of at most 10,000 products, `operations` in all; return their uuids."""
        uuids = []
        left = operations
        while left > 0:
            size = min(left, BULK_MAX)
            self.serial += 1
            rate, uuid = self.client.bulk_rate(f"P{self.serial}-", size)
            self.rates.append(rate)
            uuids.append(uuid)
            left -= size
        return uuids

    def __exit__(self, *exc: object) -> None:
        os.killpg(self.server.pid, signal.SIGTERM)
        try:
            self.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()
        self.log.close()
        manage_shell(self.env, PURGE.format(queue=QUEUE))


# -- the peers' publishers ----------------------------------------------------------------------


def publish_celery(operation_ids: list[int]) -> None:
    from bench import _peer_celery

    task = _peer_celery.execute_operation
    with _peer_celery.app.producer_or_acquire() as producer:
        for pk in operation_ids:
            task.apply_async((pk,), producer=producer)


def publish_dramatiq(operation_ids: list[int]) -> None:
    from bench import _peer_dramatiq

    for pk in operation_ids:
        _peer_dramatiq.execute_operation.send(pk)


def operation_ids(db: Database, bulk_ids: list[int]) -> list[int]:
    ids = ",".join(str(i) for i in bulk_ids)
    rows = db.all(
        f"SELECT id FROM operations_operation WHERE bulk_id IN ({ids}) AND status = {OPEN} "
        "ORDER BY id"
    )
    return [int(pk) for (pk,) in rows]


def celery_commands(pool: str, processes: int) -> list[list[str]]:
    """Celery workers of `processes` processes doing the work: that many one-process
    workers (solo, or threads with one thread), or one prefork worker of that concurrency."""
    base = [sys.executable, "-m", "celery", "-A", "bench._peer_celery", "worker", "-Q", PEER_QUEUE]
    quiet = ["--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "WARNING"]
    if pool in ("solo", "threads"):
        return [
            [*base, "--pool", pool, "--concurrency", "1", "-n", f"peers{i}@%h", *quiet]
            for i in range(1, processes + 1)
        ]
    return [[*base, "--pool", "prefork", "--concurrency", str(processes), "-n", "peers@%h", *quiet]]


def dramatiq_commands(threads: int, processes: int) -> list[list[str]]:
    return [
        [
            sys.executable,
            "-m",
            "dramatiq",
            "bench._peer_dramatiq",
            "--processes",
            str(processes),
            "--threads",
            str(threads),
            "--queues",
            PEER_QUEUE,
        ]
    ]


# -- the bench ----------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, logdir: Path) -> None:
        self.args = args
        self.logdir = logdir
        self.redis = redis_up()
        self.skipped: list[str] = []
        self.peers: list[Case] = []
        self.tuning: list[tuple[str, str, float]] = []
        self.transports: list[Case] = []
        self.memory: list[tuple[int, float]] = []
        self.memory_run: Run | None = None
        self.accept_rates: list[float] = []
        self.profiles: dict[str, list[str]] = {}
        self.spied: dict[str, Path] = {}
        self.load_before = os.getloadavg()
        self.started = time.monotonic()

    def log(self, name: str) -> Path:
        safe = "".join(c if c.isalnum() else "-" for c in name)
        return self.logdir / f"{safe}.log"

    # -- PostgreSQL + amqp: peers, db-on-PostgreSQL, memory ----------------------------------

    def run_postgres(self, parts: set[str], rabbit: str | None) -> None:
        args = self.args
        connection = "amqp" if rabbit is None else "db"
        recreate_postgres_database(args.database_url)
        env = base_environment(args.database_url, connection, self.redis)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
            cwd=BASE_DIR,
            env=env,
            check=True,
        )
        want_peers = "peers" in parts and rabbit is None
        want_memory = "memory" in parts and rabbit is None
        want_db = "transports" in parts
        amqp_again = want_db and not want_peers and rabbit is None
        sets: dict[str, list[list[str]]] = {}
        with Acceptor(env, self.logdir) as acceptor:
            print(f"accepting bulks on {acceptor.port} ...", flush=True)
            if want_peers:
                for processes in (1, 2):
                    sets[f"ours{processes}"] = [
                        acceptor.accept(args.operations) for _ in range(args.runs)
                    ]
                peer_runs = 2 * args.runs
                sets["celery"] = [acceptor.accept(args.peer_operations) for _ in range(peer_runs)]
                sets["dramatiq"] = [acceptor.accept(args.peer_operations) for _ in range(peer_runs)]
                if args.tune:
                    sets["tune"] = [acceptor.accept(args.tune_operations) for _ in range(8)]
            if amqp_again:
                sets["ours1"] = [
                    acceptor.accept(args.transport_operations) for _ in range(args.runs)
                ]
            if want_db:
                sets["db"] = [acceptor.accept(args.transport_operations) for _ in range(args.runs)]
            if want_memory:
                sets["memory"] = [acceptor.accept(args.rss_operations)]
        self.accept_rates += acceptor.rates
        print(
            f"accepted {sum(len(s) for v in sets.values() for s in v)} bulks, median "
            f"{statistics.median(acceptor.rates):,.0f} items/s; their messages purged",
            flush=True,
        )
        db = Database(args.database_url)
        try:
            ids = {key: [db.bulk_ids(uuids) for uuids in value] for key, value in sets.items()}
            if want_peers:
                self.run_peers(env, db, ids)
            if amqp_again:
                case = Case("ours, amqp", 1, args.transport_operations, "README command")
                for n, bulk_ids in enumerate(ids["ours1"]):
                    case.runs.append(self.ours(env, db, bulk_ids, 1, f"amqp run {n + 1}"))
                self.transports.append(case)
            elif want_db and want_peers:
                self.transports.append(self.peers[0])
            if want_db:
                db_env = {**env, "QUEUE_CONNECTION": "db"}
                case = Case("ours, db transport, PostgreSQL", 1, args.transport_operations)
                for n, bulk_ids in enumerate(ids["db"]):
                    case.runs.append(
                        self.ours(db_env, db, bulk_ids, 1, f"db/PostgreSQL run {n + 1}")
                    )
                self.transports.append(case)
            if want_memory:
                self.run_memory(env, db, ids["memory"][0])
        finally:
            db.close()

    def ours(
        self,
        env: dict[str, str],
        db: Database,
        bulk_ids: list[int],
        processes: int,
        name: str,
        on_sample: Callable[[int, int], None] | None = None,
        profile: Path | None = None,
    ) -> Run:
        amqp = env["QUEUE_CONNECTION"] == "amqp"
        return measure(
            name,
            [[sys.executable, *OURS_COMMAND] for _ in range(processes)],
            env,
            db,
            bulk_ids,
            lambda: print(
                "    " + manage_shell(env, PUBLISH.format(bulk_ids=bulk_ids, open=OPEN)).strip(),
                flush=True,
            ),
            (lambda: consumer_count(VHOSTS["ours"], QUEUE)) if amqp else None,
            processes,
            self.log(name),
            on_sample,
            profile,
        )

    def run_peers(self, env: dict[str, str], db: Database, ids: dict[str, list[list[int]]]) -> None:
        args = self.args
        runs = args.runs
        celery_env = {**env, "PEERS_BROKER_URL": amqp_url(VHOSTS["celery"])}
        dramatiq_env = {**env, "PEERS_BROKER_URL": amqp_url(VHOSTS["dramatiq"])}
        # The bench process publishes for the peers: each module reads its broker URL.
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        os.environ["DATABASE_URL"] = args.database_url
        pool, prefetch, threads = args.celery_pool, args.celery_prefetch, args.dramatiq_threads
        if args.tune:
            pool, prefetch, threads = self.tune(celery_env, dramatiq_env, db, ids["tune"])
        for processes in (1, 2):
            case = Case("ours", processes, args.operations, "README command (default options)")
            for n, bulk_ids in enumerate(ids[f"ours{processes}"][:runs]):
                name = f"ours x{processes} run {n + 1}"
                spy = self.logdir / "ours.pyspy.raw" if args.profile and not n else None
                if processes == 1 and spy is not None:
                    case.runs.append(self.ours(env, db, bulk_ids, 1, name, profile=spy))
                    self.profiles["ours"] = summarize_profile(spy) if spy.exists() else []
                else:
                    case.runs.append(self.ours(env, db, bulk_ids, processes, name))
            self.peers.append(case)
        celery_env["PEERS_PREFETCH"] = str(prefetch)
        dramatiq_sets = ids["dramatiq"]
        for processes in (1, 2):
            setting = (
                f"--pool prefork --concurrency {processes}"
                if pool == "prefork"
                else f"--pool {pool} --concurrency 1, {processes} worker(s)"
            ) + f", prefetch multiplier {prefetch}, acks late"
            case = Case("Celery", processes, args.peer_operations, setting)
            for n in range(runs):
                bulk_ids = ids["celery"][(processes - 1) * runs + n]
                case.runs.append(
                    self.celery(
                        celery_env,
                        db,
                        bulk_ids,
                        pool,
                        processes,
                        f"Celery x{processes} run {n + 1}",
                    )
                )
            self.peers.append(case)
            case = Case(
                "Dramatiq",
                processes,
                args.peer_operations,
                f"--processes {processes} --threads {threads}",
            )
            for n in range(runs):
                bulk_ids = dramatiq_sets[(processes - 1) * runs + n]
                case.runs.append(
                    self.dramatiq(
                        dramatiq_env,
                        db,
                        bulk_ids,
                        threads,
                        processes,
                        f"Dramatiq x{processes} run {n + 1}",
                    )
                )
            self.peers.append(case)
        for peer, path in self.spied.items():
            self.profiles[peer] = summarize_profile(path) if path.exists() else []

    def celery(
        self,
        env: dict[str, str],
        db: Database,
        bulk_ids: list[int],
        pool: str,
        processes: int,
        name: str,
    ) -> Run:
        os.environ["PEERS_BROKER_URL"] = env["PEERS_BROKER_URL"]
        pks = operation_ids(db, bulk_ids)
        commands = celery_commands(pool, processes)
        return measure(
            name,
            commands,
            env,
            db,
            bulk_ids,
            lambda: publish_celery(pks),
            lambda: consumer_count(VHOSTS["celery"], PEER_QUEUE),
            len(commands),
            self.log(name),
            profile=self.spy_path(name),
        )

    def dramatiq(
        self,
        env: dict[str, str],
        db: Database,
        bulk_ids: list[int],
        threads: int,
        processes: int,
        name: str,
    ) -> Run:
        os.environ["PEERS_BROKER_URL"] = env["PEERS_BROKER_URL"]
        pks = operation_ids(db, bulk_ids)
        return measure(
            name,
            dramatiq_commands(threads, processes),
            env,
            db,
            bulk_ids,
            lambda: publish_dramatiq(pks),
            lambda: consumer_count(VHOSTS["dramatiq"], PEER_QUEUE),
            processes,
            self.log(name),
            profile=self.spy_path(name),
        )

    def spy_path(self, name: str) -> Path | None:
        """With --profile, where py-spy records the first one-process run of a peer."""
        peer = name.split()[0]
        if self.args.profile and name.endswith("x1 run 1"):
            self.spied[peer] = self.logdir / f"{peer}.pyspy.raw"
            return self.spied[peer]
        return None

    def tune(
        self,
        celery_env: dict[str, str],
        dramatiq_env: dict[str, str],
        db: Database,
        sets: list[list[int]],
    ) -> tuple[str, int, int]:
        print("tuning the peers' one-process settings ...", flush=True)
        # Prefetch multiplier 1 ran at about 3 operations/s here (each message waited for
        # the next turn of Celery's event loop): too slow to try within the bench.
        celery_options = [("solo", 100), ("solo", 1000), ("threads", 1000), ("prefork", 1000)]
        best_celery: tuple[float, str, int] = (0.0, "solo", 4)
        for n, (pool, prefetch) in enumerate(celery_options):
            env = {**celery_env, "PEERS_PREFETCH": str(prefetch)}
            run = self.celery(env, db, sets[n], pool, 1, f"tune Celery {pool} prefetch {prefetch}")
            label = f"--pool {pool} --concurrency 1"
            self.tuning.append(("Celery", f"{label}, prefetch multiplier {prefetch}", run.rate))
            best_celery = max(best_celery, (run.rate, pool, prefetch))
        best_threads: tuple[float, int] = (0.0, 1)
        for n, threads in enumerate((2, 4, 8, 16)):
            run = self.dramatiq(
                dramatiq_env, db, sets[4 + n], threads, 1, f"tune Dramatiq threads {threads}"
            )
            self.tuning.append(("Dramatiq", f"--processes 1 --threads {threads}", run.rate))
            best_threads = max(best_threads, (run.rate, threads))
        return best_celery[1], best_celery[2], best_threads[1]

    def run_memory(self, env: dict[str, str], db: Database, bulk_ids: list[int]) -> None:
        print(f"memory: one consumer over {self.args.rss_operations:,} operations ...", flush=True)

        def sample(done: int, rss: int) -> None:
            self.memory.append((done, rss / 2**20))

        self.memory_run = self.ours(env, db, bulk_ids, 1, "memory run", sample)

    # -- SQLite -----------------------------------------------------------------------------

    def run_sqlite(self) -> None:
        args = self.args
        path = Path(self.logdir) / "bench_peers.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        env = base_environment(url, "db", self.redis)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
            cwd=BASE_DIR,
            env=env,
            check=True,
        )
        with Acceptor(env, self.logdir) as acceptor:
            print("accepting bulks on SQLite ...", flush=True)
            sets = [acceptor.accept(args.transport_operations) for _ in range(args.runs)]
        db = Database(url)
        try:
            case = Case("ours, db transport, SQLite", 1, args.transport_operations)
            for n, uuids in enumerate(sets):
                case.runs.append(
                    self.ours(env, db, db.bulk_ids(uuids), 1, f"db/SQLite run {n + 1}")
                )
            self.transports.append(case)
        finally:
            db.close()


# -- the report ---------------------------------------------------------------------------------


IDLE_LEAVES = frozenset(
    {"Condition.wait", "Event.wait", "EpollSelector.select", "PollPoller.poll", "_epoll.poll"}
)
WORK = "execute_operations (operations/actions/running.py)"


def summarize_profile(path: Path, top: int = 12) -> list[str]:
    """Return markdown of py-spy's raw (collapsed) stacks: idle threads' samples left
    out, the share of `execute_operations`, and below it the functions with the most
    samples on the stack (inclusive) and of their own, in % of its samples."""
    import re
    from collections import Counter

    busy, work, inclusive, own = 0, 0, Counter[str](), Counter[str]()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        names = [short_frame(re.sub(r":\d+\)$", ")", f)) for f in stack.split(";")]
        if WORK not in names:
            if names[-1].split(" ")[0] not in IDLE_LEAVES:
                busy += n
            continue
        busy += n
        work += n
        below = names[names.index(WORK) :]
        for name in set(below):
            inclusive[name] += n
        own[below[-1]] += n
    if not work:
        return []
    rows = [
        f"`execute_operations` is on {100 * work / busy:.0f}% of the samples of threads not "
        f"waiting idle ({work:,} samples); below it, in % of those:",
        "",
        "| function (on the stack) | % | function (own time) | % |",
        "|---|---:|---|---:|",
    ]
    for (a, na), (b, nb) in zip(inclusive.most_common(top), own.most_common(top), strict=False):
        rows.append(f"| `{a}` | {100 * na / work:.1f} | `{b}` | {100 * nb / work:.1f} |")
    return rows


def short_frame(frame: str) -> str:
    """`execute_operations (/work/x/operations/actions/running.py)` → `execute_operations
    (operations/actions/running.py)`; site-packages paths from the package on."""
    for marker in ("site-packages/", str(BASE_DIR) + "/", "lib/python3."):
        if marker in frame:
            head, _, tail = frame.partition("(")
            path = tail.split(marker, 1)[1]
            if marker == "lib/python3.":
                path = "stdlib/" + path.split("/", 1)[-1]
            return f"{head}({path}"
    return frame


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def machine(database_url: str | None, rabbit: bool, load_before: tuple[float, ...]) -> str:
    parts = [f"{platform.system()} {os.cpu_count()} CPUs", f"Python {platform.python_version()}"]
    if database_url:
        import psycopg

        with psycopg.connect(database_url) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        parts.append(f"PostgreSQL {version[0].split()[0] if version else '?'}")
    if rabbit:
        parts.append(f"RabbitMQ {rabbitmq_version()}")
    load = os.getloadavg()
    parts.append(
        f"load average {load_before[0]:.1f} at the start, {load[0]:.1f} at the end "
        "(the machine is shared)"
    )
    return ", ".join(parts)


def render(bench: Bench, machine_text: str) -> tuple[str, list[str]]:
    """Return the markdown tables and the lines of targets."""
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {machine_text}; "
        f"{bench.args.runs} run(s) per case, medians.",
        "",
    ]
    targets: list[str] = []
    by = {(c.name, c.processes): c for c in bench.peers}
    if bench.peers:
        lines += [
            "| worker | processes | setting | operations per run | operations/s "
            "| CPU ms/operation | peak RSS | runs (operations/s) |",
            "|---|---:|---|---:|---:|---:|---:|---|",
        ]
        for c in bench.peers:
            runs = ", ".join(f"{r.rate:,.0f}" for r in c.runs)
            lines.append(
                f"| {c.name} | {c.processes} | {c.setting} | {c.operations:,} | "
                f"{c.median('rate'):,.0f} | {c.median('cpu_ms'):.2f} | "
                f"{c.median('rss_mib'):,.0f} MiB | {runs} |"
            )
        ours1, ours2 = by[("ours", 1)], by[("ours", 2)]
        rate, cpu = ours1.median("rate"), ours1.median("cpu_ms")
        celery, dramatiq = by[("Celery", 1)].median("rate"), by[("Dramatiq", 1)].median("rate")
        two = ours2.median("rate") / rate
        targets += [
            f"- one consumer ≥ 2,000 operations/s: {rate:,.0f}, {verdict(rate >= 2000)}",
            f"- ≤ 0.5 CPU ms per operation: {cpu:.2f}, {verdict(cpu <= 0.5)}",
            f"- ≥ 5× Celery (one process each): {rate / celery:.1f}×, "
            f"{verdict(rate >= 5 * celery)}",
            f"- ≥ 3× Dramatiq (one process each): {rate / dramatiq:.1f}×, "
            f"{verdict(rate >= 3 * dramatiq)}",
            f"- two consumer processes ≥ 1.7× one: {two:.2f}×, {verdict(two >= 1.7)}",
        ]
        for name in ("Celery", "Dramatiq"):
            peer_two = by[(name, 2)].median("rate") / by[(name, 1)].median("rate")
            targets.append(f"- (for reference) {name} two processes vs one: {peer_two:.2f}×")
        lines.append("")
    if bench.tuning:
        lines += ["Peers' one-process settings tried (`--tune`, one run each):", ""]
        lines += ["| peer | setting | operations/s |", "|---|---|---:|"]
        lines += [f"| {p} | {s} | {r:,.0f} |" for p, s, r in bench.tuning]
        lines.append("")
    if bench.transports:
        lines += [
            "| transport | operations per run | operations/s | CPU ms/operation | peak RSS "
            "| runs |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for c in bench.transports:
            runs = ", ".join(f"{r.rate:,.0f}" for r in c.runs)
            name = "ours, amqp" if c.name == "ours" else c.name
            lines.append(
                f"| {name} | {c.operations:,} | {c.median('rate'):,.0f} | "
                f"{c.median('cpu_ms'):.2f} | {c.median('rss_mib'):,.0f} MiB | {runs} |"
            )
        rates = {c.name: c.median("rate") for c in bench.transports}
        amqp = rates.get("ours") or rates.get("ours, amqp")
        pg = rates.get("ours, db transport, PostgreSQL")
        if amqp and pg:
            targets.append(
                f"- db transport on PostgreSQL ≥ 0.5× amqp: {pg / amqp:.2f}×, "
                f"{verdict(pg >= 0.5 * amqp)}"
            )
        lines.append("")
    if bench.memory:
        last = bench.memory[-1]
        # The reference point is 10,000 operations; a shorter run uses its tenth.
        ref = min(10_000, max(1, last[0] // 10))
        at_ref = rss_at(bench.memory, ref)
        growth = (last[1] - at_ref) / at_ref
        rate = bench.memory_run.rate if bench.memory_run else 0.0
        lines.append(
            f"Consumer memory: RSS {at_ref:,.1f} MiB at {ref:,} operations, {last[1]:,.1f} MiB "
            f"at {last[0]:,} ({growth:+.1%}); that run: {rate:,.0f} operations/s."
        )
        targets.append(
            f"- consumer RSS growth {ref:,} → {last[0]:,} operations < 10%: {growth:+.1%}, "
            f"{verdict(growth < 0.10)}"
        )
        lines.append("")
    for peer, rows in bench.profiles.items():
        if rows:
            lines += [
                f"Profile of {peer} (`--profile`: py-spy, 100 samples/s, up to 20 s of its first "
                "one-process run; the process doing the work):",
                "",
                *rows,
                "",
            ]
    if bench.accept_rates:
        lines.append(
            f"Accepting the bulks (one POST each, at most 10,000 items): median "
            f"{statistics.median(bench.accept_rates):,.0f} items/s."
        )
        lines.append("")
    return "\n".join(lines), targets


def rss_at(samples: list[tuple[int, float]], operations: int) -> float:
    for done, rss in samples:
        if done >= operations:
            return rss
    return samples[-1][1]


def plot(bench: Bench, caption: str) -> list[str]:
    """Write the PNGs; return their markdown."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    PLOTS.mkdir(parents=True, exist_ok=True)
    out = []
    if bench.peers:
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        names = ["ours", "Celery", "Dramatiq"]
        width = 0.38
        for offset, processes in ((-width / 2, 1), (width / 2, 2)):
            cases = [
                c for n in names for c in bench.peers if c.name == n and c.processes == processes
            ]
            xs = [i + offset for i in range(len(cases))]
            bars = left.bar(
                xs, [c.median("rate") for c in cases], width, label=f"{processes} process(es)"
            )
            left.bar_label(bars, fmt="%.0f", fontsize=8)
            bars = right.bar(
                xs, [c.median("cpu_ms") for c in cases], width, label=f"{processes} process(es)"
            )
            right.bar_label(bars, fmt="%.2f", fontsize=8)
        for ax, title in (
            (left, "product creates / s (higher is better)"),
            (right, "CPU ms per operation (lower is better)"),
        ):
            ax.set_xticks(range(len(names)), names)
            ax.set_title(title, fontsize=10)
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(PLOTS / "peers.png", dpi=110)
        plt.close(fig)
        out.append(
            "![operations/s and CPU ms per operation: ours, Celery, Dramatiq](bench/peers.png)"
            f"\n\n*{caption}*"
        )
    if bench.transports:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        labels = [
            "amqp (PostgreSQL)"
            if c.name in ("ours", "ours, amqp")
            else c.name.replace("ours, db transport, ", "db, ")
            for c in bench.transports
        ]
        bars = ax.bar(labels, [c.median("rate") for c in bench.transports], color="tab:green")
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
        ax.set_title("one consumer (README command), product creates / s", fontsize=10)
        fig.tight_layout()
        fig.savefig(PLOTS / "transports.png", dpi=110)
        plt.close(fig)
        out.append(f"![operations/s per transport](bench/transports.png)\n\n*{caption}*")
    if bench.memory:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.plot([d for d, _ in bench.memory], [r for _, r in bench.memory], marker=".")
        ax.set_xlabel("operations completed")
        ax.set_ylabel("RSS (MiB)")
        ax.set_ylim(0, max(r for _, r in bench.memory) * 1.15)
        ax.set_title("one consumer's resident memory", fontsize=10)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(PLOTS / "consumer_rss.png", dpi=110)
        plt.close(fig)
        out.append(
            f"![consumer RSS against operations processed](bench/consumer_rss.png)\n\n*{caption}*"
        )
    return out


def write_docs(body: str) -> None:
    replace_section(SECTION_START, SECTION_END, f"{SECTION_START}\n{body}\n{SECTION_END}", DOCS)


def part_notes(bench: Bench) -> list[str]:
    """The bullets describing the parts that ran."""
    a = bench.args
    notes = []
    if bench.peers:
        notes += [
            "- **ours**: `manage.py queue_consumers_start async.operations.all` exactly as the "
            "README starts it (default options: the declared batch of "
            "`OPERATIONS_CONSUMER_BATCH_SIZE`), amqp; messages published by the project's own "
            "`operations.actions.outbox.publish_rows`, as the API publishes after commit. "
            "Two processes: two such commands on the same queue.",
            "- **Celery** (`bench/_peer_celery.py`) and **Dramatiq** "
            "(`bench/_peer_dramatiq.py`): one message per operation id; the task / actor calls "
            "`operations.actions.running.execute_operations([id])`, the very function our "
            "consumer runs, imported, and the message is acknowledged after it returned "
            "(Celery `task_acks_late=True`; Dramatiq acks after the actor). Same RabbitMQ, a "
            "vhost of their own. Their rates are measured on fewer operations per run than "
            f"ours ({a.peer_operations:,} against {a.operations:,}) to keep the bench short: "
            "rates, not totals, are compared.",
        ]
    if bench.transports:
        notes.append(
            "- **transports**: the same run of ours on the db transport "
            f"({a.transport_operations:,} operations per run) with PostgreSQL and with SQLite "
            "(a fresh file, bulks accepted by its own `serve`), beside the amqp figure."
        )
    if bench.memory:
        notes.append(
            f"- **memory**: one consumer (amqp) over {a.rss_operations:,} operations, RSS "
            "sampled every 2 s."
        )
    return notes


def docs_body(
    bench: Bench, tables: str, targets: list[str], figures: list[str], command: str
) -> str:
    return "\n".join(
        [
            "## End to end against Celery and Dramatiq; transports; consumer memory",
            "",
            "Reproduce (PostgreSQL, RabbitMQ and `rabbitmqctl` on loopback; the database "
            "`asyncbulk_bench_peers` is dropped and created afresh, and the bench creates and "
            "deletes RabbitMQ vhosts of its own):",
            "",
            f"    {command}",
            "",
            "Every operation is a product create accepted through the bulk API of a real "
            "`manage.py serve --no-consumers` (PostgreSQL, amqp) before anything runs; those "
            "messages are purged. Each run starts the worker(s), waits until they consume and "
            "rest, reads their CPU time, pauses them, publishes one set's messages, resumes them, "
            "and waits until every operation of the set is complete (status, result and events "
            "recorded). Operations/s is the set divided by the time from its first operation "
            "started to its last finished (the operations' own times in the database); CPU ms "
            "per operation is the workers' CPU time (every process and child, psutil) over the "
            "run divided by the operations; peak RSS is summed over the worker's processes.",
            "",
            *part_notes(bench),
            f"- Redis ({REDIS_URL}) is the channel layer of every worker when it runs, as in "
            "production: the function's events go to it.",
            "- On a shared machine the rates move with the load (see the runs); CPU ms per "
            "operation moves much less and is the steadier comparison.",
            "",
            tables,
            "Targets (issue 11):",
            "",
            *targets,
            "",
            *[f + "\n" for f in figures],
        ]
    ).rstrip("\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--operations", type=int, default=10_000)
    parser.add_argument("--peer-operations", type=int, default=500)
    parser.add_argument("--transport-operations", type=int, default=5_000)
    parser.add_argument("--rss-operations", type=int, default=100_000)
    parser.add_argument("--parts", default="peers,transports,memory")
    parser.add_argument(
        "--celery-pool", choices=("solo", "threads", "prefork"), default=CELERY_POOL
    )
    parser.add_argument("--celery-prefetch", type=int, default=CELERY_PREFETCH)
    parser.add_argument("--dramatiq-threads", type=int, default=DRAMATIQ_THREADS)
    parser.add_argument("--tune", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--tune-operations", type=int, default=300)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_PEERS_DATABASE_URL", DEFAULT_DATABASE_URL),
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    if args.operations > BULK_MAX:
        parser.error(f"--operations is at most {BULK_MAX:,} (one bulk)")
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    unknown = parts - {"peers", "transports", "memory"}
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")

    # Stopped by a signal: still stop the workers and delete the vhosts (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(f"{sys.argv[0]}: terminated"))
    logdir = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    print(f"logs: {logdir}", flush=True)
    bench = Bench(args, logdir)
    rabbit = rabbitmq_missing()
    postgres = postgres_missing(args.database_url)
    for part in ("peers", "memory"):
        if part in parts and (rabbit or postgres):
            print(f"SKIPPED {part}: {rabbit or postgres}", flush=True)
            bench.skipped.append(f"{part}: {rabbit or postgres}")
    if "transports" in parts and postgres:
        print(f"SKIPPED transports on PostgreSQL (db, amqp): {postgres}", flush=True)
        bench.skipped.append(f"transports on PostgreSQL: {postgres}")
    elif "transports" in parts and rabbit:
        print(f"SKIPPED transports on amqp: {rabbit}", flush=True)
        bench.skipped.append(f"transports on amqp: {rabbit}")
    try:
        if rabbit is None:
            create_vhosts()
        if postgres is None:
            bench.run_postgres(parts, rabbit)
        if "transports" in parts:
            bench.run_sqlite()
    finally:
        if rabbit is None:
            delete_vhosts()
    elapsed = time.monotonic() - bench.started
    machine_text = machine(
        None if postgres else args.database_url, rabbit is None, bench.load_before
    )
    tables, targets = render(bench, machine_text)
    if bench.skipped:
        tables += "\nSkipped: " + "; ".join(bench.skipped) + "\n"
    tables += f"\nThe whole bench took {elapsed:.0f} s.\n"
    print(tables)
    print("\n".join(targets))
    print(f"bench took {elapsed:.0f} s", flush=True)
    if args.write_docs:
        command = (
            COMMAND
            if sys.argv[1:] == ["--write-docs"]
            else ".venv/bin/python bench/bench_peers.py " + " ".join(sys.argv[1:])
        )
        caption = f"Made by `{command}` on {machine_text}."
        figures = plot(bench, caption)
        write_docs(docs_body(bench, tables, targets, figures, command))
        print(f"wrote {DOCS.relative_to(BASE_DIR)} and {PLOTS.relative_to(BASE_DIR)}/", flush=True)


if __name__ == "__main__":
    main()
