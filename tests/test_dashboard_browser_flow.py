"""The operators' pages in a real Chromium against a real server (tests/fixtures/browser.py):
the overview's counts move while a bulk runs; a consumer restarted from the consumers
page comes back; screenshots of the overview, queues and consumers pages, light and dark.
"""

from __future__ import annotations

import os
import re
import time

import pytest

from tests.fixtures.browser import _start, page_for, screenshot
from tests.fixtures.dashboard import OPERATOR, customer

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
BULK = "/rest/all/async/bulk/V1/customers"
CONSUMER = "async.operations.all"
OPERATORS = (
    *OPERATOR,
    "operations.view_all_bulks",
    "catalog.view_customer",
    "queues.view_queues",
    "queues.operate_queues",
)


@pytest.fixture(scope="module", autouse=True)
def _quick_heartbeats():
    """The site's consumers heartbeat (and notice a restart) every second, not every 5 s.
    Module scope, requested before `live_site`, which copies the environment."""
    before = os.environ.get("QUEUE_HEARTBEAT_INTERVAL")
    os.environ["QUEUE_HEARTBEAT_INTERVAL"] = "1"
    yield
    if before is None:
        os.environ.pop("QUEUE_HEARTBEAT_INTERVAL", None)
    else:
        os.environ["QUEUE_HEARTBEAT_INTERVAL"] = before


@pytest.fixture(scope="module")
def operator(_quick_heartbeats, live_site):
    return live_site.user("operator", OPERATORS)


def _open(browser, site, operator, path: str, *, dark: bool = False):
    username, password, _token = operator
    page = page_for(browser, site, username, password, dark=dark)
    page.goto(path)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    return page


def _number(page, stat: str) -> int:
    return int(page.locator(f'[data-stat="{stat}"]').inner_text().replace(",", "") or 0)


def test_the_overview_counts_and_chart_move_while_a_bulk_runs(browser, live_site, operator):
    _u, _p, token = operator
    page = _open(browser, live_site, operator, "/dashboard/")
    page.evaluate("window.__notReloaded = true")
    expect(page.locator("#flow-health")).to_be_visible()
    before = _number(page, "hour-completed")

    items = [customer(100 + i) for i in range(40)]
    status, answer = live_site.api("POST", BULK, items, token)
    assert status == 202, answer

    # The numbers grow as batches commit, without a reload, up to the whole bulk.
    expect(page.locator('[data-stat="hour-completed"]')).not_to_have_text(
        str(before), timeout=30_000
    )
    expect(page.locator('[data-stat="hour-completed"]')).to_have_text(
        f"{before + 40:,}", timeout=30_000
    )
    expect(page.locator("#chart-desc")).to_contain_text(f"{before + 40:,} completed")
    expect(page.locator(f'tr[data-bulk-uuid="{answer["bulk_uuid"]}"]')).to_be_visible()
    assert page.evaluate("window.__notReloaded === true")
    expect(page.locator("#flow-health")).to_contain_text("All queues flowing")
    screenshot(page, "overview-light")
    page.context.close()

    dark = _open(browser, live_site, operator, "/dashboard/", dark=True)
    screenshot(dark, "overview-dark")
    dark.goto("/dashboard/queues/")
    expect(dark.locator(f'tr[data-queue="{CONSUMER}"]')).to_be_visible()
    screenshot(dark, "queues-dark")
    dark.goto("/dashboard/consumers/")
    expect(dark.locator(f'tr[data-consumer="{CONSUMER}"]').first).to_be_visible()
    screenshot(dark, "consumers-dark")
    dark.context.close()

    light = _open(browser, live_site, operator, "/dashboard/queues/")
    row = light.locator(f'tr[data-queue="{CONSUMER}"]')
    expect(row).to_contain_text("async.#")
    expect(row.locator("svg.sparkline title")).to_contain_text("messages handled")
    screenshot(light, "queues-light")
    light.context.close()


def test_a_consumer_restarted_from_the_page_comes_back(browser, live_site, operator, tmp_path):
    page = _open(browser, live_site, operator, "/dashboard/consumers/")
    alive = page.locator(f'tr[data-consumer="{CONSUMER}"][data-state="alive"]')
    expect(alive).to_have_count(1, timeout=20_000)
    old_id = alive.get_attribute("id")

    dialogs: list[str] = []

    def accept(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    button = alive.get_by_role("button", name=re.compile(f"Restart {re.escape(CONSUMER)}"))
    button.focus()
    page.keyboard.press("Enter")  # keyboard reachable
    expect(page.locator("#toasts")).to_contain_text("Asked the consumer process to restart")
    assert dialogs and "finishes its current message" in dialogs[0]

    # It notices the request at its next heartbeat, finishes and exits: shown with its reason.
    stopped = page.locator(f'tr[data-stopped="{CONSUMER}"]').first
    expect(stopped.locator("[data-exit-reason]")).to_have_text("restart", timeout=20_000)

    if live_site.shape == "production":
        # A separate `queue_consumers_start` process exits on a restart and its
        # supervisor (systemd, Kubernetes, the runner) starts it again: do as it does.
        consumer = live_site.processes[1]
        deadline = time.monotonic() + 20
        while consumer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert consumer.returncode == 0, live_site.log_tail()
        _start(live_site, ["queue_consumers_start", CONSUMER], "consumer-again", tmp_path)
    # The embedded server starts a fresh runtime in its thread by itself.
    back = page.locator(f'tr[data-consumer="{CONSUMER}"][data-state="alive"]')
    expect(back).to_have_count(1, timeout=30_000)
    assert back.get_attribute("id") != old_id
    expect(page.locator("#flow-operator-actions")).to_contain_text("operator")
    screenshot(page, "consumers-light")  # alive again, the stopped one and who restarted it
    page.context.close()
