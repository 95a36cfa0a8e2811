"""Benchmark of the asynchronous and bulk API against the synchronous one, on PostgreSQL + RabbitMQ.

Reproduce (PostgreSQL and RabbitMQ reachable; the bench database is dropped and
created afresh, so every run starts from the same empty catalog):

    .venv/bin/python bench/bench_operations.py --runs 5 --write-docs

Side by side, in one run, each a median of `--runs` runs:
- sync: items/s written through `POST /rest/all/V1/products` by `--clients` (8)
  concurrent HTTP clients (keep-alive connections), `--sync-items` (2,000) products
  in all per run;
- bulk accept: items/s accepted by one `POST /rest/all/async/bulk/V1/products`
  request of `--bulk-items` (5,000) products: from the first byte sent to the 202,
  which includes validating every item, the one transaction writing the bulk, its
  operations and events, publishing every message with publisher confirms and
  marking them published;
- consumer: product-create operations/s completed by one consumer process started
  as the README says (`manage.py queue_consumers_start async.operations.all`, its
  declared batch size), and beside it one with `--batch-size 1`, each with its
  status, result and events recorded: per bulk, operations divided by the time from
  the first operation started to the last one finished (process start-up is not
  counted). The first half of the bulks (rounded up) go to the first, the rest to
  the second.
The server is a real `manage.py serve --no-consumers` (daphne) in a subprocess on a
free port, with QUEUE_CONNECTION=amqp.

Options: `--database-url URL` (default $BENCH_OPERATIONS_DATABASE_URL, else
postgres://asyncbulk:asyncbulk@127.0.0.1:5432/asyncbulk_bench_operations),
`--batch-size N` for the first consumer (default: none given, as in the README),
`--write-docs` to replace the
operations section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
DOCS = BASE_DIR / "docs" / "BENCHMARKS.md"
DEFAULT_DATABASE_URL = "postgres://asyncbulk:asyncbulk@127.0.0.1:5432/asyncbulk_bench_operations"
COMMAND = ".venv/bin/python bench/bench_operations.py --runs 5 --write-docs"
PASSWORD = "bench-password-1"
QUEUE = "async.operations.all"


@dataclass
class Result:
    case: str
    unit: str
    rates: list[float]
    target: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--sync-items", type=int, default=2000)
    parser.add_argument("--bulk-items", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_OPERATIONS_DATABASE_URL", DEFAULT_DATABASE_URL),
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()

    env = bench_environment(args.database_url)
    setup_django(args.database_url)
    token = prepare(env)
    port = free_port()
    sync = Result("sync API, 8 concurrent clients", "items/s", [])
    bulk = Result("bulk accept, one 5,000-item request", "items/s", [], "≥ 5,000 and ≥ 30× sync")
    bulk_uuids: list[str] = []
    with tempfile.NamedTemporaryFile(
        "w+", prefix="bench-operations-server-", suffix=".log", delete=False
    ) as log:
        print(f"server log: {log.name}", flush=True)
        server = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--no-consumers", "--port", str(port)],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port)
            client = Client(port, token)
            for run in range(args.runs):
                sync.rates.append(client.sync_rate(f"S{run}-", args.sync_items, args.clients))
                rate, bulk_uuid = client.bulk_rate(f"B{run}-", args.bulk_items)
                bulk.rates.append(rate)
                bulk_uuids.append(bulk_uuid)
                print(
                    f"run {run + 1}: sync {sync.rates[-1]:,.0f} items/s, "
                    f"bulk accept {rate:,.0f} items/s",
                    flush=True,
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    first = (len(bulk_uuids) + 1) // 2
    flag = "" if args.batch_size is None else f" --batch-size {args.batch_size}"
    consumer = Result(
        f"consumer, one process as the README starts it{flag}, product creates",
        "operations/s",
        [],
        "≥ 2,000",
    )
    one_by_one = Result("consumer, one process, `--batch-size 1`", "operations/s", [], "—")
    consumer.rates = consume(env, bulk_uuids[:first], args.bulk_items, args.batch_size)
    one_by_one.rates = consume(env, bulk_uuids[first:], args.bulk_items, 1, done=first)
    for result in (consumer, one_by_one):
        rates = ", ".join(f"{r:,.0f}" for r in result.rates)
        print(f"{result.case}: {rates} operations/s", flush=True)
    ratio = bulk.median / sync.median
    table = render([sync, bulk, consumer, one_by_one], ratio, args)
    print(table)
    if args.write_docs:
        write_docs(table)


# -- setup ----------------------------------------------------------------------------------


def bench_environment(database_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "QUEUE_CONNECTION": "amqp",
        "QUEUE_EMBEDDED_CONSUMERS": "0",
        # Under ASGI every request runs in a thread of its own: persistent connections
        # would pile up (one per finished thread) until PostgreSQL refuses more.
        "DATABASE_CONN_MAX_AGE": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(
        {
            k: env[k]
            for k in ("DATABASE_URL", "QUEUE_CONNECTION", "LOG_LEVEL", "DJANGO_SETTINGS_MODULE")
        }
    )
    return env


def setup_django(database_url: str) -> None:
    """Create the bench database afresh, set Django up on it and migrate."""
    sys.path.insert(0, str(BASE_DIR))
    recreate_postgres_database(database_url)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def recreate_postgres_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = url[: -len(parsed.path)] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def prepare(env: dict[str, str]) -> str:
    """Declare the topology on RabbitMQ, empty the operations queue; return an admin token."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from queues.transports import create_transport
    from webapi.actions import issue_admin_token

    call_command("queue_setup", verbosity=0)
    transport = create_transport("amqp")
    try:
        transport.purge(QUEUE)
    finally:
        transport.close()
    get_user_model().objects.create_superuser("bench", "bench@example.com", PASSWORD)
    return issue_admin_token("bench", PASSWORD)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server did not listen on port {port} within {timeout}s")


# -- the cases --------------------------------------------------------------------------------


def product(sku: str) -> dict[str, Any]:
    return {
        "product": {
            "sku": sku,
            "name": f"Simple product {sku}",
            "attribute_set_id": 4,
            "price": 10,
            "status": 1,
            "visibility": 4,
            "type_id": "simple",
            "weight": 1,
            "custom_attributes": [{"attribute_code": "description", "value": "A bench product"}],
        }
    }


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def _post(self, conn: http.client.HTTPConnection, path: str, body: bytes) -> tuple[int, bytes]:
        conn.request("POST", path, body=body, headers=self.headers)
        response = conn.getresponse()
        return response.status, response.read()

    def sync_rate(self, prefix: str, items: int, clients: int) -> float:
        """Return items/s for `items` products POSTed by `clients` threads, one per request."""
        per_client = items // clients
        errors: list[str] = []
        barrier = threading.Barrier(clients + 1)

        def work(index: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            bodies = [
                json.dumps(product(f"{prefix}{index}-{n}")).encode() for n in range(per_client)
            ]
            barrier.wait()
            for body in bodies:
                status, answer = self._post(conn, "/rest/all/V1/products", body)
                if status != 200:
                    errors.append(f"{status} {answer[:200]!r}")
            conn.close()

        threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        barrier.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        if errors:
            raise SystemExit(f"{len(errors)} synchronous writes failed, e.g. {errors[0]}")
        return per_client * clients / elapsed

    def bulk_rate(self, prefix: str, items: int) -> tuple[float, str]:
        """Return (items/s, bulk uuid) for one bulk request of `items` products."""
        body = json.dumps([product(f"{prefix}{n}") for n in range(items)]).encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        conn.connect()
        started = time.perf_counter()
        status, answer = self._post(conn, "/rest/all/async/bulk/V1/products", body)
        elapsed = time.perf_counter() - started
        conn.close()
        if status != 202:
            raise SystemExit(f"the bulk request failed: {status} {answer[:300]!r}")
        parsed = json.loads(answer)
        if parsed["errors"]:
            raise SystemExit("the bulk request rejected items")
        return items / elapsed, parsed["bulk_uuid"]


def consume(
    env: dict[str, str], bulk_uuids: list[str], items: int, batch_size: int | None, done: int = 0
) -> list[float]:
    """Run one consumer process over the operations of `bulk_uuids` (the next ones on
    the queue, after `done` bulks already consumed); return operations/s per bulk."""
    from django.db.models import Max, Min

    from catalog.models import Product
    from operations.models import Bulk, Operation, OperationStatus

    total = items * len(bulk_uuids)
    waiting = Operation.objects.filter(status=OperationStatus.OPEN, published=True).count()
    if waiting < total:
        raise SystemExit("not every accepted operation was published")
    flag = [] if batch_size is None else ["--batch-size", str(batch_size)]
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "queue_consumers_start",
            QUEUE,
            *flag,
            "--max-messages",
            str(total),
            "--max-idle-time",
            "30",
        ],
        cwd=BASE_DIR,
        env=env,
        check=True,
    )
    complete = Operation.objects.filter(status=OperationStatus.COMPLETE).count()
    expected = items * done + total
    if complete != expected or Product.objects.filter(sku__startswith="B").count() != expected:
        failed = Operation.objects.exclude(status=OperationStatus.COMPLETE).values_list(
            "result_message"
        )[:3]
        raise SystemExit(f"{complete} of {expected} operations completed; e.g. {list(failed)}")
    rates = []
    for bulk in Bulk.objects.filter(uuid__in=bulk_uuids):
        span = bulk.operations.aggregate(first=Min("started_at"), last=Max("finished_at"))
        rates.append(items / (span["last"] - span["first"]).total_seconds())
    return rates


# -- the report -------------------------------------------------------------------------------


def render(results: list[Result], ratio: float, args: argparse.Namespace) -> str:
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {environment()}; {args.runs} runs, medians.",
        "",
        "| case | median | runs | target |",
        "|---|---:|---|---|",
    ]
    for r in results:
        runs = ", ".join(f"{rate:,.0f}" for rate in r.rates)
        lines.append(f"| {r.case} | {r.median:,.0f} {r.unit} | {runs} | {r.target} |")
    lines += ["", f"Bulk accept is **{ratio:,.0f}×** the synchronous rate (target ≥ 30×)."]
    return "\n".join(lines)


def environment() -> str:
    cpus = os.cpu_count()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0].split()[0]
    load = os.getloadavg()[0]
    return (
        f"{platform.system()} {cpus} CPUs (load average {load:.1f} at the end), Python "
        f"{platform.python_version()}, PostgreSQL {pg}, RabbitMQ on loopback"
    )


def command_line() -> str:
    """The command this run was started with (bench/run.py runs it with fewer runs)."""
    if sys.argv[0].endswith("bench_operations.py") and len(sys.argv) > 1:
        return " ".join([".venv/bin/python", "bench/bench_operations.py", *sys.argv[1:]])
    return COMMAND


def write_docs(table: str) -> None:
    start = "<!-- section: operations (bench/bench_operations.py) -->"
    end = "<!-- end: operations -->"
    body = (
        f"{start}\n## Asynchronous and bulk API\n\n"
        "Reproduce (PostgreSQL and RabbitMQ on loopback; the bench database "
        "`asyncbulk_bench_operations` is dropped and created afresh):\n\n"
        f"    {command_line()}\n\n"
        "The synchronous rate is 8 concurrent HTTP clients creating products one per "
        "request against `manage.py serve --no-consumers`; bulk accept is one "
        "5,000-product request to `async/bulk/V1/products` on the same server, from the "
        "first byte sent to the 202 (validation, one transaction for the bulk, its "
        "operations and events, publishing with confirms, marking them published); the "
        "consumer is one `queue_consumers_start async.operations.all` process (as the "
        "README starts it: its declared batch size, `OPERATIONS_CONSUMER_BATCH_SIZE` 100) "
        "creating those products, status, result and events recorded, and beside it one "
        "started with `--batch-size 1`.\n\n"
        f"{table}\n{end}"
    )
    replace_section(start, end, body)


def replace_section(start: str, end: str, body: str, docs: Path = DOCS) -> None:
    """Put `body` (which begins with `start` and ends with `end`) in `docs` in place of
    the section between those markers, or at the end when there is none yet. Every bench
    script writes its own section of docs/BENCHMARKS.md so."""
    text = docs.read_text()
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: body, text)
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    docs.write_text(text)


if __name__ == "__main__":
    main()
