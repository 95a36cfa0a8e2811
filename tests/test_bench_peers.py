"""Smoke tests of bench/bench_peers.py (the bench itself runs by hand or `make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench import bench_peers

BASE_DIR = Path(__file__).resolve().parent.parent


def test_help_lists_the_options_without_the_peers_installed() -> None:
    done = subprocess.run(
        [sys.executable, "bench/bench_peers.py", "--help"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    for option in ("--runs", "--operations", "--peer-operations", "--rss-operations", "--tune"):
        assert option in done.stdout


def test_an_unknown_part_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "bench/bench_peers.py", "--parts", "peers,nonsense"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "unknown part(s): nonsense" in done.stderr


def test_write_docs_replaces_its_own_section_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "BENCHMARKS.md"
    docs.write_text("# Benchmarks\n\n<!-- section: other -->\nkept\n<!-- end: other -->\n")
    monkeypatch.setattr(bench_peers, "DOCS", docs)
    bench_peers.write_docs("first")
    bench_peers.write_docs("second")
    text = docs.read_text()
    assert text.count(bench_peers.SECTION_START) == 1
    assert "second" in text and "first" not in text
    assert "<!-- section: other -->\nkept\n<!-- end: other -->" in text


@pytest.mark.parametrize("module", ["_peer_celery", "_peer_dramatiq"])
def test_the_peers_run_the_projects_own_operation_function(module: str) -> None:
    pytest.importorskip(module.removeprefix("_peer_"), reason="the bench extra is not installed")
    import importlib

    from operations.actions import running

    peer = importlib.import_module(f"bench.{module}")
    assert peer.execute_operations is running.execute_operations
