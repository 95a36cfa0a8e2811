"""Imports against a real server (tests/fixtures/browser.py): the dashboard flow in a real
Chromium (upload, mapping, dry run, start, live progress to the end, failed rows), and
`import_file --url --token` (client mode) posting chunks to the server's bulk API, run
twice without doubling anything."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.browser import ROOT, _start, page_for, screenshot

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
PERMS = (
    "imports.run_imports",
    "operations.view_bulk",
    "catalog.change_product",
    "catalog.view_product",
    "catalog.change_category",
)


@pytest.fixture(scope="module")
def site(live_site, tmp_path_factory):
    if live_site.shape == "production":  # serve --no-consumers: the import jobs need theirs
        tmp = tmp_path_factory.mktemp("imports-consumer")
        _start(live_site, ["queue_consumers_start", "imports.jobs"], "imports-consumer", tmp)
    return live_site


@pytest.fixture(scope="module")
def staff(site):
    return site.user("importer", PERMS)


def _products(n: int, prefix: str, bad: int | None = None) -> str:
    lines = ["sku,name,price,qty,categories,colour"]
    for i in range(1, n + 1):
        price = "lots" if i == bad else f"{i}.25"
        lines.append(f"{prefix}-{i},Browser product {i},{price},{i},Default Category/Imported,red")
    return "\n".join(lines) + "\n"


def test_the_dashboard_flow_in_a_browser(browser, site, staff, tmp_path):
    username, password, token = staff
    path = tmp_path / "catalog.csv"
    path.write_text(_products(300, "BR", bad=7))
    page = page_for(browser, site, username, password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Imports").click()
    page.wait_for_url("**/dashboard/imports/")
    page.get_by_label("File (CSV, JSON lines or a JSON array)").set_input_files(str(path))
    page.get_by_label("Import", exact=True).select_option("products")
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", name="Preview and mapping")).to_be_visible()
    expect(page.locator("table.preview")).to_contain_text("BR-1")
    # The unknown column is a custom attribute by default; leave it out.
    page.get_by_label("Field for colour").select_option("")
    page.get_by_role("button", name="Save mapping").click()
    expect(page.get_by_label("Field for colour")).to_have_value("")

    page.get_by_role("button", name="Dry run").click()
    progress = page.locator(".import-progress")
    expect(progress.locator('[data-count="dry-errors"]')).to_have_text("1", timeout=30_000)
    expect(progress).to_contain_text("lots")
    expect(page.get_by_role("button", name="Start import")).to_be_visible()  # page refreshed
    status, found = site.api("GET", "/rest/V1/products/BR-1", token=token)
    assert status == 404  # a dry run creates nothing

    page.get_by_role("button", name="Start import").click()
    # Live: the page polls its progress until every operation has run.
    expect(progress.locator('[data-count="completed"]')).to_have_text("299", timeout=60_000)
    expect(progress.locator('[data-count="rejected"]')).to_have_text("1")
    expect(progress.locator("#import-state")).to_have_text("all rows sent")
    screenshot(page, "imports")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the failed rows (CSV)").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("BR-7,Browser product 7,lots,7,")
    # The bulks it created are linked, and open on the bulk page.
    page.locator(".import-bulks a").first.click()
    page.wait_for_url("**/dashboard/bulks/*/")
    status, product = site.api("GET", "/rest/V1/products/BR-300", token=token)
    assert status == 200 and product["price"] == 300.25


def _import_file(site, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "import_file", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _wait_for(site, token, sku: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, product = site.api("GET", f"/rest/V1/products/{sku}", token=token)
        if status == 200:
            return product
        time.sleep(0.3)
    raise AssertionError(f"{sku} never appeared:\n{site.log_tail()}")


def test_client_mode_posts_chunks_with_the_token_and_a_rerun_doubles_nothing(site, staff, tmp_path):
    _username, _password, token = staff
    path = tmp_path / "remote.csv"
    path.write_text(
        "sku,name,price,attribute_set_id,category_ids\n"
        + "".join(f"CL-{i},Client {i},{i},4,2\n" for i in range(1, 26))
        + "CL-BAD,Bad,-1,4,2\n"
    )
    first = _import_file(
        site,
        str(path),
        "--entity",
        "products",
        "--chunk-size",
        "10",
        "--url",
        site.url,
        "--token",
        token,
    )
    assert first.returncode == 0, first.stderr
    assert (
        "26 rows read, 25 accepted, 1 rejected, 3 bulks (0 already accepted before)" in first.stdout
    )
    assert "row 26" in first.stdout
    _wait_for(site, token, "CL-25")
    again = _import_file(
        site,
        str(path),
        "--entity",
        "products",
        "--chunk-size",
        "10",
        "--url",
        site.url,
        "--token",
        token,
    )
    assert again.returncode == 0, again.stderr
    assert "(3 already accepted before)" in again.stdout
    bulks = [line.split()[-1] for line in first.stdout.splitlines() if line.startswith("  bulk ")]
    assert bulks == [
        line.split()[-1] for line in again.stdout.splitlines() if line.startswith("  bulk ")
    ]
    status, found = site.api(
        "GET",
        "/rest/V1/products?searchCriteria[filter_groups][0][filters][0][field]=sku"
        "&searchCriteria[filter_groups][0][filters][0][value]=CL-%25"
        "&searchCriteria[filter_groups][0][filters][0][condition_type]=like",
        token=token,
    )
    assert status == 200 and found["total_count"] == 25

    wrong = _import_file(
        site, str(path), "--entity", "products", "--url", site.url, "--token", "not-a-token"
    )
    assert wrong.returncode != 0 and "401" in wrong.stderr


def _sql(site, query: str) -> tuple:
    """One row of `query` on the live site's own database (SQLite file or PostgreSQL)."""
    url = site.env["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url[len("sqlite:///") :], timeout=10) as conn:
            return conn.execute(query).fetchone() or ()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query).fetchone() or ()


def _state(site) -> tuple:
    """(import id, state, rows accepted, chunks done, its bulks, their operations)."""
    job = _sql(
        site,
        "SELECT id, state, rows_accepted, position_chunk FROM imports_import "
        "WHERE file_name = 'killed.csv' ORDER BY id LIMIT 1",
    )
    counts = _sql(
        site,
        "SELECT count(DISTINCT b.id), count(o.id) FROM operations_bulk b JOIN "
        "operations_operation o ON o.bulk_id = b.id WHERE b.description LIKE 'Import killed.csv%'",
    )
    return (*job, *counts) if job else (0, "", 0, 0, 0, 0)


def test_an_import_process_killed_mid_way_then_resumed_and_rerun_doubles_nothing(
    site, staff, tmp_path
):
    rows, chunk = 10_000, 200
    path = tmp_path / "killed.csv"
    path.write_text(
        "sku,name,price,attribute_set_id\n"
        + "".join(f"KILL-{i},Killed {i},{i % 90}.5,4\n" for i in range(1, rows + 1))
    )
    env = {**site.env, "IMPORTS_SLICE_SECONDS": "0.1"}
    command = [sys.executable, "manage.py", "import_file", str(path), "--entity", "products"]
    proc = subprocess.Popen(
        [*command, "--chunk-size", str(chunk), "--user", "importer"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(Exception):  # the tables may be locked a moment
                if _state(site)[2] > 0:
                    break
            time.sleep(0.02)
        proc.kill()  # SIGKILL: no clean-up, in the middle of a slice
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    job_id, state, accepted, chunks, bulks, operations = _state(site)
    assert state == "running" and 0 < accepted < rows, (state, accepted)
    assert (bulks, operations) == (chunks, chunks * chunk)  # only whole committed slices

    resumed = subprocess.run(
        [*command, "--resume", str(job_id)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"{rows} rows read, {rows} accepted, 0 rejected" in resumed.stdout
    again = subprocess.run(
        [*command, "--chunk-size", str(chunk), "--user", "importer"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    assert f"{rows} accepted" in again.stdout
    *_rest, bulks, operations = _state(site)
    assert (bulks, operations) == (rows // chunk, rows)  # the second run replayed every chunk
