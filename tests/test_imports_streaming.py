"""A 100,000-row file is streamed: the memory an import needs does not grow with the file.

Measured as the Python heap's peak (tracemalloc) while reading, mapping and building
every row of the file, and as the process's peak resident size (VmHWM, reset first)
over a dry run of the whole file, which also validates every row in chunks. Holding
the file's rows at once would take well over 100 MB."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from imports import actions, entities, readers
from imports.models import ImportState
from imports.resolving import Resolver
from store.models import Store
from webapi.routes import CallContext

ROWS = 100_000


def _write(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("sku,name,price,qty,description,visibility\n")
        for i in range(n):
            out.write(
                f'S-{i},Streamed product {i},{i % 500}.99,{i % 40},"A longer text, with a comma '
                f'and a quote "" for row {i}",Catalog\n'
            )
    return path


def _peak_bytes(path: Path) -> tuple[int, int]:
    kind = entities.get("products")
    mapping = kind.default_mapping(readers.header(path, "csv", "utf-8"))
    resolver = Resolver(CallContext(store=Store.objects.get(pk=0), user=None), create=False)
    tracemalloc.start()
    count = 0
    try:
        for _number, row, _position in readers.rows(path, "csv", "utf-8"):
            kind.build(entities.apply_mapping(row, mapping), "append", resolver)
            count += 1
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _vm(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


@pytest.mark.django_db
def test_reading_and_building_a_100000_row_file_needs_flat_memory(tmp_path):
    small_count, small = _peak_bytes(_write(tmp_path / "small.csv", ROWS // 10))
    count, peak = _peak_bytes(_write(tmp_path / "big.csv", ROWS))
    assert (small_count, count) == (ROWS // 10, ROWS)
    # Ten times the rows, about the same peak (the file is ~10 MB; its rows held would be >100 MB).
    assert peak < 2 * small + 256 * 1024, (small, peak)
    assert peak < 2 * 1024 * 1024


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_a_dry_run_of_100000_rows_keeps_the_resident_size_bounded(db, tmp_path):
    owner = get_user_model().objects.create_superuser("streamer", "s@example.com", "Str-pass-1")
    path = _write(tmp_path / "big.csv", ROWS)
    job = actions.create_import(owner=owner, source=path, entity="products", copy=False)
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident size
    before = _vm("VmRSS")
    started = time.monotonic()
    job = actions.run_to_end(job, dry_run=True, seconds=60)
    elapsed = time.monotonic() - started
    grown = _vm("VmHWM") - before
    assert job.state == ImportState.VALIDATED and job.dry_run_rows == ROWS
    assert job.dry_run_errors == 0
    assert grown < 40 * 1024 * 1024, f"the peak resident size grew by {grown / 1e6:.0f} MB"
    assert elapsed < 45, f"{elapsed:.0f} s"
