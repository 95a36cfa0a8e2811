"""Benchmark of file imports (imports/): rows/s accepted and completed, and peak memory.

Reproduce (PostgreSQL and RabbitMQ reachable; the bench database is dropped and
created afresh, and a RabbitMQ vhost of its own is used):

    .venv/bin/python bench/bench_imports.py --write-docs

Measured, each in a fresh `manage.py import_file` process (what a merchant runs):
- accepted: a `--rows` (100,000) product CSV in Magento's layout (sku, name, price,
  qty, categories, visibility, additional attributes) imported in chunks of 1,000:
  rows/s from the command's start of reading to its last chunk accepted, every row
  validated by the API's serializers, one bulk per chunk written and published to
  RabbitMQ (publisher confirms) with an Idempotency-Key;
- completed end to end: a `--consumer-rows` (10,000) product CSV imported while one
  `queue_consumers_start async.operations.all` process (as the README starts it)
  runs its operations: rows/s from the import's start to the last operation finished;
- peak memory: the peak resident size (ru_maxrss, from wait4) of a dry run of files
  of 10,000, 30,000 and 100,000 rows, and of the 100,000-row import itself: flat in
  the file's size means the file is streamed.

Options: `--database-url URL` (default $BENCH_IMPORTS_DATABASE_URL, else
postgres://asyncbulk:asyncbulk@127.0.0.1:5432/asyncbulk_bench_imports), `--vhost`
(asyncbulk_bench_imports), `--write-docs` to replace the imports section of
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_operations import recreate_postgres_database, replace_section  # noqa: E402

BASE_DIR = Path(__file__).resolve().parent.parent
DOCS = BASE_DIR / "docs" / "BENCHMARKS.md"
DEFAULT_DATABASE_URL = "postgres://asyncbulk:asyncbulk@127.0.0.1:5432/asyncbulk_bench_imports"
COMMAND = ".venv/bin/python bench/bench_imports.py --write-docs"
START = "<!-- section: imports (bench/bench_imports.py) -->"
END = "<!-- end: imports -->"
SUMMARY = re.compile(r"(\d+) rows read, (\d+) accepted, (\d+) rejected.*\(([\d.]+) s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--consumer-rows", type=int, default=10_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_IMPORTS_DATABASE_URL", DEFAULT_DATABASE_URL),
    )
    parser.add_argument("--vhost", default="asyncbulk_bench_imports")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()

    env = environment(args.database_url, vhost(args.vhost))
    recreate_postgres_database(args.database_url)
    manage(env, "migrate", "-v0")
    manage(env, "queue_setup")
    manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model as g; "
        "g().objects.create_superuser('bench', 'bench@example.com', 'bench-pass-1')",
    )
    lines: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-imports-") as tmp:
        folder = Path(tmp)
        memory: list[tuple[int, int, int]] = []
        for n in sorted({10_000, 30_000, args.rows}):
            path = write_products(folder / f"dry-{n}.csv", n, f"D{n}-")
            _out, rss, seconds = import_file(env, path, "--dry-run")
            memory.append((n, path.stat().st_size, rss))
            print(f"dry run {n:,} rows: {seconds:.1f} s, peak RSS {rss / 1e6:.0f} MB", flush=True)

        big = write_products(folder / "big.csv", args.rows, "B-")
        out, import_rss, _seconds = import_file(env, big)
        rows, accepted, rejected, seconds = parse(out)
        accept_rate = accepted / seconds
        print(
            f"import {rows:,} rows: {accepted:,} accepted in {seconds:.1f} s = "
            f"{accept_rate:,.0f} rows/s, peak RSS {import_rss / 1e6:.0f} MB",
            flush=True,
        )
        purge_queue(env)

        small = write_products(folder / "e2e.csv", args.consumer_rows, "E-")
        consumer = subprocess.Popen(
            [sys.executable, "manage.py", "queue_consumers_start", "async.operations.all"],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            started = time.monotonic()
            out2, _rss2, _s = import_file(env, small)
            e2e_rows = parse(out2)[1]
            wait_completed(env, "E-", e2e_rows)
            e2e_seconds = time.monotonic() - started
        finally:
            consumer.terminate()
            consumer.wait(timeout=30)
        e2e_rate = e2e_rows / e2e_seconds
        consumer_rate = consumer_own_rate(env)
        print(
            f"end to end {e2e_rows:,} rows: {e2e_seconds:.1f} s = {e2e_rate:,.0f} rows/s "
            f"(the consumer's own rate: {consumer_rate:,.0f} operations/s)"
        )

    lines.append(
        (
            f"accepted: {args.rows:,}-row product CSV, chunks of 1,000, `import_file`",
            f"{accept_rate:,.0f} rows/s ({seconds:.1f} s, {rejected} rejected)",
            "≥ 5,000",
        )
    )
    lines.append(
        (
            f"completed end to end: {args.consumer_rows:,} rows, one "
            "`async.operations.all` consumer",
            f"{e2e_rate:,.0f} rows/s ({e2e_seconds:.1f} s, consumer start-up included)",
            f"the consumer's full rate: {consumer_rate:,.0f} operations/s "
            "(first started to last finished)",
        )
    )
    for n, size, rss in memory:
        lines.append(
            (
                f"peak memory, dry run of {n:,} rows ({size / 1e6:.1f} MB file)",
                f"{rss / 1e6:.0f} MB resident",
                "flat",
            )
        )
    lines.append(
        (
            f"peak memory, the {args.rows:,}-row import",
            f"{import_rss / 1e6:.0f} MB resident",
            "flat",
        )
    )
    table = render(lines)
    print(table)
    if args.write_docs:
        write_docs(table)


# -- setup ----------------------------------------------------------------------------------
def vhost(name: str) -> str:
    ctl = shutil.which("rabbitmqctl")
    if ctl:
        subprocess.run([ctl, "-q", "add_vhost", name], capture_output=True, timeout=60)
        subprocess.run(
            [ctl, "-q", "set_permissions", "-p", name, "guest", ".*", ".*", ".*"],
            check=True,
            timeout=60,
        )
    return f"amqp://guest:guest@127.0.0.1:5672/{name}"


def environment(database_url: str, amqp_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "QUEUE_CONNECTION": "amqp",
        "AMQP_URL": amqp_url,
        "QUEUE_EMBEDDED_CONSUMERS": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
    }


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return done.stdout


def purge_queue(env: dict[str, str]) -> None:
    """Empty async.operations.all: the accept phase's messages are not the end-to-end run's."""
    manage(
        env,
        "shell",
        "-c",
        "from queues.transports import create_transport; t = create_transport('amqp'); "
        "t.purge('async.operations.all') if hasattr(t, 'purge') else None; t.close()",
    )


def write_products(path: Path, n: int, prefix: str) -> Path:
    """A product CSV in Magento's export layout (the columns that matter here)."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(
            "sku,store_view_code,attribute_set_code,product_type,categories,product_websites,"
            "name,description,weight,product_online,visibility,price,url_key,"
            "additional_attributes,qty,is_in_stock\n"
        )
        for i in range(n):
            out.write(
                f"{prefix}{i},,Default,simple,Default Category/Bench/Group {i % 20},base,"
                f'Bench product {i},"<p>Description of product {i}, with a comma.</p>",'
                f'{i % 9}.5,1,"Catalog, Search",{i % 300}.99,{prefix.lower()}{i},'
                f"colour=blue,{i % 50},1\n"
            )
    return path


def import_file(env: dict[str, str], path: Path, *extra: str) -> tuple[str, int, float]:
    """Run `import_file` in a fresh process; return (stdout, peak RSS bytes, seconds)."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "import_file",
                str(path),
                "--entity",
                "products",
                "--no-progress",
                *extra,
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"import_file failed:\n{text[-3000:]}")
    return text, usage.ru_maxrss * 1024, time.monotonic() - started


def parse(out: str) -> tuple[int, int, int, float]:
    found = SUMMARY.search(out)
    if found is None:
        raise SystemExit(f"no summary in:\n{out[-2000:]}")
    return int(found[1]), int(found[2]), int(found[3]), float(found[4])


def wait_completed(env: dict[str, str], prefix: str, n: int, timeout: float = 900) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM catalog_product WHERE sku LIKE %s", (prefix + "%",)
            ).fetchone()
            if row and row[0] >= n:
                return
            time.sleep(0.5)
    raise SystemExit("the consumer did not finish in time")


def consumer_own_rate(env: dict[str, str]) -> float:
    """Operations/s of the completed operations (only the end-to-end run's complete)."""
    import psycopg

    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*), extract(epoch FROM max(finished_at) - min(started_at)) "
            "FROM operations_operation WHERE status = 1"
        ).fetchone()
    count, seconds = row or (0, 0)
    return float(count) / float(seconds or 1)


def render(lines: list[tuple[str, str, str]]) -> str:
    host = (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at the end (other work shares the CPUs)"
    )
    out = [
        f"Measured on {host}, PostgreSQL + RabbitMQ on loopback.",
        "",
        "| case | result | target |",
        "|---|---|---|",
    ]
    out += [f"| {case} | {result} | {target} |" for case, result, target in lines]
    return "\n".join(out) + "\n"


def write_docs(table: str) -> None:
    body = (
        f"{START}\n## Imports\n\n"
        "Reproduce (PostgreSQL and RabbitMQ on loopback; the bench database "
        "`asyncbulk_bench_imports` is dropped and created afresh):\n\n"
        f"    {COMMAND}\n\n"
        "Each figure is one fresh `manage.py import_file` process reading a product CSV in "
        "Magento's export layout, in chunks of 1,000 rows (one bulk each, through the "
        "async bulk API's own accepting, published to RabbitMQ). Accepted rows/s is the "
        "command's own timing; end to end runs one `queue_consumers_start "
        "async.operations.all` process beside the import until every product exists; peak "
        "memory is the process's peak resident size (Django and the app included).\n\n"
        f"{table}\n{END}"
    )
    replace_section(START, END, body, DOCS)


if __name__ == "__main__":
    main()
