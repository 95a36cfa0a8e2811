"""`make bench`: run the benchmarks one after the other and write docs/BENCHMARKS.md and its plots.

    make bench                                  # or: .venv/bin/python bench/run.py
    .venv/bin/python bench/run.py --only figures
    .venv/bin/python bench/run.py --quick       # small sizes, to try it in a minute or two

Each script runs in turn with `--write-docs` (it replaces its own section of
docs/BENCHMARKS.md; plots go under docs/bench/) and run counts chosen so that the whole
default set takes about ten minutes on 2 cores. Everything is on loopback: PostgreSQL
(127.0.0.1:5432), RabbitMQ (5672) and Redis (6379). A missing service is reported
first; a script that needs it and does not check for itself is skipped with a line, the
others skip their own parts. A script that is not there yet is skipped with a line, a
failing one is reported, and the next one runs. Options a script does not list in its
`--help` are not passed to it.

Run separately (they do not fit the ten minutes; `--only NAME` or `--all` runs them):
- queues (bench/bench_queues.py, about 5 minutes at `--runs 5`);
- dashboard (bench/bench_dashboard.py: a million operations, Chromium pages; 10+ minutes).

The exit status is 1 when a script failed, else 0.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
BASE_DIR = BENCH_DIR.parent
DOCS = BASE_DIR / "docs" / "BENCHMARKS.md"
PLOTS = BASE_DIR / "docs" / "bench"
SERVICES = {
    "PostgreSQL": ("127.0.0.1", 5432),
    "RabbitMQ": ("127.0.0.1", 5672),
    "Redis": ("127.0.0.1", 6379),
}


@dataclass
class Script:
    name: str
    file: str
    # Services without which the script cannot run and which it does not check itself.
    needs: tuple[str, ...] = ()
    args: list[str] = field(default_factory=list)
    quick: list[str] = field(default_factory=lambda: ["--quick"])
    in_default: bool = True
    about: str = ""


SCRIPTS = [
    Script(
        "figures",
        "bench_figures.py",
        about="the seed's Figures 4 and 5, bulk accept (about 3 min)",
    ),
    Script(
        "operations",
        "bench_operations.py",
        needs=("PostgreSQL", "RabbitMQ"),
        args=["--runs", "3", "--sync-items", "1000"],
        quick=["--runs", "2", "--sync-items", "400"],
        about="sync API, bulk accept, consumer (about 2 min)",
    ),
    Script(
        "peers",
        "bench_peers.py",
        args=["--runs", "2", "--profile"],
        about="Celery, Dramatiq, transports, consumer memory over 100,000 operations (about 4 min)",
    ),
    Script(
        "serve",
        "bench_serve.py",
        args=["--runs", "2"],
        about="the synchronous API on 1 and 2 server workers (about 1 min)",
    ),
    Script("imports", "bench_imports.py", about="a 100,000-row product import (about 2 min)"),
    Script(
        "queues",
        "bench_queues.py",
        needs=("PostgreSQL", "RabbitMQ"),
        args=["--runs", "5"],
        quick=["--runs", "1", "--messages", "2000", "--per-message", "500"],
        in_default=False,
        about="queue framework publish and consume rates (run separately: about 5 min)",
    ),
    Script(
        "dashboard",
        "bench_dashboard.py",
        needs=("PostgreSQL", "RabbitMQ", "Redis"),
        in_default=False,
        about="dashboard live delay and page times (run separately: 10+ min)",
    ),
]


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def supported(args: list[str], help_text: str) -> tuple[list[str], list[str]]:
    """Split `args` into those whose option appears in `help_text` and those dropped.

    An option is followed by its value when the next word is not an option."""
    kept: list[str] = []
    dropped: list[str] = []
    i = 0
    while i < len(args):
        group = [args[i]]
        if i + 1 < len(args) and not args[i + 1].startswith("--"):
            group.append(args[i + 1])
        i += len(group)
        option = group[0].split("=", 1)[0]
        listed = re.search(re.escape(option) + r"(?![\w-])", help_text) is not None
        (kept if listed else dropped).extend(group)
    return kept, dropped


def help_of(path: Path) -> str | None:
    try:
        done = subprocess.run(
            [sys.executable, str(path), "--help"],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        return None
    return done.stdout if done.returncode == 0 else None


def run_script(script: Script, argv: list[str], timeout: float) -> int | None:
    """Run one script in a session of its own; return its exit status (None: timed out)."""
    process = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / script.file), *argv],
        cwd=BASE_DIR,
        start_new_session=True,
    )
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        return None
    except KeyboardInterrupt:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()
        raise


def parser() -> argparse.ArgumentParser:
    names = [s.name for s in SCRIPTS]
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--only",
        action="append",
        choices=names,
        metavar="NAME",
        help=f"run only this script (repeatable): {', '.join(names)}",
    )
    p.add_argument("--all", action="store_true", help="also the scripts run separately")
    p.add_argument("--quick", action="store_true", help="small sizes: to try the suite")
    p.add_argument(
        "--no-docs", action="store_true", help="do not pass --write-docs (print the tables only)"
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=900,
        help="seconds a script may run before it is stopped (default 900)",
    )
    p.add_argument("--list", action="store_true", help="list the scripts and exit")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.list:
        for s in SCRIPTS:
            where = "" if (BENCH_DIR / s.file).exists() else " (not there yet)"
            default = "" if s.in_default else " [separately]"
            print(f"{s.name:<11} bench/{s.file}{where}{default}: {s.about}")
        return 0
    selected = [
        s for s in SCRIPTS if (s.name in args.only if args.only else (args.all or s.in_default))
    ]
    started = time.time()
    missing = {name for name, (host, port) in SERVICES.items() if not reachable(host, port)}
    for name, (host, port) in SERVICES.items():
        state = "not reachable: parts that need it are skipped" if name in missing else "up"
        print(f"bench: {name} {host}:{port} {state}", flush=True)
    outcomes: list[tuple[str, str, float]] = []
    for script in selected:
        path = BENCH_DIR / script.file
        began = time.monotonic()
        if not path.exists():
            print(f"\nbench: {script.name}: skipped, bench/{script.file} is not there yet")
            outcomes.append((script.name, "skipped (no script)", 0.0))
            continue
        lacking = [name for name in script.needs if name in missing]
        if lacking:
            print(f"\nbench: {script.name}: skipped, needs {' and '.join(lacking)}")
            outcomes.append((script.name, f"skipped (no {', '.join(lacking)})", 0.0))
            continue
        help_text = help_of(path)
        if help_text is None:
            print(f"\nbench: {script.name}: failed, `bench/{script.file} --help` did not work")
            outcomes.append((script.name, "failed (--help)", time.monotonic() - began))
            continue
        wanted = list(script.quick if args.quick else script.args)
        if not args.no_docs:
            wanted.append("--write-docs")
        passed, dropped = supported(wanted, help_text)
        note = f" (not passed, the script has no such option: {' '.join(dropped)})"
        print(
            f"\nbench: {script.name}: bench/{script.file} {' '.join(passed)}"
            f"{note if dropped else ''}",
            flush=True,
        )
        status = run_script(script, passed, args.timeout)
        elapsed = time.monotonic() - began
        if status is None:
            state = f"stopped after {args.timeout:.0f} s"
        elif status == 0:
            state = "done"
        else:
            state = f"failed (exit {status})"
        print(f"bench: {script.name}: {state} in {elapsed:.0f} s", flush=True)
        outcomes.append((script.name, state, elapsed))
    print("\nbench: summary")
    for name, state, elapsed in outcomes:
        print(f"  {name:<11} {state:<28} {elapsed:6.0f} s")
    print(f"  {'total':<11} {'':<28} {time.time() - started:6.0f} s")
    unselected = [s.name for s in SCRIPTS if s not in selected and not s.in_default]
    if unselected and not args.only:
        print(f"bench: run separately: {', '.join(unselected)} (bench/run.py --only NAME)")
    plots = sorted(p for p in PLOTS.glob("*.png") if p.stat().st_mtime >= started)
    if args.no_docs:
        print("bench: --no-docs: docs/BENCHMARKS.md left as it was")
    else:
        wrote = DOCS.exists() and DOCS.stat().st_mtime >= started
        print(f"bench: docs: {DOCS.relative_to(BASE_DIR)}{'' if wrote else ' (unchanged)'}")
        print(
            "bench: plots: "
            + (", ".join(str(p.relative_to(BASE_DIR)) for p in plots) if plots else "none made")
        )
    return 1 if any(state.startswith(("failed", "stopped")) for _n, state, _e in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
