"""The seed article's Figures 4 and 5 reproduced, and bulk accept against the synchronous API.

Reproduce (PostgreSQL and RabbitMQ on loopback; the bench database
`asyncbulk_bench_figures` is dropped and created afresh, and so is the RabbitMQ vhost
of the same name when `rabbitmqctl` is available):

    .venv/bin/python bench/bench_figures.py --write-docs

1. Figures 4 and 5. For each level N of simultaneous requests (1, 10, 20, ..., 150),
   side by side and interleaved, `--repeats` (3) times:
   - sync: N product creates through `POST /rest/all/V1/products`, each on its own
     connection and thread, all released at once by a barrier;
   - async: the same through `POST /rest/all/async/V1/products` (one item each);
   - bulk: one `POST /rest/all/async/bulk/V1/products` carrying N items.
   A request's response time runs from its first byte sent to its whole answer read
   (connections are opened beforehand). Average and p95 over every request of every
   repeat, and the errors of the worst repeat (an unexpected status or a dropped
   connection; for the bulk, its N items when it fails). The client's CPU time and the
   server process's are recorded, to show which one was busy.
2. Bulk accept: items/s accepted by one bulk request of 1,000, 5,000 and 10,000 items
   (`--bulk-sizes`), from the first byte sent to the 202, against items/s written by
   `--clients` (8) concurrent synchronous clients (`--sync-items` products in all),
   medians of `--accept-runs` (3) runs.

The server is `manage.py serve --no-consumers` (daphne) in a subprocess on a free port,
with QUEUE_CONNECTION=amqp on PostgreSQL, as in bench/bench_operations.py. No consumer
runs: the async and bulk requests publish to RabbitMQ, and the vhost is dropped at the
end. Plots go to docs/bench/ (figure4.png, figure5.png, bulk_accept.png) with
`--write-docs`, which also replaces the figures section of docs/BENCHMARKS.md.

Options: `--levels 1,10,...`, `--repeats N`, `--bulk-sizes 1000,5000,10000`,
`--accept-runs N`, `--clients N`, `--sync-items N`, `--quick` (levels 1, 50, 100, 150,
one repeat, one accept run: to try the script), `--database-url URL` (default
$BENCH_FIGURES_DATABASE_URL, else
postgres://asyncbulk:asyncbulk@127.0.0.1:5432/asyncbulk_bench_figures), `--amqp-url URL`
(default: the vhost asyncbulk_bench_figures on 127.0.0.1:5672), `--save-json FILE` /
`--from-json FILE` (keep the measurements; plot and write docs from saved ones without
measuring). When PostgreSQL or RabbitMQ is not reachable the script says so and exits 0
without measuring.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bench_operations as ops  # noqa: E402

BASE_DIR = Path(__file__).resolve().parent.parent
DOCS = BASE_DIR / "docs" / "BENCHMARKS.md"
PLOTS = BASE_DIR / "docs" / "bench"
DEFAULT_DATABASE_URL = "postgres://asyncbulk:asyncbulk@127.0.0.1:5432/asyncbulk_bench_figures"
VHOST = "asyncbulk_bench_figures"
DEFAULT_AMQP_URL = f"amqp://guest:guest@127.0.0.1:5672/{VHOST}"
COMMAND = ".venv/bin/python bench/bench_figures.py --write-docs"
LEVELS = [1, *range(10, 151, 10)]
MODES = ("sync", "async", "bulk")
LABELS = {
    "sync": "synchronous API (one item per request)",
    "async": "async API (one item per request)",
    "bulk": "bulk API (one request of N items)",
}
COLORS = {"sync": "tab:red", "async": "tab:blue", "bulk": "tab:green"}
PATHS = {
    "sync": "/rest/all/V1/products",
    "async": "/rest/all/async/V1/products",
    "bulk": "/rest/all/async/bulk/V1/products",
}
EXPECTED = {"sync": 200, "async": 202, "bulk": 202}
SECTION_START = "<!-- section: figures (bench/bench_figures.py) -->"
SECTION_END = "<!-- end: figures -->"
ARTICLE_NOTE = (
    "article's Magento (from its text: 90 s, 80 s and 10 s at 150, linear in between; "
    "errors past 134)"
)


# -- the article's curves -------------------------------------------------------------------


def article_seconds(mode: str, n: int) -> float:
    """The article's Magento average response time at `n` simultaneous requests.

    The seed gives its Figure 4 as an image we do not have; its text says about 90 s
    (sync) and 80 s (async) at 150 requests of one item, and about 10 s for one bulk of
    150 items. Drawn as straight lines from 0 to those values (an approximation of
    the shape: a server saturated from the start answers in time proportional to N).
    """
    at_150 = {"sync": 90.0, "async": 80.0, "bulk": 10.0}[mode]
    return at_150 * n / 150


def article_errors(mode: str, n: int) -> int:
    """The article's Figure 5, from its text: 50x errors from the 135th simultaneous
    request on (a limit of 134 processes), the same for sync and async; none for the
    one bulk request."""
    if mode == "bulk":
        return 0
    return max(0, n - 134)


# -- services ---------------------------------------------------------------------------------


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


def make_vhost(amqp_url: str) -> str | None:
    """Create the URL's vhost afresh with rabbitmqctl; return it (to drop at the end)."""
    vhost = urlparse(amqp_url).path.lstrip("/")
    if not vhost or vhost == "%2F" or shutil.which("rabbitmqctl") is None:
        return None
    run = ["rabbitmqctl", "-q"]
    subprocess.run([*run, "delete_vhost", vhost], capture_output=True)
    made = subprocess.run([*run, "add_vhost", vhost], capture_output=True, text=True)
    if made.returncode != 0:
        raise SystemExit(f"rabbitmqctl add_vhost {vhost} failed: {made.stderr.strip()}")
    user = urlparse(amqp_url).username or "guest"
    subprocess.run(
        [*run, "set_permissions", "-p", vhost, user, ".*", ".*", ".*"],
        check=True,
        capture_output=True,
    )
    return vhost


def drop_vhost(vhost: str | None) -> None:
    if vhost:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True)


def rabbitmq_version(amqp_url: str) -> str:
    try:
        import pika

        conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
        try:
            version = conn._impl.server_properties.get("version", b"?")
        finally:
            conn.close()
        return version.decode() if isinstance(version, bytes) else str(version)
    except Exception:  # the version is only for the caption
        return "?"


def machine(amqp_url: str) -> str:
    """CPU count and model, Python, PostgreSQL and RabbitMQ versions (for the captions)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0].split()[0]
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = " (" + line.split(":", 1)[1].strip() + ")"
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {os.cpu_count()} CPUs{model}, Python "
        f"{platform.python_version()}, PostgreSQL {pg}, RabbitMQ {rabbitmq_version(amqp_url)}"
    )


# -- measuring --------------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    """The nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class ServerCPU:
    """CPU seconds (user + system) used by the server process and its children."""

    def __init__(self, pid: int) -> None:
        try:
            import psutil

            self.process: Any = psutil.Process(pid)
        except Exception:  # psutil is a bench extra; without it the line says unknown
            self.process = None

    def seconds(self) -> float | None:
        if self.process is None:
            return None
        total = 0.0
        for proc in [self.process, *self.process.children(recursive=True)]:
            try:
                times = proc.cpu_times()
            except Exception:
                continue
            total += times.user + times.system
        return total


class Bench:
    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.counter = 0

    def skus(self, prefix: str, n: int) -> list[str]:
        self.counter += 1
        return [f"{prefix}{self.counter}-{i}" for i in range(n)]

    def connect(self, timeout: float) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.connect()
        return conn

    def simultaneous(self, path: str, bodies: list[bytes], expected: int) -> dict[str, Any]:
        """POST every body at once, one connection and thread each; return the times."""
        n = len(bodies)
        times: list[float | None] = [None] * n
        sent = [0.0] * n
        errors: list[str] = []
        conns: list[http.client.HTTPConnection | None] = []
        for _ in range(n):
            try:
                conns.append(self.connect(180))
            except OSError as exc:  # a refused connection is an error of its level
                errors.append(f"connect: {type(exc).__name__}: {exc}")
                conns.append(None)
        barrier = threading.Barrier(n + 1)

        def work(i: int) -> None:
            conn = conns[i]
            barrier.wait()
            started = time.perf_counter()
            sent[i] = started
            if conn is None:
                return
            try:
                conn.request("POST", path, body=bodies[i], headers=self.headers)
                response = conn.getresponse()
                answer = response.read()
                if response.status != expected:
                    errors.append(f"{response.status} {answer[:200]!r}")
                    return
                times[i] = time.perf_counter() - started
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                conn.close()

        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(n)]
        for thread in threads:
            thread.start()
        barrier.wait()
        for thread in threads:
            thread.join()
        return {
            "times": [t for t in times if t is not None],
            "errors": len(errors),
            "example_error": errors[0] if errors else "",
            "spread": max(sent) - min(sent) if n else 0.0,
        }

    def bulk(self, n: int, prefix: str) -> dict[str, Any]:
        body = json.dumps([ops.product(sku) for sku in self.skus(prefix, n)]).encode()
        conn = self.connect(300)
        started = time.perf_counter()
        try:
            conn.request("POST", PATHS["bulk"], body=body, headers=self.headers)
            response = conn.getresponse()
            answer = response.read()
            elapsed = time.perf_counter() - started
        except (OSError, http.client.HTTPException) as exc:
            return {"times": [], "errors": n, "example_error": repr(exc), "spread": 0.0}
        finally:
            conn.close()
        failed = response.status != 202 or bool(json.loads(answer).get("errors"))
        return {
            "times": [] if failed else [elapsed],
            "errors": n if failed else 0,
            "example_error": f"{response.status} {answer[:200]!r}" if failed else "",
            "spread": 0.0,
        }

    def level(self, mode: str, n: int) -> dict[str, Any]:
        if mode == "bulk":
            return self.bulk(n, "FB")
        prefix = {"sync": "FS", "async": "FA"}[mode]
        bodies = [json.dumps(ops.product(sku)).encode() for sku in self.skus(prefix, n)]
        return self.simultaneous(PATHS[mode], bodies, EXPECTED[mode])

    def sync_rate(self, items: int, clients: int) -> float:
        """Items/s written by `clients` threads posting one product per request in turn."""
        per_client = items // clients
        errors: list[str] = []
        barrier = threading.Barrier(clients + 1)
        skus = self.skus("FR", per_client * clients)

        def work(index: int) -> None:
            conn = self.connect(120)
            bodies = [
                json.dumps(ops.product(sku)).encode()
                for sku in skus[index * per_client : (index + 1) * per_client]
            ]
            barrier.wait()
            for body in bodies:
                conn.request("POST", PATHS["sync"], body=body, headers=self.headers)
                response = conn.getresponse()
                answer = response.read()
                if response.status != 200:
                    errors.append(f"{response.status} {answer[:200]!r}")
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


def measure(args: argparse.Namespace, port: int, token: str, server_pid: int) -> dict[str, Any]:
    bench = Bench(port, token)
    cpu = ServerCPU(server_pid)
    # Warm-up: the first requests of a fresh process import and compile what they use.
    for mode in MODES:
        bench.level(mode, 5)
    samples: dict[str, dict[int, dict[str, Any]]] = {
        mode: {n: {"times": [], "errors": [], "spread": []} for n in args.levels} for mode in MODES
    }
    client_cpu = {mode: 0.0 for mode in MODES}
    server_cpu = {mode: 0.0 for mode in MODES}
    wall = {mode: 0.0 for mode in MODES}
    requests = {mode: 0 for mode in MODES}
    example_errors: list[str] = []
    for repeat in range(args.repeats):
        # The modes take turns going first, so that none always follows the same one.
        order = MODES[repeat % 3 :] + MODES[: repeat % 3]
        for n in args.levels:
            for mode in order:
                client_before, server_before = time.process_time(), cpu.seconds()
                started = time.perf_counter()
                got = bench.level(mode, n)
                wall[mode] += time.perf_counter() - started
                client_cpu[mode] += time.process_time() - client_before
                server_after = cpu.seconds()
                if server_before is not None and server_after is not None:
                    server_cpu[mode] += server_after - server_before
                requests[mode] += 1 if mode == "bulk" else n
                sample = samples[mode][n]
                sample["times"] += got["times"]
                sample["errors"].append(got["errors"])
                sample["spread"].append(got["spread"])
                if got["example_error"]:
                    example_errors.append(f"{mode} at {n}: {got['example_error']}")
            parts = []
            for mode in MODES:
                sample = samples[mode][n]
                avg = statistics.fmean(sample["times"] or [math.nan]) * 1000
                errors = sample["errors"][-1]
                parts.append(f"{mode} {avg:,.0f} ms" + (f" ({errors} errors)" if errors else ""))
            print(f"repeat {repeat + 1}, {n:>3} simultaneous: {', '.join(parts)}", flush=True)
    figures: dict[str, Any] = {}
    for mode in MODES:
        rows = []
        for n in args.levels:
            sample = samples[mode][n]
            times = sample["times"]
            rows.append(
                {
                    "n": n,
                    "avg": statistics.fmean(times) if times else None,
                    "median": statistics.median(times) if times else None,
                    "p95": p95(times) if times else None,
                    "errors": max(sample["errors"]),
                    "spread": max(sample["spread"]),
                }
            )
        figures[mode] = rows
    load = {
        mode: {
            "client_cpu_s": client_cpu[mode],
            "server_cpu_s": server_cpu[mode] if cpu.process is not None else None,
            "wall_s": wall[mode],
            "requests": requests[mode],
        }
        for mode in MODES
    }
    accept: dict[str, Any] = {"sync": [], "bulk": {str(size): [] for size in args.bulk_sizes}}
    for run in range(args.accept_runs):
        accept["sync"].append(bench.sync_rate(args.sync_items, args.clients))
        parts = [f"sync {accept['sync'][-1]:,.0f} items/s"]
        for size in args.bulk_sizes:
            got = bench.bulk(size, "FK")
            if got["errors"]:
                raise SystemExit(f"a bulk of {size} failed: {got['example_error']}")
            accept["bulk"][str(size)].append(size / got["times"][0])
            parts.append(f"bulk {size:,} {accept['bulk'][str(size)][-1]:,.0f} items/s")
        print(f"accept run {run + 1}: " + ", ".join(parts), flush=True)
    return {
        "levels": args.levels,
        "repeats": args.repeats,
        "figures": figures,
        "load": load,
        "errors_seen": example_errors[:5],
        "accept": accept,
        "clients": args.clients,
        "sync_items": args.sync_items,
        "accept_runs": args.accept_runs,
    }


# -- targets and report -----------------------------------------------------------------------


def row(results: dict[str, Any], mode: str, n: int) -> dict[str, Any] | None:
    return next((r for r in results["figures"][mode] if r["n"] == n), None)


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for the issue's targets this bench measures."""
    out: list[tuple[str, str, bool | None]] = []
    top = max(results["levels"])
    sync_top = row(results, "sync", top)
    bulk_top = row(results, "bulk", top)
    if top >= 150 and sync_top is not None:
        out.append(
            (
                "150 simultaneous synchronous requests: no errors",
                f"{sync_top['errors']} errors (worst of {results['repeats']} repeats)",
                sync_top["errors"] == 0,
            )
        )
    if top >= 150 and bulk_top is not None:
        median = bulk_top.get("median", bulk_top["avg"])
        out.append(
            (
                "the 150-item bulk answers in < 1% of the article's 10 s (< 100 ms)",
                "failed"
                if median is None
                else f"{median * 1000:,.0f} ms (median of {results['repeats']})",
                median is not None and median < 0.1,
            )
        )
    accept = results["accept"]
    sync = statistics.median(accept["sync"]) if accept["sync"] else None
    biggest = max(accept["bulk"], key=int) if accept["bulk"] else None
    if biggest is not None and accept["bulk"][biggest]:
        bulk = statistics.median(accept["bulk"][biggest])
        out.append(
            (
                f"bulk accept of {int(biggest):,} items ≥ 10,000 items/s",
                f"{bulk:,.0f} items/s",
                bulk >= 10_000,
            )
        )
        if sync:
            out.append(
                (
                    f"bulk accept of {int(biggest):,} items ≥ 50× the synchronous API "
                    f"({results['clients']} clients, one server process)",
                    f"{bulk / sync:,.1f}× ({sync:,.0f} items/s sync)",
                    bulk / sync >= 50,
                )
            )
    return out


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:,.0f}"


def render(results: dict[str, Any]) -> str:
    lines = [
        f"Measured {results['date']} on {results['machine']}; load average "
        f"{results.get('load_before', math.nan):.1f} before and "
        f"{results['load_average']:.1f} at the end. Command: `{results['command']}`.",
        "",
        "### Targets",
        "",
        "| target | measured | |",
        "|---|---|---|",
    ]
    for target, measured, met in targets(results):
        verdict = "met" if met else "**not met**"
        lines.append(f"| {target} | {measured} | {verdict} |")
    lines += [
        "",
        "### Figure 4: response time against simultaneous requests",
        "",
        "![Figure 4](bench/figure4.png)",
        "",
        f"*Figure 4, reproduced: average response time per mode against the number of "
        f"simultaneous product creates, log scale; dotted: {ARTICLE_NOTE}. "
        f"Made by `{results['command']}` on {results['machine']}.*",
        "",
        "### Figure 5: errors against simultaneous requests",
        "",
        "![Figure 5](bench/figure5.png)",
        "",
        f"*Figure 5, reproduced: failed requests (worst repeat) per mode; dotted: "
        f"{ARTICLE_NOTE}. Made by `{results['command']}` on {results['machine']}.*",
        "",
        f"Average / p95 response time in ms and errors, over {results['repeats']} repeats "
        "(the article's Magento beside, seconds):",
        "",
        "| simultaneous | sync avg | sync p95 | sync errors | async avg | async p95 "
        "| async errors | bulk of N avg | bulk of N median | bulk errors "
        "| Magento sync / async / bulk (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n in results["levels"]:
        s, a, b = (row(results, mode, n) or {} for mode in MODES)
        magento = " / ".join(f"{article_seconds(mode, n):.1f}" for mode in MODES)
        lines.append(
            f"| {n} | {fmt_ms(s.get('avg'))} | {fmt_ms(s.get('p95'))} | {s.get('errors')} "
            f"| {fmt_ms(a.get('avg'))} | {fmt_ms(a.get('p95'))} | {a.get('errors')} "
            f"| {fmt_ms(b.get('avg'))} | {fmt_ms(b.get('median'))} | {b.get('errors')} "
            f"| {magento} |"
        )
    lines += ["", "Is the client the bottleneck? CPU time over every level and repeat:", ""]
    lines += [
        "| mode | requests | wall s | client CPU s | server CPU s | client CPU per request |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for mode in MODES:
        load = results["load"][mode]
        server = load["server_cpu_s"]
        lines.append(
            f"| {mode} | {load['requests']:,} | {load['wall_s']:.1f} | {load['client_cpu_s']:.1f} "
            f"| {'?' if server is None else f'{server:.1f}'} "
            f"| {load['client_cpu_s'] / max(1, load['requests']) * 1000:.2f} ms |"
        )
    spread = max(r["spread"] for mode in ("sync", "async") for r in results["figures"][mode])
    client = sum(load["client_cpu_s"] for load in results["load"].values())
    server = [load["server_cpu_s"] for load in results["load"].values()]
    if None not in server and sum(server):
        lines += [
            "",
            f"The client (this script, threads and http.client) used {client:.1f} CPU s, "
            f"{client / sum(server):.0%} of the {sum(server):.1f} s the server process "
            "used: on 2 cores the server, PostgreSQL and RabbitMQ are what is measured.",
        ]
    lines += [
        "",
        f"The last of N simultaneous requests left the client at most {spread * 1000:,.0f} ms "
        "after the first (all connections open beforehand, threads released by one "
        "barrier).",
    ]
    if results["errors_seen"]:
        lines += ["", "Errors seen, e.g.: " + "; ".join(f"`{e}`" for e in results["errors_seen"])]
    accept = results["accept"]
    sync = statistics.median(accept["sync"])
    lines += [
        "",
        "### Bulk accept",
        "",
        "![Bulk accept](bench/bulk_accept.png)",
        "",
        f"*Items/s accepted by one bulk request against items/s written by "
        f"{results['clients']} concurrent synchronous clients, medians of "
        f"{results['accept_runs']} runs. Made by `{results['command']}` on "
        f"{results['machine']}.*",
        "",
        "| case | median items/s | runs | × sync |",
        "|---|---:|---|---:|",
        f"| sync API, {results['clients']} concurrent clients, {results['sync_items']:,} "
        f"items | {sync:,.0f} | {', '.join(f'{r:,.0f}' for r in accept['sync'])} | 1 |",
    ]
    for size, rates in accept["bulk"].items():
        median = statistics.median(rates)
        lines.append(
            f"| one bulk of {int(size):,} items | {median:,.0f} "
            f"| {', '.join(f'{r:,.0f}' for r in rates)} | {median / sync:,.0f} |"
        )
    return "\n".join(lines)


def plot(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write figure4.png, figure5.png and bulk_accept.png into `out_dir`; return them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    out_dir.mkdir(parents=True, exist_ok=True)
    caption = f"{results['command']} · {results['machine']} · {results['date']}"
    levels = results["levels"]
    dense = list(range(1, max(levels) + 1))
    written = []

    fig, ax = plt.subplots(figsize=(12, 5.5))
    for mode in MODES:
        rows = [r for r in results["figures"][mode] if r["avg"] is not None]
        ax.plot(
            [r["n"] for r in rows],
            [r["avg"] for r in rows],
            marker="o",
            color=COLORS[mode],
            label=f"ours: {LABELS[mode]}, average",
        )
        if mode != "bulk":  # one bulk request per level and repeat: no p95 to speak of
            ax.plot(
                [r["n"] for r in rows],
                [r["p95"] for r in rows],
                linestyle="--",
                linewidth=0.8,
                color=COLORS[mode],
                label=f"ours: {mode}, p95",
            )
        ax.plot(
            dense,
            [article_seconds(mode, n) for n in dense],
            linestyle=":",
            linewidth=2,
            color=COLORS[mode],
            label=f"article's Magento: {mode}",
        )
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.005)
    ax.set_xlabel("number of simultaneous requests (items)")
    ax.set_ylabel("response time, seconds (log scale)")
    ax.set_title("Figure 4 reproduced: product-create response time")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.text(0.01, 0.01, f"dotted: {ARTICLE_NOTE}\n{caption}", fontsize=6.5, va="bottom")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    written.append(out_dir / "figure4.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(12, 5))
    for offset, mode in zip((-0.6, 0, 0.6), MODES, strict=True):
        rows = results["figures"][mode]
        ax.plot(
            [r["n"] + offset for r in rows],
            [r["errors"] for r in rows],
            marker="o",
            color=COLORS[mode],
            label=f"ours: {LABELS[mode]}",
        )
    # The article: "red and blue lines are the same here", so one line for both.
    for modes, color in ((("sync", "async"), "tab:purple"), (("bulk",), COLORS["bulk"])):
        ax.plot(
            dense,
            [article_errors(modes[0], n) for n in dense],
            linestyle=":",
            linewidth=2,
            color=color,
            label=f"article's Magento: {' and '.join(modes)}",
        )
    ax.set_xlabel("number of simultaneous requests (items)")
    ax.set_ylabel("failed requests (items not accepted)")
    ax.set_title("Figure 5 reproduced: errors (ours: worst repeat)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.text(0.01, 0.01, f"dotted: {ARTICLE_NOTE}\n{caption}", fontsize=6.5, va="bottom")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    written.append(out_dir / "figure5.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)

    accept = results["accept"]
    names = [f"sync API\n{results['clients']} clients"] + [
        f"one bulk of\n{int(size):,} items" for size in accept["bulk"]
    ]
    values = [statistics.median(accept["sync"])] + [
        statistics.median(rates) for rates in accept["bulk"].values()
    ]
    fig, ax = plt.subplots(figsize=(8, 5))
    bars = ax.bar(names, values, color=["tab:red"] + ["tab:green"] * len(accept["bulk"]))
    for bar, value in zip(bars, values, strict=True):
        ax.annotate(
            f"{value:,.0f}",
            (bar.get_x() + bar.get_width() / 2, value),
            ha="center",
            va="bottom",
            fontsize=9,
        )
    ax.axhline(10_000, color="grey", linestyle="--", linewidth=1, label="target: 10,000 items/s")
    ax.axhline(
        50 * values[0], color="tab:red", linestyle=":", linewidth=1, label="target: 50× sync"
    )
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_ylabel("items/s (median)")
    ax.set_title("Bulk accept against the synchronous API")
    ax.legend(fontsize=8)
    fig.text(0.01, 0.01, caption, fontsize=6.5, va="bottom")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    written.append(out_dir / "bulk_accept.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)
    return written


def write_docs(results: dict[str, Any]) -> None:
    body = (
        f"{SECTION_START}\n## The seed's Figures 4 and 5, and bulk accept\n\n"
        "Reproduce (PostgreSQL and RabbitMQ on loopback; the database "
        "`asyncbulk_bench_figures` and the RabbitMQ vhost of the same name are made "
        "afresh):\n\n"
        f"    {results['command']}\n\n"
        "1 to 150 simultaneous product creates (1, 10, 20, …, 150), each level through "
        "the synchronous API (`POST /rest/all/V1/products`), the async API "
        "(`POST /rest/all/async/V1/products`, one item each) and one bulk request "
        "(`POST /rest/all/async/bulk/V1/products`) carrying as many items, interleaved, "
        "against `manage.py serve --no-consumers` (one daphne process, "
        "QUEUE_CONNECTION=amqp, PostgreSQL). Every simultaneous request has its own "
        "connection, opened beforehand, and thread; a barrier releases them together. "
        "No consumer runs: accepting is what is timed. The article measured Magento 2.3.2 "
        "on 16 CPUs and 256 GB; this is 2 CPUs, so the ratios are what hold. The seed "
        "has the article's figures as images we do not have; its curves here are its "
        "text's numbers (about 90 s sync and 80 s async at 150 requests, about 10 s for "
        "one 150-item bulk, 50x errors from the 135th simultaneous request, the same for "
        "sync and async), drawn as straight lines in between.\n\n"
        f"{render(results)}\n{SECTION_END}"
    )
    ops.replace_section(SECTION_START, SECTION_END, body, DOCS)


# -- main -------------------------------------------------------------------------------------


def int_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--levels", type=int_list, default=LEVELS)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--bulk-sizes", type=int_list, default=[1000, 5000, 10000])
    p.add_argument("--accept-runs", type=int, default=3)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--sync-items", type=int, default=800)
    p.add_argument("--quick", action="store_true", help="few levels, one repeat and run")
    p.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_FIGURES_DATABASE_URL", DEFAULT_DATABASE_URL),
    )
    p.add_argument("--amqp-url", default=os.environ.get("BENCH_FIGURES_AMQP_URL", DEFAULT_AMQP_URL))
    p.add_argument("--save-json", metavar="FILE")
    p.add_argument("--from-json", metavar="FILE", help="plot and report saved measurements")
    p.add_argument("--write-docs", action="store_true")
    return p


def command_line(argv: list[str]) -> str:
    """The command that made the figures, without where its raw measurements were saved."""
    shown: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--save-json":
            skip = True
        elif not arg.startswith("--save-json="):
            shown.append(arg)
    return " ".join([".venv/bin/python", "bench/bench_figures.py", *shown])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    if args.quick:
        args.levels, args.repeats, args.accept_runs = [1, 50, 100, 150], 1, 1
        args.sync_items = min(args.sync_items, 400)
    if args.from_json:
        results = json.loads(Path(args.from_json).read_text())
    else:
        missing = [
            name
            for name, url, port in (
                ("PostgreSQL", args.database_url, 5432),
                ("RabbitMQ", args.amqp_url, 5672),
            )
            if not reachable(url, port)
        ]
        if missing:
            print(
                f"figures: skipped, {' and '.join(missing)} not reachable "
                f"({args.database_url.split('@')[-1]}, {args.amqp_url.split('@')[-1]})",
                flush=True,
            )
            return 0
        results = run(args, argv)
    if args.save_json:
        Path(args.save_json).write_text(json.dumps(results, indent=1))
    print(render(results))
    if args.write_docs:
        try:
            written = plot(results, PLOTS)
        except ImportError:
            print("figures: matplotlib is not installed (pip install -e '.[bench]'): no plots")
        else:
            print("plots: " + ", ".join(str(p.relative_to(BASE_DIR)) for p in written))
        write_docs(results)
        print(f"docs: {DOCS.relative_to(BASE_DIR)} (section figures)")
    return 0


def run(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    vhost = make_vhost(args.amqp_url)
    if vhost is None and urlparse(args.amqp_url).path.lstrip("/") not in ("", "%2F"):
        print("figures: no rabbitmqctl; using the vhost of --amqp-url as it is", flush=True)
    os.environ["AMQP_URL"] = args.amqp_url
    try:
        env = ops.bench_environment(args.database_url)
        env["AMQP_URL"] = args.amqp_url
        ops.setup_django(args.database_url)
        token = ops.prepare(env)
        port = ops.free_port()
        with tempfile.NamedTemporaryFile(
            "w+", prefix="bench-figures-server-", suffix=".log", delete=False
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
                ops.wait_for_port(port)
                results = measure(args, port, token, server.pid)
            finally:
                server.terminate()
                server.wait(timeout=30)
        results.update(
            load_before=load_before,
            date=time.strftime("%Y-%m-%d"),
            machine=machine(args.amqp_url),
            load_average=os.getloadavg()[0],
            command=command_line(argv),
            seconds=time.monotonic() - started,
        )
        print(f"figures: measured in {results['seconds']:.0f} s", flush=True)
        return results
    finally:
        drop_vhost(vhost)


if __name__ == "__main__":
    sys.exit(main())
