"""Smoke tests of `make bench`'s scripts: they start, and the figures are drawn.

The benchmarks themselves need PostgreSQL and RabbitMQ and minutes; these tests only
check that bench/run.py and bench/bench_figures.py answer `--help`, that the
orchestrator skips a script that is not there, and that the plotting and the report
work on a tiny made-up result set. matplotlib is a bench-only dependency (`.[bench]`,
installed by `make bench`, not by `make install`): without it the plot test skips.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench import bench_figures, run

BASE_DIR = Path(__file__).resolve().parent.parent


def results() -> dict:
    """Made-up measurements of two levels, in the shape bench_figures.measure returns."""

    def rows(avg: float, errors: int) -> list[dict]:
        return [
            {"n": 1, "avg": avg, "median": avg, "p95": avg, "errors": 0, "spread": 0.0},
            {
                "n": 150,
                "avg": avg * 50,
                "median": avg * 40,
                "p95": avg * 70,
                "errors": errors,
                "spread": 0.004,
            },
        ]

    return {
        "levels": [1, 150],
        "repeats": 1,
        "figures": {"sync": rows(0.02, 0), "async": rows(0.03, 2), "bulk": rows(0.001, 0)},
        "load": {
            mode: {"client_cpu_s": 0.1, "server_cpu_s": 2.0, "wall_s": 3.0, "requests": 151}
            for mode in ("sync", "async", "bulk")
        },
        "errors_seen": ["async at 150: 503 b'busy'"],
        "accept": {"sync": [200.0, 300.0], "bulk": {"1000": [4000.0], "10000": [12000.0]}},
        "clients": 8,
        "sync_items": 800,
        "accept_runs": 2,
        "date": "2026-12-03",
        "machine": "Linux 2 CPUs, Python 3.11, PostgreSQL 15, RabbitMQ 3.10",
        "load_average": 1.0,
        "command": ".venv/bin/python bench/bench_figures.py --write-docs",
    }


@pytest.mark.parametrize("script", ["bench/run.py", "bench/bench_figures.py"])
def test_help(script: str) -> None:
    done = subprocess.run(
        [sys.executable, script, "--help"], cwd=BASE_DIR, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "--write-docs" in done.stdout or "--only" in done.stdout
    assert "usage:" in done.stdout


def test_run_skips_a_script_that_is_not_there(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setattr(run, "SCRIPTS", [run.Script("ghost", "bench_ghost_missing.py")])
    assert run.main(["--no-docs"]) == 0
    out = capsys.readouterr().out
    assert "ghost: skipped, bench/bench_ghost_missing.py is not there yet" in out
    assert "skipped (no script)" in out


def test_run_passes_only_the_options_a_script_lists() -> None:
    help_text = "usage: x [--runs RUNS] [--write-docs]\n  --runs RUNS\n  --write-docs"
    kept, dropped = run.supported(["--runs", "3", "--quick", "--write-docs"], help_text)
    assert kept == ["--runs", "3", "--write-docs"]
    assert dropped == ["--quick"]
    kept, dropped = run.supported(["--run", "2"], help_text)  # a prefix is not the option
    assert dropped == ["--run", "2"]


def test_report_says_which_targets_are_met() -> None:
    text = bench_figures.render(results())
    lines = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()}
    assert (
        "| 0 errors (worst of 1 repeats) | met |"
        in lines["150 simultaneous synchronous requests: no errors"]
    )
    # The median, 0.001 s * 40 = 40 ms for the 150-item bulk: under 1% of the article's 10 s.
    assert (
        "| 40 ms (median of 1) | met |"
        in lines["the 150-item bulk answers in < 1% of the article's 10 s (< 100 ms)"]
    )
    assert "| 12,000 items/s | met |" in lines["bulk accept of 10,000 items ≥ 10,000 items/s"]
    ratio = next(line for line in text.splitlines() if "≥ 50× the synchronous API" in line)
    assert "48.0×" in ratio and "**not met**" in ratio  # 12,000 / median(200, 300)
    row = "| 150 | 1,000 | 1,400 | 0 | 1,500 | 2,100 | 2 | 50 | 40 | 0 | 90.0 / 80.0 / 10.0 |"
    assert row in text
    assert "used 0.3 CPU s, 5% of the 6.0 s the server process used" in text


def test_plots_are_written(tmp_path: Path) -> None:
    pytest.importorskip(
        "matplotlib", reason="matplotlib is a bench-only dependency: pip install -e '.[bench]'"
    )
    written = bench_figures.plot(results(), tmp_path)
    assert [p.name for p in written] == ["figure4.png", "figure5.png", "bulk_accept.png"]
    for path in written:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) > 10_000


def test_figures_skip_with_a_line_when_the_services_are_missing() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "bench/bench_figures.py",
            "--database-url",
            "postgres://asyncbulk:asyncbulk@127.0.0.1:1/nowhere",
            "--amqp-url",
            "amqp://guest:guest@127.0.0.1:2/nowhere",
        ],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "figures: skipped, PostgreSQL and RabbitMQ not reachable" in done.stdout


def test_run_skips_a_script_whose_service_is_missing(monkeypatch, capsys) -> None:
    monkeypatch.setattr(run, "SERVICES", {"PostgreSQL": ("127.0.0.1", 1)})
    monkeypatch.setattr(
        run, "SCRIPTS", [run.Script("operations", "bench_operations.py", needs=("PostgreSQL",))]
    )
    assert run.main([]) == 0
    out = capsys.readouterr().out
    assert "bench: PostgreSQL 127.0.0.1:1 not reachable: parts that need it are skipped" in out
    assert "bench: operations: skipped, needs PostgreSQL" in out
