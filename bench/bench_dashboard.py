"""Benchmark of the dashboard: live delay, database queries caused by open pages, page server time.

Reproduce (PostgreSQL, RabbitMQ with `rabbitmqctl`, Redis on loopback, Chromium at
/usr/bin/chromium; the bench database `asyncbulk_bench_dashboard` and the RabbitMQ
vhost of the same name are made afresh and dropped at the end):

    .venv/bin/python bench/bench_dashboard.py --write-docs

The production shape, as tests/fixtures/browser.py starts it: a fresh PostgreSQL
database, a RabbitMQ vhost of its own, Redis as the channel layer (a Redis database
number of its own, `--redis-url`, so that other servers on this Redis are not heard),
`manage.py migrate`, `queue_setup`, one `manage.py serve --no-consumers` process
(daphne, default settings) and separate `manage.py queue_consumers_start
async.operations.all` processes, each in a session of its own as a supervisor would
start them. One consumer process with the README's defaults (per message) completes
fewer than 200 CMS block creates/s on this 2-core machine, so two run, with
`--batch-size 100` (one alone does about 1,000/s on an idle machine; `--consumers`,
`--batch-size`). Operations are CMS block creates accepted with an admin token through
`POST /rest/all/async/bulk/V1/cmsBlock` (WEBAPI_BULK_MAX_ITEMS is raised so that the
whole bulk is ONE request).

Pages: `--rendered-pages` (1) headless Chromium pages (one browser, one context each,
signed in through the login form) show the bulk's page `/dashboard/bulks/<uuid>/`; the
other pages of `--pages` (20) are socket-only: websockets opened by the first page,
with its session, that send its watch message (they show the same bulk and
operations) and record what they receive, without rendering it. The server does the
same work for either kind; 20 people's browsers do not share the server's 2 cores,
and 20 rendering Chromium pages here take over a core from the server and the
consumer (`--rendered-pages 20` measures that).

1. Live delay. First, for comparison, one consumer process alone (no page open)
   runs a small bulk per message and one with `--batch-size 100`. Then one bulk of
   `--operations` (25,000) is accepted with no consumer running, `--pages` (20)
   pages open on it and wait for "Live" (`#live-status[data-state="live"]`), and
   the consumers start. Each page records, through an init script, (Date.now(),
   count) every time the "Complete" count of its summary changes (a
   MutationObserver) and of every websocket message carrying a summary. A thread of
   this process reads the bulk's `complete_count` every 10 ms on its own connection,
   (time.time(), count) of every change; another listens on Redis to the group the
   changes go to, like a server's hub. Delays, p50/p99/max over every page:
   - every operation: for each commit (the count going from a to b), the time until
     the page first shows >= b, counted once per operation it completed;
   - displayed counts (the issue's definition): for each count c a page showed, when
     it first showed >= c minus when the database first held >= c;
   - the same first one for the commits after the first 3 s only, to the websocket
     message instead of the DOM, and to the hubs hearing of the change on Redis.
   Also: operations completed per second while it ran, updates per page per second,
   the size of a message, and the CPU used by Chromium, the server, the consumers.
2. Queries per second of the web server process caused by open pages, while the same
   kind of bulk runs: 1 page open, then `--pages`, each a `--window` (15 s) after a
   warm-up of 3 s. The server is bench/_counting_server.py: the same
   `serve --no-consumers` command in a wrapper that counts the process's queries
   (CursorWrapper.execute/executemany), connections and hub flushes and times the
   flushes. Consumers, in processes of their own, are not counted.
3. Page server time with 1,000,000 operations: `--bulks` (1,000) bulks written with
   SQL (`INSERT ... SELECT generate_series`), one with `--big-operations` (1,000,000)
   operations (0.6% failed with four distinct codes and messages, spread over the
   bulk, the last 5,000 open, the rest complete), the others 1-40 each; their stored
   counters are set from their operations, then ANALYZE and `operations_recount
   --check`. Then, signed in (session cookie from the login form), one keep-alive
   connection over loopback: the bulk log, the log filtered by status, the big bulk's
   page, its failed filter, a later page of its operations (`?after=500000`): median
   and p95 of `--requests` (20) requests each after 2 warm-up requests, and the
   queries per request (from the counting server, which serves these too).
4. The operators' pages on that database plus a week of per-minute metrics of
   async.operations.all (one row per minute, written with SQL): the overview (last
   hour and 7 days), queues, consumers, failures across bulks (24 hours and 7 days),
   timed the same way.
5. Queries per second of the web server caused by 1 and by `--pages` open overview
   pages while a bulk runs, as part 2.

Options: `--pages N` (20), `--rendered-pages N` (1), `--operations N` (25,000),
`--consumers N` (2),
`--batch-size N` (100), `--window SECONDS` (15), `--big-operations N` (1,000,000),
`--bulks N` (1,000), `--requests N` (20), `--database-url URL` (default
$BENCH_DASHBOARD_DATABASE_URL, else
postgres://asyncbulk:asyncbulk@127.0.0.1:5432/asyncbulk_bench_dashboard),
`--redis-url URL` (default $BENCH_DASHBOARD_REDIS_URL, else redis://127.0.0.1:6379/11),
`--quick` (3 pages, 3,000 operations, 5 s windows, 100,000 big operations, 100 bulks,
5 requests: to try the script), `--save-raw FILE` (part 1's raw records as JSON),
`--write-docs` (replace, or add, the dashboard section of docs/BENCHMARKS.md). Parts 1
and 2 are skipped, with a line saying why, without RabbitMQ, Redis or Chromium (part
3 then runs on the db transport); PostgreSQL is needed for everything. Whatever
happens, every process started is stopped, the browser closed, the database and the
vhost dropped. About 5 minutes on 2 cores; at most about 10.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
DOCS = BASE_DIR / "docs" / "BENCHMARKS.md"
DEFAULT_DATABASE_URL = "postgres://asyncbulk:asyncbulk@127.0.0.1:5432/asyncbulk_bench_dashboard"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
COMMAND = ".venv/bin/python bench/bench_dashboard.py --write-docs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# As tests/fixtures/browser.py launches it.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUEUE = "async.operations.all"
USERNAME = "bench-staff"
PASSWORD = "Bench-dashboard-pass-1"
PERMISSIONS = (
    "operations.view_bulk",
    "operations.view_all_bulks",
    "operations.retry_operations",
    "operations.edit_operations",
    "operations.acknowledge_bulks",
    "queues.view_queues",
    "queues.operate_queues",
    "catalog.change_block",
    "catalog.view_block",
)
BULK_PATH = "/rest/all/async/bulk/V1/cmsBlock"
GROUP = "dashboard.changes"  # dashboard.live.hub.GROUP: where the changes go on Redis
POLL_EVERY = 0.01  # seconds between two reads of the bulk's stored counter
MAX_BULK = 60_000  # the largest bulk of part 2
WARMUP = 3.0  # seconds of a running bulk before a queries window starts
BROWSER = "Chromium and its Playwright driver"
STEADY_AFTER = 3.0  # part 1 also reports the delays of commits after the first seconds
P99_TARGET_MS = 250
PAGE_TARGET_MS = 150
SAME_QUERIES_TOLERANCE = 0.10  # "the same": 20 pages no more than 10% above 1 page
# The server and each consumer run in a session of their own, as services under a
# supervisor do: with the kernel's autogroup scheduling (sched_autogroup_enabled), the
# 20 Chromium renderers, all in this process's session, then share one fair part of
# the CPU instead of outnumbering the server and consumers thread for thread.
SERVICES_APART = True

# Installed in every page before its scripts: records when the summary's "Complete"
# count changes in the DOM, and when a websocket message carrying a summary arrives.
RECORDER_JS = r"""
(() => {
  const rec = window.__bench = {
    changes: [], messages: [], frames: [], initial: null, visibility: []
  };
  const Native = window.WebSocket;
  function record(ws, into) {
    ws.addEventListener("message", (event) => {
      if (typeof event.data !== "string") { return; }
      const now = Date.now();
      const found = /Complete<\/dt>\s*<dd>\s*([\d,.\s]+)</.exec(event.data);
      if (found) { into.messages.push([now, parseInt(found[1].replace(/\D/g, ""), 10)]); }
      into.frames.push([now, event.data.length]);
    });
  }
  function Recorded(url, protocols) {
    const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    const send = ws.send.bind(ws);
    ws.send = (data) => {
      rec.url = url;
      if (data.includes('"watch"')) { rec.watch = data; }
      send(data);
    };
    record(ws, rec);
    return ws;
  }
  // Socket-only pages: more websockets of this signed-in page, saying they show what it
  // shows (its last watch message) and recording what they get, with no rendering.
  rec.extra = [];
  window.__benchSockets = (count) => new Promise((resolve) => {
    let open = 0;
    for (let i = 0; i < count; i++) {
      const into = { changes: [], messages: [], frames: [] };
      rec.extra.push(into);
      const ws = new Native(rec.url);
      record(ws, into);
      ws.addEventListener("open", () => {
        ws.send(rec.watch.replace('"fresh":false', '"fresh":true'));
        ws.send(JSON.stringify({ visible: true }));
        if (++open === count) { resolve(open); }
      });
    }
    if (count === 0) { resolve(0); }
  });
  Recorded.prototype = Native.prototype;
  for (const name of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) { Recorded[name] = Native[name]; }
  window.WebSocket = Recorded;
  function shown() {
    const dd = document.querySelector("#bulk-summary .stat-grid dd");
    if (!dd) { return null; }
    const digits = dd.textContent.replace(/\D/g, "");
    return digits ? parseInt(digits, 10) : null;
  }
  document.addEventListener("visibilitychange", () => {
    rec.visibility.push([Date.now(), document.visibilityState]);
  });
  document.addEventListener("DOMContentLoaded", () => {
    let last = shown();
    rec.initial = last;
    new MutationObserver(() => {
      const now = Date.now();
      const count = shown();
      if (count !== null && count !== last) { rec.changes.push([now, count]); last = count; }
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
})();
"""


# -- results ------------------------------------------------------------------------------


@dataclass
class LiveResult:
    pages: int
    rendered: int  # of which Chromium renders; the others are socket-only pages
    operations: int
    consumers: str
    samples: int = 0
    shown_ms: dict[str, float] = field(default_factory=dict)  # p50, p99, max; every operation
    message_ms: dict[str, float] = field(default_factory=dict)  # the same, message received
    displayed_ms: dict[str, float] = field(default_factory=dict)  # displayed counts only
    heard_ms: dict[str, float] = field(default_factory=dict)  # commit -> the hubs hear of it
    steady_ms: dict[str, float] = field(default_factory=dict)  # shown, after STEADY_AFTER s
    frame_bytes: float = 0.0  # median size of a websocket message
    largest_frame: int = 0
    browser_ms: float = 0.0  # Chromium's CPU time per update of one page
    browser_idle: float = 0.0  # cores Chromium uses with the pages open, nothing changing
    commits: int = 0  # changes of the stored count the poller saw
    cpu: dict[str, float] = field(default_factory=dict)  # cores used, by whom, while it ran
    alone: dict[str, float] = field(default_factory=dict)  # one consumer, no page: ops/s
    rate: float = 0.0  # operations completed per second while the bulk ran
    run_seconds: float = 0.0
    updates_per_page: list[float] = field(default_factory=list)  # per second
    finished: bool = True
    note: str = ""


@dataclass
class QueriesResult:
    pages: int
    seconds: float
    queries: float  # per second
    connections: float
    flushes: float
    rate: float  # operations completed per second meanwhile
    flush_ms: float = 0.0  # mean time of a flush: read, render, send to every page
    batch_ms: float = 0.0  # of which reading and rendering (render.flush_batch)


@dataclass
class PageResult:
    name: str
    path: str
    times_ms: list[float]
    queries: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        return percentile(self.times_ms, 95)


@dataclass
class Report:
    live: LiveResult | None = None
    live_skipped: str = ""
    queries: list[QueriesResult] = field(default_factory=list)
    queries_skipped: str = ""
    fill: dict[str, Any] = field(default_factory=dict)
    pages: list[PageResult] = field(default_factory=list)
    pages_skipped: str = ""
    operator_pages: list[PageResult] = field(default_factory=list)
    overview_queries: list[QueriesResult] = field(default_factory=list)
    environment: str = ""
    started: float = field(default_factory=time.monotonic)
    load_before: float = field(default_factory=lambda: os.getloadavg()[0])


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile of `values` (linear between the closest ranks)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# -- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--rendered-pages", type=int, default=1)
    parser.add_argument("--operations", type=int, default=25_000)
    parser.add_argument("--consumers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--window", type=float, default=15.0)
    parser.add_argument("--big-operations", type=int, default=1_000_000)
    parser.add_argument("--bulks", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DASHBOARD_DATABASE_URL", DEFAULT_DATABASE_URL),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_DASHBOARD_REDIS_URL", DEFAULT_REDIS_URL)
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, to try the script")
    parser.add_argument("--save-raw", metavar="FILE", help="write part 1's raw records (JSON)")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.pages, args.operations, args.window = min(args.pages, 3), 3_000, 5.0
        args.big_operations, args.bulks, args.requests = 100_000, 100, 5

    # A SIGTERM ends the run like Ctrl-C: through the clean-up of `Bench.__exit__`.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit("stopped by SIGTERM"))
    report = Report()
    missing = missing_services(args)
    with Bench(args, missing) as bench:
        bench.setup()
        if missing["browser"]:
            report.live_skipped = report.queries_skipped = missing["browser"]
            print(f"parts 1 and 2 skipped: {missing['browser']}", flush=True)
        else:
            report.live = bench.live_delay()
            print(live_table(report.live), flush=True)
            report.queries = bench.queries_per_second()
            print(queries_table(report.queries), flush=True)
        report.fill = bench.fill()
        report.pages = bench.page_times()
        print(pages_table(report.pages), flush=True)
        report.operator_pages = bench.operator_page_times()
        print(pages_table(report.operator_pages), flush=True)
        if not missing["browser"]:
            report.overview_queries = bench.queries_per_second("overview")
            print(queries_table(report.overview_queries), flush=True)
        report.environment = bench.environment(report)
    elapsed = time.monotonic() - report.started
    text = render(report, args)
    print()
    print(text)
    print(f"\n(the whole run took {elapsed / 60:.1f} minutes)")
    if args.write_docs:
        write_docs(text, args)
        print(f"wrote the dashboard section of {DOCS.relative_to(BASE_DIR)}")


# -- services -------------------------------------------------------------------------------


def missing_services(args: argparse.Namespace) -> dict[str, str]:
    """Return why parts cannot run: "browser" (parts 1 and 2 need RabbitMQ, Redis and
    Chromium), "rabbitmq" (without it part 3 runs on the db transport); "" if nothing is
    missing. PostgreSQL, which every part needs, stops the run here."""
    import psycopg

    try:
        with psycopg.connect(admin_url(args.database_url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        raise SystemExit(f"PostgreSQL is unreachable at {args.database_url}: {exc}") from exc
    rabbitmq = ""
    amqp = urlparse(os.environ.get("AMQP_URL") or "amqp://guest:guest@127.0.0.1:5672/")
    if shutil.which("rabbitmqctl") is None:
        rabbitmq = "rabbitmqctl is not installed (RabbitMQ)"
    elif not port_open(amqp.hostname or "127.0.0.1", amqp.port or 5672):
        rabbitmq = f"RabbitMQ does not listen on {amqp.hostname}:{amqp.port or 5672}"
    reasons = [rabbitmq] if rabbitmq else []
    redis = urlparse(args.redis_url)
    if not port_open(redis.hostname or "127.0.0.1", redis.port or 6379):
        reasons.append(f"Redis does not listen on {redis.hostname}:{redis.port or 6379}")
    if not Path(CHROMIUM).exists():
        reasons.append(f"Chromium is not at {CHROMIUM}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reasons.append("playwright is not installed")
    return {"browser": "; ".join(reasons), "rabbitmq": rabbitmq}


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def admin_url(url: str) -> str:
    parsed = urlparse(url)
    return url[: -len(parsed.path)] + "/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the bench: processes, browser, clean-up ---------------------------------------------------


class Bench(contextlib.AbstractContextManager):
    """Everything one run starts, and stops again in `__exit__`, whatever happened."""

    def __init__(self, args: argparse.Namespace, missing: dict[str, str]) -> None:
        self.args = args
        self.missing = missing
        self.use_amqp = not missing["rabbitmq"]
        self.db_name = urlparse(args.database_url).path.lstrip("/")
        self.vhost = self.db_name
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
        self.stack = contextlib.ExitStack()
        self.server: subprocess.Popen | None = None
        self.consumers: list[subprocess.Popen] = []
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.counts_file = self.tmp / "counts.json"
        self.counting = False
        self.token = ""
        self.playwright: Any = None
        self.browser: Any = None
        self.pages: list[Any] = []
        self.env: dict[str, str] = {}
        self.rate = 0.0  # operations/s reached in part 1: sizes the bulks of part 2
        print(f"logs in {self.tmp}", flush=True)

    def __exit__(self, exc_type: object, *exc: object) -> None:
        for page in self.pages:
            with contextlib.suppress(Exception):
                page.context.close()
        if self.browser is not None:
            with contextlib.suppress(Exception):
                self.browser.close()
        if self.playwright is not None:
            with contextlib.suppress(Exception):
                self.playwright.stop()
        self.stop_consumers()
        self.stop_server()
        self.stack.close()
        if exc_type is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print(f"the logs stay in {self.tmp}", flush=True)

    # -- resources -------------------------------------------------------------------------
    def setup(self) -> None:
        import psycopg

        url = self.args.database_url
        with psycopg.connect(admin_url(url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.stack.callback(self._drop_database)
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "QUEUE_CONNECTION", "AMQP_URL")
        }
        env.update(
            {
                "DATABASE_URL": url,
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                "LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
                # One bulk of --operations items (the default limit is 10,000).
                "WEBAPI_BULK_MAX_ITEMS": str(max(MAX_BULK, self.args.operations)),
            }
        )
        if self.use_amqp:
            rabbitmqctl = shutil.which("rabbitmqctl") or "rabbitmqctl"
            subprocess.run([rabbitmqctl, "-q", "delete_vhost", self.vhost], capture_output=True)
            subprocess.run([rabbitmqctl, "-q", "add_vhost", self.vhost], check=True, timeout=60)
            self.stack.callback(
                subprocess.run,
                [rabbitmqctl, "-q", "delete_vhost", self.vhost],
                timeout=60,
                capture_output=True,
            )
            subprocess.run(
                [rabbitmqctl, "-q", "set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*"],
                check=True,
                timeout=60,
            )
            amqp = urlparse(os.environ.get("AMQP_URL") or "amqp://guest:guest@127.0.0.1:5672/")
            env["QUEUE_CONNECTION"] = "amqp"
            host, port = amqp.hostname or "127.0.0.1", amqp.port or 5672
            env["AMQP_URL"] = f"amqp://guest:guest@{host}:{port}/{self.vhost}"
            env["QUEUE_EMBEDDED_CONSUMERS"] = "0"
        else:
            env["QUEUE_CONNECTION"] = "db"
        if not self.missing["browser"]:
            env["REDIS_URL"] = self.args.redis_url
            # The channel layer group of the bench's Redis database: whatever an earlier
            # run left in it is dropped now and at the end.
            forget_group(self.args.redis_url)
            self.stack.callback(forget_group, self.args.redis_url)
        self.env = env
        step("migrate")
        self.manage("migrate", "-v0", timeout=600)
        if self.use_amqp:
            self.manage("queue_setup")
        code = (
            "from django.contrib.auth import get_user_model\n"
            "from webapi.actions import resolve_permissions, issue_admin_token\n"
            f"u = get_user_model().objects.create_user({USERNAME!r}, password={PASSWORD!r},"
            f" is_staff=True, email='bench@example.com')\n"
            f"u.user_permissions.set(resolve_permissions({list(PERMISSIONS)!r}))\n"
            f"print(issue_admin_token({USERNAME!r}, {PASSWORD!r}))\n"
        )
        self.token = self.manage("shell", "-c", code).stdout.strip().splitlines()[-1]

    def _drop_database(self) -> None:
        import psycopg

        with psycopg.connect(admin_url(self.args.database_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def manage(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    # -- processes -------------------------------------------------------------------------
    def start_server(self, counting: bool) -> None:
        self.stop_server()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        if counting:
            command = [
                sys.executable,
                str(BASE_DIR / "bench" / "_counting_server.py"),
                "--port",
                str(self.port),
                "--counts",
                str(self.counts_file),
            ]
        else:
            command = [
                sys.executable,
                "manage.py",
                "serve",
                "--no-consumers",
                "--port",
                str(self.port),
            ]
        name = "counting-server" if counting else "serve"
        log = (self.tmp / f"{name}.log").open("a")
        self.server = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=SERVICES_APART,
        )
        self.counting = counting
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise SystemExit(f"the server exited early; see {log.name}")
            if port_open("127.0.0.1", self.port) and (not counting or self.counts_file.exists()):
                return
            time.sleep(0.2)
        raise SystemExit(f"the server did not listen within 90 s; see {log.name}")

    def stop_server(self) -> None:
        if self.server is not None:
            stop_process(self.server)
            self.server = None

    def start_consumers(self) -> None:
        command = [sys.executable, "manage.py", "queue_consumers_start", QUEUE]
        if self.args.batch_size > 1:
            command += ["--batch-size", str(self.args.batch_size)]
        for n in range(self.args.consumers):
            log = (self.tmp / f"consumer-{n}.log").open("a")
            self.consumers.append(
                subprocess.Popen(
                    command,
                    cwd=BASE_DIR,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=SERVICES_APART,
                )
            )

    def stop_consumers(self) -> None:
        for proc in self.consumers:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        for proc in self.consumers:
            stop_process(proc)
        self.consumers = []

    def purge_queue(self) -> None:
        if self.use_amqp:
            subprocess.run(
                [
                    shutil.which("rabbitmqctl") or "rabbitmqctl",
                    "-q",
                    "purge_queue",
                    "-p",
                    self.vhost,
                    QUEUE,
                ],
                capture_output=True,
                timeout=60,
            )

    def consumers_label(self) -> str:
        mode = (
            f"--batch-size {self.args.batch_size}"
            if self.args.batch_size > 1
            else "per message (the default)"
        )
        plural = "process" if self.args.consumers == 1 else "processes"
        return f"{self.args.consumers} consumer {plural}, {mode}"

    # -- the browser -----------------------------------------------------------------------
    def open_pages(self, count: int) -> None:
        from playwright.sync_api import sync_playwright

        if self.browser is None:
            self.playwright = sync_playwright().start()
            self.browser = self.playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
        while len(self.pages) < count:
            context = self.browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(60_000)
            context.add_init_script(RECORDER_JS)
            page = context.new_page()
            page.goto(f"{self.base}/accounts/login/?next=/dashboard/bulks/")
            page.get_by_label("Username").fill(USERNAME)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/dashboard/bulks/")
            self.pages.append(page)

    def show_bulk(self, bulk_uuid: str, count: int) -> list[Any]:
        return self.show(f"/dashboard/bulks/{bulk_uuid}/", count)

    def show(self, path: str, count: int) -> list[Any]:
        """Open the dashboard's page at `path` in `count` pages and wait until each is live
        and visible; return the rendered ones. The first `--rendered-pages` are Chromium
        pages showing it; the others are socket-only pages: websockets of the first page saying they
        show what it shows, recording what they receive without rendering it (the
        browsers of 20 people do not share the server's 2 cores)."""
        rendered = max(1, min(count, self.args.rendered_pages))
        for page in self.pages[rendered:]:
            page.goto("about:blank")
        shown = self.pages[:rendered]
        for page in shown:
            page.goto(f"{self.base}{path}")
        for page in shown:
            page.wait_for_selector(
                '#live-status[data-state="live"]', state="attached", timeout=60_000
            )
            state = page.evaluate("() => [document.visibilityState, window.__bench.initial]")
            if state[0] != "visible":
                raise SystemExit(f"a page is {state[0]}: the server sends nothing to hidden pages")
        shown[0].evaluate("(n) => window.__benchSockets(n)", count - rendered)
        time.sleep(0.5)  # the watch message of the last page reaches the hub
        return shown

    def records(self, pages: list[Any]) -> list[dict]:
        """Return what every page recorded, the socket-only pages' included."""
        records = [page.evaluate("() => window.__bench") for page in pages]
        return records + [extra for record in records for extra in record.pop("extra", [])]

    # -- the REST API ----------------------------------------------------------------------
    def accept_bulk(self, prefix: str, items: int) -> str:
        prefix = f"{prefix}-{uuidlib.uuid4().hex[:8]}"  # block identifiers are unique
        body = json.dumps(
            [
                {
                    "block": {
                        "identifier": f"{prefix}-{n}",
                        "title": f"Bench block {n}",
                        "content": "<p>A block written by bench/bench_dashboard.py</p>",
                        "active": True,
                    }
                }
                for n in range(items)
            ]
        ).encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        conn.request(
            "POST",
            BULK_PATH,
            body=body,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        answer = response.read()
        conn.close()
        if response.status != 202:
            raise SystemExit(f"the bulk request failed: {response.status} {answer[:300]!r}")
        parsed = json.loads(answer)
        if parsed["errors"]:
            raise SystemExit("the bulk request rejected items")
        return parsed["bulk_uuid"]

    # -- part 1 ----------------------------------------------------------------------------
    def consumer_alone(self, items: int, batch_size: int) -> float:
        """Return operations/s of one consumer process, no page open, over one bulk."""
        bulk_uuid = self.accept_bulk("alone", items)
        poller = CounterPoller(self.args.database_url, bulk_uuid)
        poller.start()
        command = [sys.executable, "manage.py", "queue_consumers_start", QUEUE]
        command += ["--max-messages", str(items), "--max-idle-time", "30"]
        if batch_size > 1:
            command += ["--batch-size", str(batch_size)]
        try:
            subprocess.run(
                command,
                cwd=BASE_DIR,
                env=self.env,
                capture_output=True,
                timeout=300,
                start_new_session=SERVICES_APART,
            )
        finally:
            poller.stop()
        trace = [(t, c) for t, c in poller.trace if c > 0]
        if len(trace) < 2 or trace[-1][0] == trace[0][0]:
            return 0.0
        return (trace[-1][1] - trace[0][1]) / (trace[-1][0] - trace[0][0])

    def live_delay(self) -> LiveResult:
        args = self.args
        rendered = min(args.pages, args.rendered_pages)
        result = LiveResult(args.pages, rendered, args.operations, self.consumers_label())
        self.start_server(counting=False)
        step("part 1: one consumer process alone, no page open: per message, then batches")
        small = 500 if args.quick else 2_000
        result.alone = {
            "per message (the README's default)": self.consumer_alone(small, 1),
            "--batch-size 100": self.consumer_alone(small * 3, 100),
        }
        step(f"part 1: accepting one bulk of {args.operations:,} CMS block creates")
        bulk_uuid = self.accept_bulk("live", args.operations)
        step(f"part 1: signing {min(args.pages, args.rendered_pages)} Chromium pages in")
        self.open_pages(min(args.pages, args.rendered_pages))
        pages = self.show_bulk(bulk_uuid, args.pages)
        listener = ChangeListener(args.redis_url)
        listener.bulk_id = bulk_id(args.database_url, bulk_uuid)
        listener.start()
        listener.ready.wait(timeout=30)
        poller = CounterPoller(args.database_url, bulk_uuid)
        poller.start()
        try:
            idle = CpuWatch(self)
            time.sleep(3)
            result.browser_idle = idle.cores()[BROWSER]
            step(f"part 1: {args.pages} pages live; starting {self.consumers_label()}")
            self.start_consumers()
            cpu = CpuWatch(self)
            deadline = time.monotonic() + max(120.0, args.operations / 150)
            progressed, seen = time.monotonic(), 0
            while poller.latest < args.operations and time.monotonic() < deadline:
                time.sleep(0.2)
                if poller.latest != seen:
                    progressed, seen = time.monotonic(), poller.latest
                elif time.monotonic() - progressed > 30:
                    break  # stuck: see the consumers' logs
            result.cpu = cpu.cores()
            result.finished = poller.latest >= args.operations
            final = poller.latest
            # Let the last flushes reach every page.
            settle = time.monotonic() + 5
            while time.monotonic() < settle:
                shown = [page.evaluate(LAST_SHOWN_JS) for page in pages]
                if all(s is not None and s >= final for s in shown):
                    break
                time.sleep(0.2)
        finally:
            poller.stop()
            listener.stop()
            self.stop_consumers()
            self.purge_queue()
        records = self.records(pages)
        analyse_live(result, poller.trace, records)
        if result.cpu and result.updates_per_page:
            updates = sum(result.updates_per_page)  # per second, all pages
            result.browser_ms = (result.cpu[BROWSER] - result.browser_idle) * 1000 / updates
        result.heard_ms = heard_delays(poller.trace, listener.heard)
        if args.save_raw:
            raw = {"trace": poller.trace, "heard": listener.heard, "pages": records}
            Path(args.save_raw).write_text(json.dumps(raw))
            print(f"  raw records of part 1 in {args.save_raw}", flush=True)
        self.rate = result.rate
        if not result.finished:
            result.note = (
                f"the bulk did not finish within the time allowed: {poller.latest:,} of "
                f"{args.operations:,} operations complete"
            )
        return result

    # -- part 2 ----------------------------------------------------------------------------
    def queries_per_second(self, page: str = "bulk") -> list[QueriesResult]:
        """Part 2 (`page` "bulk": the running bulk's page) and part 5 ("overview")."""
        args = self.args
        if not self.counting:
            self.start_server(counting=True)
        results = []
        for count in (1, args.pages):
            results.append(self._queries_window(count, page))
        for opened in self.pages:  # nothing open for part 3: the hub stops
            opened.goto("about:blank")
        return results

    def _queries_window(self, count: int, page: str = "bulk") -> QueriesResult:
        args = self.args
        # Enough to outlast the window at 1.5 times the rate part 1 reached (or 1,000/s).
        rate = max(self.rate, 1000)
        items = int(min(MAX_BULK, rate * 1.5 * (WARMUP + args.window + 4)))
        part = "part 2" if page == "bulk" else "part 5"
        step(f"{part}: {count} {page} page(s) open; one bulk of {items:,} operations")
        bulk_uuid = self.accept_bulk(f"queries{count}", items)
        self.show(f"/dashboard/bulks/{bulk_uuid}/" if page == "bulk" else "/dashboard/", count)
        poller = CounterPoller(self.args.database_url, bulk_uuid)
        poller.start()
        try:
            self.start_consumers()
            deadline = time.monotonic() + 60
            while poller.latest == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(WARMUP)
            first, done_first = self.read_counts(), poller.latest
            end = time.monotonic() + args.window
            while time.monotonic() < end and poller.latest < items:
                time.sleep(0.1)
            last, done_last = self.read_counts(), poller.latest
        finally:
            poller.stop()
            self.stop_consumers()
            self.purge_queue()
        seconds = last["time"] - first["time"]
        if poller.latest >= items:
            print(f"  (the bulk finished before the window's end: {seconds:.1f} s)", flush=True)
        flushes = max(1, last["flushes"] - first["flushes"])
        return QueriesResult(
            pages=count,
            seconds=seconds,
            queries=(last["queries"] - first["queries"]) / seconds,
            connections=(last["connections"] - first["connections"]) / seconds,
            flushes=(last["flushes"] - first["flushes"]) / seconds,
            rate=(done_last - done_first) / seconds,
            flush_ms=(last["flush_seconds"] - first["flush_seconds"]) * 1000 / flushes,
            batch_ms=(last["batch_seconds"] - first["batch_seconds"]) * 1000 / flushes,
        )

    def read_counts(self) -> dict[str, float]:
        """Return the counting server's latest line, written after now."""
        asked = time.time()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                line = json.loads(self.counts_file.read_text())
            except (OSError, ValueError):
                line = None
            if line and line["time"] >= asked:
                return line
            time.sleep(0.02)
        raise SystemExit("the counting server stopped writing its counts")

    # -- part 3 ----------------------------------------------------------------------------
    def fill(self) -> dict[str, Any]:
        step(
            f"part 3: writing {self.args.bulks:,} bulks, one with "
            f"{self.args.big_operations:,} operations, with SQL"
        )
        topic = (
            self.manage(
                "shell",
                "-c",
                "from webapi.routes import discover\n"
                "print([r.topic for r in discover().async_routes()"
                " if r.path == '/V1/cmsBlock' and r.method == 'POST'][0])",
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        started = time.monotonic()
        info = fill_database(
            self.args.database_url, topic, self.args.bulks, self.args.big_operations
        )
        info["seconds"] = time.monotonic() - started
        check = subprocess.run(
            [sys.executable, "manage.py", "operations_recount", "--check"],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        info["recount"] = (check.stdout.strip().splitlines() or ["?"])[-1]
        if check.returncode != 0:
            info["recount"] = f"drift! {check.stdout.strip()[-300:]} {check.stderr.strip()[-300:]}"
        print(
            f"  {info['operations']:,} operations written in {info['seconds']:.0f} s; "
            f"operations_recount --check: {info['recount']}",
            flush=True,
        )
        return info

    def page_times(self) -> list[PageResult]:
        if self.server is None:
            self.start_server(counting=True)
        big = fill_info_uuid(self.args.database_url)
        half = self.args.big_operations // 2
        cases = [
            ("bulk log", "/dashboard/bulks/", 'id="bulk-rows"'),
            (
                "bulk log, status filter (finished with failure)",
                "/dashboard/bulks/?status=3",
                'id="bulk-rows"',
            ),
            ("big bulk's page", f"/dashboard/bulks/{big}/", 'id="bulk-summary"'),
            ("big bulk, failed filter", f"/dashboard/bulks/{big}/?failed=1", "data-operation-id"),
            (
                f"big bulk, a later page (?after={half})",
                f"/dashboard/bulks/{big}/?after={half}",
                "data-operation-id",
            ),
        ]
        return self.time_pages(cases)

    def time_pages(self, cases: list[tuple[str, str, str]]) -> list[PageResult]:
        """Return the times of `requests` GETs of each (name, path, marker in the page)."""
        cookie = sign_in_http(self.port, USERNAME, PASSWORD)
        step(f"timing {len(cases)} pages, {self.args.requests} requests each")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        results = []
        for name, path, marker in cases:
            for _ in range(2):
                get(conn, path, cookie, marker)
            before = self.read_counts() if self.counting else None
            times = []
            for _ in range(self.args.requests):
                started = time.perf_counter()
                get(conn, path, cookie, marker)
                times.append((time.perf_counter() - started) * 1000)
            queries = None
            if before is not None:
                after = self.read_counts()
                queries = (after["queries"] - before["queries"]) / self.args.requests
            results.append(PageResult(name, path, times, queries))
            print(f"  {name}: median {statistics.median(times):.0f} ms", flush=True)
        conn.close()
        return results

    def operator_page_times(self) -> list[PageResult]:
        """Part 4: the operators' pages, with the operations of part 3 and a week of metrics."""
        days = 7
        step(f"part 4: writing {days} days of per-minute metrics of {QUEUE}, with SQL")
        rows = fill_metrics(self.args.database_url, QUEUE, days)
        print(f"  {rows:,} metrics rows", flush=True)
        cases = [
            ("overview, last hour", "/dashboard/"),
            ("overview, 7 days", "/dashboard/?range=7d"),
            ("queues", "/dashboard/queues/"),
            ("consumers", "/dashboard/consumers/"),
            ("failures across bulks, 24 hours", "/dashboard/failures/"),
            ("failures across bulks, 7 days", "/dashboard/failures/?range=7d"),
        ]
        return self.time_pages([(name, path, 'id="main"') for name, path in cases])

    # -- the machine -----------------------------------------------------------------------
    def environment(self, report: Report) -> str:
        import psycopg

        with psycopg.connect(self.args.database_url) as conn:
            pg = conn.execute("SHOW server_version").fetchone()[0].split()[0]
        parts = [
            f"{platform.system()} {os.cpu_count()} CPUs (load average {report.load_before:.1f} "
            f"before and {os.getloadavg()[0]:.1f} after)",
            f"Python {platform.python_version()}",
            f"PostgreSQL {pg}",
        ]
        if self.use_amqp:
            version = subprocess.run(
                [shutil.which("rabbitmqctl") or "rabbitmqctl", "-q", "version"],
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout.strip()
            parts.append(f"RabbitMQ {version or '(version unknown)'}")
        if not self.missing["browser"]:
            try:
                import redis

                info = redis.Redis.from_url(self.args.redis_url).info("server")
                parts.append(f"Redis {info['redis_version']}")
            except Exception:  # noqa: BLE001 - only for the machine line
                parts.append("Redis")
            if self.browser is not None:
                parts.append(f"Chromium {self.browser.version}")
        return ", ".join(parts) + ", all on loopback"


class CpuWatch:
    """CPU used from now until `cores()`, in cores (CPU seconds per second), by this run's
    processes and by the machine in all (from /proc)."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.started = time.monotonic()
        self.first = self._snapshot()

    def _snapshot(self) -> dict[str, float]:
        tick = os.sysconf("SC_CLK_TCK")
        stats: dict[int, tuple[int, str, float]] = {}  # pid -> (ppid, name, cpu seconds)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                raw = (entry / "stat").read_text()
            except OSError:
                continue
            name = raw[raw.index("(") + 1 : raw.rindex(")")]
            fields = raw[raw.rindex(")") + 2 :].split()
            stats[int(entry.name)] = (
                int(fields[1]),
                name,
                (int(fields[11]) + int(fields[12])) / tick,
            )

        def tree(root: int) -> float:
            total, todo, seen = 0.0, [root], set()
            while todo:
                pid = todo.pop()
                if pid in seen or pid not in stats:
                    continue
                seen.add(pid)
                total += stats[pid][2]
                todo += [p for p, (ppid, _n, _c) in stats.items() if ppid == pid]
            return total

        def named(*names: str) -> float:
            return sum(c for _pp, n, c in stats.values() if n in names)

        me = os.getpid()
        browser = sum(
            tree(pid) for pid, (ppid, _n, _c) in stats.items() if ppid == me and pid != me
        )
        bench = self.bench
        snapshot = {
            BROWSER: browser,
            "web server": tree(bench.server.pid) if bench.server else 0.0,
            "consumers": sum(tree(p.pid) for p in bench.consumers),
            "this bench process": stats.get(me, (0, "", 0.0))[2],
            "RabbitMQ (beam.smp)": named("beam.smp"),
            "Redis": named("redis-server"),
        }
        # The browser's tree holds the server and consumers too (they are children of
        # this process): count them once.
        snapshot[BROWSER] -= snapshot["web server"] + snapshot["consumers"]
        cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        values = [int(v) for v in cpu]
        snapshot["machine"] = (sum(values) - values[3] - values[4]) / tick
        return snapshot

    def cores(self) -> dict[str, float]:
        last = self._snapshot()
        seconds = time.monotonic() - self.started
        used = {name: (last[name] - self.first.get(name, 0.0)) / seconds for name in last}
        used["everything else (PostgreSQL, other work on the machine)"] = used["machine"] - sum(
            v for k, v in used.items() if k != "machine"
        )
        return used


def forget_group(redis_url: str) -> None:
    """Delete the channel layer's `dashboard.changes` group (channels_redis' key) in the
    bench's Redis database: the channels of stopped servers would stay in it a day."""
    import redis

    with contextlib.suppress(redis.RedisError):
        redis.Redis.from_url(redis_url).delete(f"asgi:group:{GROUP}")


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


def step(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


LAST_SHOWN_JS = (
    "() => { const c = window.__bench.changes; return c.length ? c[c.length - 1][1] : null; }"
)


# -- part 1: reading the bulk's counter, working out the delays --------------------------------


class CounterPoller(threading.Thread):
    """Reads the bulk's stored `complete_count` every POLL_EVERY seconds on a connection of
    its own; `trace` holds (time.time(), count) of every change, the time being the
    middle of the query that first saw it."""

    def __init__(self, database_url: str, bulk_uuid: str) -> None:
        super().__init__(name="counter poller", daemon=True)
        self.database_url = database_url
        self.bulk_uuid = uuidlib.UUID(bulk_uuid)
        self.trace: list[tuple[float, int]] = []
        self.latest = 0
        self._stop_event = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.database_url, autocommit=True) as conn:
                cursor = conn.cursor()
                last = None
                while not self._stop_event.is_set():
                    sent = time.time()
                    cursor.execute(
                        "SELECT complete_count FROM operations_bulk WHERE uuid = %s",
                        (self.bulk_uuid,),
                        prepare=True,
                    )
                    count = cursor.fetchone()[0]
                    received = time.time()
                    if count != last:
                        self.trace.append(((sent + received) / 2, count))
                        last = count
                    self.latest = count
                    pause = POLL_EVERY - (time.time() - sent)
                    if pause > 0:
                        self._stop_event.wait(pause)
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            self.error = exc

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)
        if self.error is not None:
            raise SystemExit(f"reading the bulk's counter failed: {self.error}")


class ChangeListener(threading.Thread):
    """Listens, like every server's hub, to the channel layer group the changes go to
    (`dashboard.changes` on Redis): `heard` holds time.time() of every message naming
    the bulk, i.e. when a hub hears of a commit."""

    def __init__(self, redis_url: str) -> None:
        super().__init__(name="change listener", daemon=True)
        self.redis_url = redis_url
        self.bulk_id: int | None = None
        self.heard: list[float] = []
        self.ready = threading.Event()
        self._stop_event = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        import asyncio

        try:
            asyncio.run(self._listen())
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            self.error = exc
            self.ready.set()

    async def _listen(self) -> None:
        import asyncio

        from channels_redis.core import RedisChannelLayer

        layer = RedisChannelLayer(hosts=[self.redis_url])
        channel = await layer.new_channel()
        await layer.group_add(GROUP, channel)
        self.ready.set()
        try:
            while not self._stop_event.is_set():
                try:
                    message = await asyncio.wait_for(layer.receive(channel), timeout=0.5)
                except TimeoutError:
                    continue
                if message.get("type") == "bulks.changed" and self.bulk_id in message.get(
                    "ids", ()
                ):
                    self.heard.append(time.time())
        finally:
            await layer.group_discard(GROUP, channel)
            await layer.close_pools()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)


def analyse_live(result: LiveResult, trace: list[tuple[float, int]], records: list[dict]) -> None:
    """Fill `result` from the database's trace and every page's records (see the docstring).

    Two ways of pairing the page's counts with the database's:
    - every operation: for each commit the trace saw (the count going from a to b), the
      time until the page first showed a count >= b, once per operation it completed
      (weight b - a): what an operation waits to be seen;
    - displayed counts (the issue's definition): for each count c a page showed, the time
      from when the database first held >= c to when the page first showed >= c.
    """
    trace = [(t, c) for t, c in trace if c > 0]
    if len(trace) < 2:
        result.note = "the bulk did not progress"
        return
    db_times = [t for t, _c in trace]
    db_counts = [c for _t, c in trace]

    def committed(count: int) -> float | None:
        i = bisect.bisect_left(db_counts, count)
        return db_times[i] if i < len(db_counts) else None

    per_operation: dict[str, list[tuple[float, int]]] = {"shown": [], "message": []}
    steady: list[tuple[float, int]] = []  # "shown", for commits after the first STEADY_AFTER s
    steady_from = trace[0][0] + STEADY_AFTER
    displayed: dict[str, list[float]] = {"shown": [], "message": []}
    for record in records:
        for kind, series in (("shown", record["changes"]), ("message", record["messages"])):
            times: list[float] = []
            highest: list[int] = []  # the highest count shown so far, at each record
            for at_ms, count in series:
                if count is None:
                    continue
                times.append(at_ms / 1000)
                highest.append(max(count, highest[-1] if highest else 0))
            first_shown: dict[int, float] = {}
            for at, count in zip(times, highest, strict=True):
                if count > 0 and count not in first_shown:
                    first_shown[count] = at
            for count, at in first_shown.items():
                db = committed(count)
                if db is not None:
                    displayed[kind].append((at - db) * 1000)
            before = 0
            for at, count in trace:
                i = bisect.bisect_left(highest, count)
                if i < len(times):
                    delay = ((times[i] - at) * 1000, count - before)
                    per_operation[kind].append(delay)
                    if kind == "shown" and at >= steady_from:
                        steady.append(delay)
                before = count
        changes = record["changes"]
        if len(changes) >= 2:
            span = (changes[-1][0] - changes[0][0]) / 1000
            if span > 0:
                result.updates_per_page.append((len(changes) - 1) / span)
    result.samples = len(displayed["shown"])
    result.commits = len(trace)
    result.steady_ms = summary(steady)
    frames = [f for record in records for f in record.get("frames", [])]
    if frames:
        result.frame_bytes = statistics.median(length for _at, length in frames)
        result.largest_frame = max(length for _at, length in frames)
    result.shown_ms = summary(per_operation["shown"])
    result.message_ms = summary(per_operation["message"])
    result.displayed_ms = summary([(v, 1) for v in displayed["shown"]])
    result.run_seconds = trace[-1][0] - trace[0][0]
    if result.run_seconds > 0:
        result.rate = (trace[-1][1] - trace[0][1]) / result.run_seconds


def heard_delays(trace: list[tuple[float, int]], heard: list[float]) -> dict[str, float]:
    """Return p50/p99/max, per operation, of the time from a commit to the first message
    on the channel layer after it (a commit is placed up to POLL_EVERY after it happened,
    so a message may come up to that much before)."""
    weighted = []
    before = 0
    for at, count in trace:
        if count <= 0:
            continue
        i = bisect.bisect_left(heard, at - POLL_EVERY)
        if i < len(heard):
            weighted.append(((heard[i] - at) * 1000, count - before))
        before = count
    return summary(weighted)


def summary(weighted: list[tuple[float, int]]) -> dict[str, float]:
    """Return p50, p99 and max of (value, weight) pairs, {} if there is none."""
    if not weighted:
        return {}
    return {
        "p50": weighted_percentile(weighted, 50),
        "p99": weighted_percentile(weighted, 99),
        "max": max(v for v, _w in weighted),
    }


def weighted_percentile(weighted: list[tuple[float, int]], q: float) -> float:
    """Return the smallest value v such that values <= v weigh at least q% of the total."""
    ordered = sorted(weighted)
    total = sum(w for _v, w in ordered)
    goal = total * q / 100
    running = 0
    for value, weight in ordered:
        running += weight
        if running >= goal:
            return value
    return ordered[-1][0]


# -- part 3: filling the database, signing in, timing -----------------------------------------

# The mix of outcomes, by a pseudo-random number k in 0..999 of each operation.
OUTCOME_SQL = """
    CASE WHEN {open} THEN 4 WHEN {k} < 3 THEN 3 WHEN {k} < 5 THEN 2 WHEN {k} < 6 THEN 5 ELSE 1 END
"""
MESSAGE_SQL = """
    CASE WHEN {open} THEN ''
         WHEN {k} < 2 THEN 'A block with the same identifier already exists.'
         WHEN {k} < 3 THEN 'The store the block is assigned to does not exist.'
         WHEN {k} < 5 THEN 'Lock wait timeout exceeded; try restarting transaction'
         WHEN {k} < 6 THEN 'Invalid item: "title" is longer than 255 characters.'
         ELSE '' END
"""
CODE_SQL = """
    CASE WHEN {open} THEN NULL WHEN {k} < 2 THEN 3 WHEN {k} < 3 THEN 4 WHEN {k} < 5 THEN 2
         WHEN {k} < 6 THEN 5 ELSE NULL END
"""
OPERATIONS_SQL = """
INSERT INTO operations_operation (
    bulk_id, index, topic, serialized_data, data_hash, store_id, status,
    result_serialized_data, result_message, error_code, attempts, accepted_at, opened_at,
    started_at, finished_at, published, sweeps)
SELECT b.id, i, %(topic)s,
    json_build_object('entity_id', NULL, 'entity_link', '', 'meta_information',
        json_build_object('block', json_build_object(
            'identifier', 'bench-' || b.id || '-' || i, 'title', 'Bench block ' || i,
            'content', '<p>A block written by bench/bench_dashboard.py</p>', 'active', true
        ))::text)::text,
    encode(sha256(convert_to('bench-' || b.id || '-' || i, 'UTF8')), 'hex'),
    %(store)s,
    {status},
    CASE WHEN {status} = 1 THEN '{{"id": ' || i || '}}' ELSE NULL END,
    {message},
    {code},
    CASE WHEN {open} THEN 0 WHEN {status} = 2 THEN 5 ELSE 1 END,
    b.created, b.created,
    CASE WHEN {open} THEN NULL ELSE b.created + i * interval '3 milliseconds' END,
    CASE WHEN {open} THEN NULL ELSE b.created + i * interval '3 milliseconds'
         + interval '2 milliseconds' END,
    true, 0
FROM operations_bulk b CROSS JOIN LATERAL generate_series(0, {last}) AS i
WHERE {where}
"""


def operations_sql(*, k: str, open_: str, last: str, where: str) -> str:
    parts = {"k": k, "open": open_}
    status = OUTCOME_SQL.format(**parts)
    return OPERATIONS_SQL.format(
        status=status,
        message=MESSAGE_SQL.format(**parts),
        code=CODE_SQL.format(**parts),
        open=open_,
        last=last,
        where=where,
    )


def fill_database(database_url: str, topic: str, bulks: int, big: int) -> dict[str, Any]:
    """Write `bulks` bulks of the bench user, one with `big` operations; set their counters."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        owner = conn.execute(
            "SELECT id FROM auth_user WHERE username = %s", (USERNAME,)
        ).fetchone()[0]
        store = conn.execute("SELECT min(id) FROM store_store").fetchone()[0]
        first_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM operations_bulk")
        first_id = first_id.fetchone()[0]
        params = {"owner": owner, "topic": topic, "store": store, "small": bulks - 1}
        conn.execute(
            """
            INSERT INTO operations_bulk (
                uuid, owner_id, user_type, description, created, operation_count,
                idempotency_key, idempotency_fingerprint, idempotency_response, topic,
                complete_count, retriably_failed_count, not_retriably_failed_count,
                open_count, rejected_count, started_at, changed_at)
            SELECT gen_random_uuid(), %(owner)s, 2, 'Bench history ' || g,
                now() - interval '1 day' - g * interval '37 minutes', 0, NULL, '', NULL,
                %(topic)s, 0, 0, 0, 0, 0, NULL, now() - interval '1 day'
            FROM generate_series(1, %(small)s) AS g
            """,
            params,
        )
        big_id, big_uuid = conn.execute(
            """
            INSERT INTO operations_bulk (
                uuid, owner_id, user_type, description, created, operation_count,
                idempotency_key, idempotency_fingerprint, idempotency_response, topic,
                complete_count, retriably_failed_count, not_retriably_failed_count,
                open_count, rejected_count, started_at, changed_at)
            VALUES (gen_random_uuid(), %(owner)s, 2, 'Bench: one million CMS blocks',
                now() - interval '90 minutes', 0, NULL, '', NULL, %(topic)s,
                0, 0, 0, 0, 0, NULL, now() - interval '90 minutes')
            RETURNING id, uuid
            """,
            params,
        ).fetchone()
        # The small bulks: 1-40 operations each, a few failures in some.
        conn.execute(
            operations_sql(
                k="((b.id * 7919 + i * 104729) %% 211) * 5",
                open_="false",
                last="(b.id %% 40)",
                where="b.id >= %(first)s AND b.id <> %(big)s",
            ),
            {**params, "first": first_id, "big": big_id},
        )
        # The big one: the last 5,000 open, 0.6% failed, spread over the whole bulk.
        conn.execute(
            operations_sql(
                k="((i::bigint * 2654435761) %% 1000)",
                open_=f"(i >= {max(0, big - 5000)})",
                last=str(big - 1),
                where="b.id = %(big)s",
            ),
            {**params, "big": big_id},
        )
        conn.execute(
            """
            UPDATE operations_bulk b SET
                operation_count = s.n, complete_count = s.c1, retriably_failed_count = s.c2,
                not_retriably_failed_count = s.c3, open_count = s.c4, rejected_count = s.c5,
                started_at = s.first_started, changed_at = coalesce(s.last_finished, b.created)
            FROM (
                SELECT bulk_id, count(*) AS n,
                    count(*) FILTER (WHERE status = 1) AS c1,
                    count(*) FILTER (WHERE status = 2) AS c2,
                    count(*) FILTER (WHERE status = 3) AS c3,
                    count(*) FILTER (WHERE status = 4) AS c4,
                    count(*) FILTER (WHERE status = 5) AS c5,
                    min(started_at) AS first_started, max(finished_at) AS last_finished
                FROM operations_operation WHERE bulk_id >= %(first)s GROUP BY bulk_id
            ) s
            WHERE s.bulk_id = b.id
            """,
            {"first": first_id},
        )
        conn.execute("ANALYZE operations_bulk")
        conn.execute("ANALYZE operations_operation")
        total = conn.execute(
            "SELECT count(*) FROM operations_operation WHERE bulk_id >= %s", (first_id,)
        ).fetchone()[0]
        counts = conn.execute(
            "SELECT complete_count, retriably_failed_count, not_retriably_failed_count, "
            "open_count, rejected_count FROM operations_bulk WHERE id = %s",
            (big_id,),
        ).fetchone()
        bulk_count = conn.execute("SELECT count(*) FROM operations_bulk").fetchone()[0]
    return {
        "big_uuid": str(big_uuid),
        "operations": total,
        "bulks": bulk_count,
        "big_counts": dict(
            zip(
                ("complete", "retriably failed", "not retriably failed", "open", "rejected"),
                counts,
                strict=True,
            )
        ),
    }


def fill_metrics(database_url: str, queue: str, days: int) -> int:
    """Write a row of per-minute metrics of `queue` for each minute of the last `days`
    days (a consumer busy around the clock, a few failures) and return how many."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO queues_queueminute (
                queue, minute, messages, failed, dead, operations, operations_failed, seconds)
            SELECT %(queue)s, date_trunc('minute', now()) - g * interval '1 minute',
                600 + (g * 7919) %% 400, (g * 104729) %% 7, (g %% 997 = 0)::int,
                600 + (g * 7919) %% 400, (g * 104729) %% 7, 30 + (g %% 20)
            FROM generate_series(1, %(minutes)s) AS g
            ON CONFLICT (queue, minute) DO NOTHING
            """,
            {"queue": queue, "minutes": days * 24 * 60},
        )
        conn.execute("ANALYZE queues_queueminute")
        return conn.execute("SELECT count(*) FROM queues_queueminute").fetchone()[0]


def bulk_id(database_url: str, bulk_uuid: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        query = "SELECT id FROM operations_bulk WHERE uuid = %s"
        return conn.execute(query, (uuidlib.UUID(bulk_uuid),)).fetchone()[0]


def fill_info_uuid(database_url: str) -> str:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return str(
            conn.execute(
                "SELECT uuid FROM operations_bulk ORDER BY operation_count DESC LIMIT 1"
            ).fetchone()[0]
        )


def sign_in_http(port: int, username: str, password: str) -> str:
    """Sign in through the login form; return the Cookie header of the session."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/accounts/login/")
    response = conn.getresponse()
    page = response.read().decode()
    jar = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if token is None or "csrftoken" not in jar:
        raise SystemExit("the login page has no CSRF token")
    body = urlencode(
        {
            "csrfmiddlewaretoken": token[1],
            "username": username,
            "password": password,
            "next": "/dashboard/bulks/",
        }
    )
    conn.request(
        "POST",
        "/accounts/login/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={jar['csrftoken'].value}",
        },
    )
    response = conn.getresponse()
    response.read()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    conn.close()
    if response.status != 302 or "sessionid" not in jar:
        raise SystemExit(f"signing in failed: {response.status}")
    return f"sessionid={jar['sessionid'].value}; csrftoken={jar['csrftoken'].value}"


def get(conn: http.client.HTTPConnection, path: str, cookie: str, marker: str) -> None:
    conn.request("GET", path, headers={"Cookie": cookie})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200 or marker.encode() not in body:
        raise SystemExit(f"GET {path}: {response.status}, {marker!r} not in the page")


# -- the report -----------------------------------------------------------------------------


def met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def live_table(live: LiveResult) -> str:
    ups = live.updates_per_page
    lines = [
        f"{live.pages} pages on one bulk of {live.operations:,} CMS block creates "
        f"({live.rendered} rendered by Chromium, {live.pages - live.rendered} socket-only), "
        f"{live.consumers}.",
        "",
        "| delay | p50 | p99 | max | target |",
        "|---|---:|---:|---:|---|",
    ]
    rows = (
        ("commit → count shown, every operation", live.shown_ms, True),
        (
            f"commit → count shown, the {live.samples:,} displayed counts (the issue's definition)",
            live.displayed_ms,
            True,
        ),
        (
            f"commit → count shown, every operation committed after the first {STEADY_AFTER:.0f} s",
            live.steady_ms,
            False,
        ),
        ("commit → websocket message received, every operation", live.message_ms, False),
        ("commit → the hubs hear of it on Redis, every operation", live.heard_ms, False),
    )
    for name, values, target in rows:
        if not values:
            continue
        verdict = (
            f"p99 ≤ {P99_TARGET_MS} ms: {met(values['p99'] <= P99_TARGET_MS)}" if target else ""
        )
        lines.append(
            f"| {name} | {values['p50']:.0f} ms | {values['p99']:.0f} ms | "
            f"{values['max']:.0f} ms | {verdict} |"
        )
    lines += [
        "",
        "| while it ran | value | target |",
        "|---|---:|---|",
        f"| operations completed per second | {live.rate:,.0f} | ≥ 1,000: "
        f"{'reached' if live.rate >= 1000 else '**not reached**'} |",
        *(
            f"| for comparison: one consumer process alone, no page open, {mode} | {rate:,.0f} |  |"
            for mode, rate in live.alone.items()
        ),
        f"| seconds from the first to the last commit | {live.run_seconds:.1f} |  |",
        f"| commits of the bulk's counter seen (every 10 ms) | {live.commits:,} |  |",
    ]
    if ups:
        lines.append(
            f"| updates per page per second (median; range) | {statistics.median(ups):.1f} "
            f"({min(ups):.1f}–{max(ups):.1f}) |  |"
        )
    if live.frame_bytes:
        lines.append(
            f"| websocket message, median size (largest) | {live.frame_bytes:,.0f} bytes "
            f"({live.largest_frame:,}) |  |"
        )
    if live.browser_ms:
        lines.append(
            f"| Chromium's CPU time per update of one page (beyond its "
            f"{live.browser_idle:.2f} cores with nothing changing) | {live.browser_ms:.1f} ms |  |"
        )
    if live.cpu:
        machine = live.cpu.get("machine", 0.0)
        shares = ", ".join(
            f"{name} {cores:.2f}" for name, cores in live.cpu.items() if name != "machine"
        )
        lines += [
            "",
            f"CPU while it ran, in cores: {shares}; the machine was busy "
            f"{machine:.2f} of {os.cpu_count()}.",
        ]
    if live.note:
        lines += ["", f"Note: {live.note}."]
    return "\n".join(lines)


def queries_table(results: list[QueriesResult]) -> str:
    lines = [
        "| pages open | queries/s | hub flushes/s | queries per flush (polls included) "
        "| a flush: read + render, and in all | connections opened/s "
        "| operations/s meanwhile | window |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        per_flush = r.queries / r.flushes if r.flushes else float("nan")
        lines.append(
            f"| {r.pages} | {r.queries:.1f} | {r.flushes:.1f} | {per_flush:.1f} | "
            f"{r.batch_ms:.0f} ms, {r.flush_ms:.0f} ms | {r.connections:.1f} | {r.rate:,.0f} "
            f"| {r.seconds:.1f} s |"
        )
    if len(results) == 2 and results[0].queries > 0:
        ratio = results[1].queries / results[0].queries
        lines += [
            "",
            f"{results[1].pages} pages cause **{ratio:.2f}×** the queries per second of 1 page "
            f"(target: the same, taken as no more than {SAME_QUERIES_TOLERANCE:.0%} above: "
            f"{met(ratio <= 1 + SAME_QUERIES_TOLERANCE)}).",
        ]
    return "\n".join(lines)


def pages_table(results: list[PageResult]) -> str:
    lines = [
        "| page | median | p95 | queries per request | target |",
        "|---|---:|---:|---:|---|",
    ]
    for r in results:
        queries = f"{r.queries:.0f}" if r.queries is not None else "—"
        lines.append(
            f"| {r.name}: `{shorten(r.path)}` | {r.median:.0f} ms | {r.p95:.0f} ms | {queries} "
            f"| ≤ {PAGE_TARGET_MS} ms: {met(r.p95 <= PAGE_TARGET_MS)} |"
        )
    return "\n".join(lines)


def shorten(path: str) -> str:
    return re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<uuid>", path)


def render(report: Report, args: argparse.Namespace) -> str:
    lines = [f"Measured {time.strftime('%Y-%m-%d')} on {report.environment}."]
    lines += ["", "### 1. Delay from an operation's commit to the page", ""]
    if report.live is not None:
        lines.append(live_table(report.live))
    else:
        lines.append(f"Skipped: {report.live_skipped}.")
    lines += ["", "### 2. Database queries per second of the web server, caused by open pages", ""]
    if report.queries:
        lines.append(
            f"Each window {args.window:.0f} s after {WARMUP:.0f} s of warm-up, while one bulk of "
            "CMS block creates runs; only the queries of the server process (its hub's flushes "
            "and polls), counted by bench/_counting_server.py."
        )
        lines += ["", queries_table(report.queries)]
    else:
        lines.append(f"Skipped: {report.queries_skipped}.")
    lines += [
        "",
        f"### 3. Server time of the pages with {args.big_operations:,} operations in PostgreSQL",
        "",
    ]
    fill = report.fill
    if report.pages:
        counts = ", ".join(f"{v:,} {k}" for k, v in fill["big_counts"].items())
        lines.append(
            f"{fill['bulks']:,} bulks and {fill['operations']:,} operations written with SQL in "
            f"{fill['seconds']:.0f} s; the big bulk: {counts}; `operations_recount --check`: "
            f"{fill['recount']} {args.requests} requests per page after 2 warm-up requests, "
            "one after the other on one keep-alive connection over loopback, signed in as "
            "staff who may see every bulk."
        )
        lines += ["", pages_table(report.pages)]
    else:
        lines.append(f"Skipped: {report.pages_skipped}.")
    if report.operator_pages:
        lines += [
            "",
            "### 4. Server time of the operators' pages with the same operations and a week "
            "of metrics",
            "",
            "The database of part 3 plus one row of per-minute metrics of "
            f"`{QUEUE}` for every minute of the last 7 days; measured the same way.",
            "",
            pages_table(report.operator_pages),
        ]
    if report.overview_queries:
        lines += [
            "",
            "### 5. Database queries per second of the web server, caused by open overview pages",
            "",
            "As part 2, with the overview (`/dashboard/`) open instead of the bulk's page, "
            "while a bulk runs (its counters, the metrics and the queue depth change).",
            "",
            queries_table(report.overview_queries),
        ]
    return "\n".join(lines)


def consumers_text(args: argparse.Namespace) -> str:
    processes = "one process" if args.consumers == 1 else f"{args.consumers} processes"
    mode = f"`--batch-size {args.batch_size}`" if args.batch_size > 1 else "per message"
    return f"{processes}, {mode}"


def write_docs(table: str, args: argparse.Namespace) -> None:
    text = DOCS.read_text()
    start = "<!-- section: dashboard (bench/bench_dashboard.py) -->"
    end = "<!-- end: dashboard -->"
    body = (
        f"{start}\n## Dashboard: live delay, queries caused by open pages, page times\n\n"
        "Reproduce (PostgreSQL, RabbitMQ with `rabbitmqctl`, Redis and Chromium on this "
        "machine; the database and RabbitMQ vhost `asyncbulk_bench_dashboard` are made "
        "afresh and dropped at the end; about 6 minutes):\n\n"
        f"    {COMMAND}\n\n"
        "The production shape on one machine: `manage.py serve --no-consumers` (daphne, "
        "default settings: `DASHBOARD_FLUSH_INTERVAL` 0.2 s, `DASHBOARD_POLL_INTERVAL` "
        "1 s, `DATABASE_CONN_MAX_AGE` 0), Redis as the channel layer, consumers in "
        f"processes of their own (`queue_consumers_start async.operations.all`, here "
        f"{consumers_text(args)}, because one process with the defaults, per message, is "
        "far below 1,000 operations/s: see the comparison rows). Of the pages, "
        f"{args.rendered_pages} is a headless Chromium page signed in through the login "
        "form and rendering the dashboard; the others are socket-only pages: websockets "
        "opened by that page with its session, sending its watch message and recording "
        "what they receive, without rendering it. The server does the same work for "
        "both kinds; 20 rendering Chromium pages on these 2 cores would take over a core "
        "from the server and the consumer, which 20 people's browsers do not "
        "(`--rendered-pages 20` measures that: on 2026-12-02 the consumer then fell to "
        "374 operations/s and the p99 to 4 s, every delay being a renderer waiting for "
        "the CPU). The operations are CMS block creates, one bulk request each. Parts 2 "
        "and 5 run the same `serve` command inside `bench/_counting_server.py`, which "
        "counts the process's queries and times the hub's flushes; parts 3 and 4 are "
        "timed against that server too (counting adds microseconds to a page).\n\n"
        f"{table}\n\n"
        "How to read it:\n"
        "- One clock: the bench reads the bulk's stored `complete_count` every 10 ms (a "
        "commit is placed within about 10 ms), each page notes `Date.now()` when the count "
        "in its summary changes (a MutationObserver) and when a websocket message "
        "carrying a summary arrives.\n"
        "- *Every operation* is the delay an operation waits to be seen: each commit is "
        "followed until the page shows its count or more, weighted by the operations it "
        "completed. *Displayed counts* (the issue's definition) pairs only the counts a "
        "page showed with the moment the database first held them, so a commit whose "
        "count was overtaken before the next flush does not count: it reads lower.\n"
        "- Where the delay goes, in order: the consumer commits a batch and tells Redis "
        "(*the hubs hear of it*); the hub flushes at most once per "
        "`DASHBOARD_FLUSH_INTERVAL`, so while a bulk runs a change waits 0-200 ms for the "
        "next flush; then the flush reads and renders once for every page and sends "
        "(part 2's *a flush* column: an operation row whose fields did not change since "
        "the last flush is not rendered again); then the page swaps the fragment (the gap "
        "between the *message received* and *shown* rows).\n"
        "- Queries per second do not grow with the pages: a flush reads the bulk, its "
        "error groups and the operation rows shown once, whatever the number of pages, "
        "plus one poll query per second; the overview's panels are drawn once per second "
        "for all its pages. With `DATABASE_CONN_MAX_AGE` 0 each flush and poll also "
        "opens a PostgreSQL connection of its own (the *connections* column).\n"
        "- Page times are measured by the client over loopback (first byte sent to last "
        "byte read): the server's time plus a negligible transfer.\n"
        "- The machine's load moves every figure here (see the load averages): read one "
        "run as indicative, and compare runs made one after the other on an idle machine.\n"
        f"{end}"
    )
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: body, text)
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    DOCS.write_text(text)


if __name__ == "__main__":
    main()
