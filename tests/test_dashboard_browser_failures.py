"""Failures across bulks in a real Chromium against a real server (tests/fixtures/browser.py):
failures of two bulks grouped, a group retried from the page, its progress reaching the
end live; screenshots for the README."""

from __future__ import annotations

import time

import pytest

from tests.fixtures.browser import page_for, screenshot
from tests.fixtures.dashboard import OPERATOR, customer

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
CUSTOMERS = "/rest/all/async/bulk/V1/customers"
BLOCKS = "/rest/all/async/bulk/V1/cmsBlock"


@pytest.fixture(scope="module")
def staff(live_site):
    return live_site.user(
        "failures-staff",
        (*OPERATOR, "operations.view_all_bulks", "catalog.view_customer", "catalog.view_block"),
    )


def _bulk(site, token, path, items) -> str:
    status, answer = site.api("POST", path, items, token)
    assert status == 202, answer
    uuid = answer["bulk_uuid"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _status, found = site.api("GET", f"/rest/V1/bulk/{uuid}/status", token=token)
        if found["status"] in (2, 3):
            return uuid
        time.sleep(0.2)
    raise AssertionError(f"bulk {uuid} did not finish:\n{site.log_tail()}")


def _delete_customer(site, token, n: int) -> None:
    _status, found = site.api(
        "GET",
        "/rest/V1/customers/search?searchCriteria[filter_groups][0][filters][0][field]=email"
        f"&searchCriteria[filter_groups][0][filters][0][value]=customer{n}@example.com",
        token=token,
    )
    status, _ = site.api("DELETE", f"/rest/V1/customers/{found['items'][0]['id']}", token=token)
    assert status == 200


def test_failures_of_two_bulks_grouped_retried_from_the_page_progress_live(
    browser, live_site, staff
):
    username, password, token = staff
    first = _bulk(
        live_site, token, CUSTOMERS, [customer(500), customer(501), customer(500), customer(501)]
    )
    second = _bulk(live_site, token, CUSTOMERS, [customer(502), customer(502)])
    blocks = [{"block": {"identifier": "promo", "title": "Promo", "content": "<p>Hi</p>"}}] * 2
    _bulk(live_site, token, BLOCKS, blocks)  # another topic: a group of its own

    page = page_for(browser, live_site, username, password)
    page.goto("/dashboard/failures/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    page.evaluate("window.__notReloaded = true")
    group = page.locator('tr.failure-group[data-count="3"]')
    expect(group).to_have_count(1)
    expect(group.locator("td.num").nth(1)).to_have_text("2")  # in two bulks
    samples = group.locator("a.sample")  # its first and its latest operation
    expect(samples).to_have_count(2)
    hrefs = [samples.nth(i).get_attribute("href") for i in range(2)]
    assert second in hrefs[0] and first in hrefs[1], hrefs
    expect(page.locator("tr.failure-group")).to_have_count(2)

    for n in (500, 501, 502):  # fix the cause: the customers the copies collided with
        _delete_customer(live_site, token, n)
    dialogs: list[str] = []

    def accept(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    group.get_by_role("button", name="Retry group (3)").click()
    expect(page.locator("#toasts")).to_contain_text("3 failed operations in 2 bulks queued again")
    assert dialogs == ["Retry the 3 failed operations of this group, in 2 bulks?"]
    retry = page.locator("li.group-retry").first
    expect(retry).to_have_attribute("data-state", "settled", timeout=30_000)
    expect(retry).to_have_attribute("data-complete", "3")
    expect(retry).to_contain_text("retried by failures-staff")
    expect(retry).to_contain_text("3 complete")
    assert page.evaluate("window.__notReloaded === true")
    page.context.close()


def test_screenshots_of_the_failures_page(browser, live_site, staff):
    """Not a check of its own: the README's pictures, of the page with real data."""
    username, password, token = staff
    _bulk(live_site, token, CUSTOMERS, [customer(600 + n) for n in range(4)] * 2)
    for dark in (False, True):
        page = page_for(browser, live_site, username, password, dark=dark)
        page.goto("/dashboard/failures/")
        expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
        expect(page.locator("tr.failure-group").first).to_be_visible()
        screenshot(page, f"failures-{'dark' if dark else 'light'}")
        page.context.close()


def test_a_bulk_page_says_why_its_bulk_is_not_moving_once_the_consumer_stopped(
    browser, live_site, staff
):
    """Last in the module: it stops the site's consumer process."""
    if live_site.shape != "production":
        pytest.skip("in the embedded shape the consumers run inside the server: none to stop")
    username, password, token = staff
    consumer = live_site.processes[1]
    consumer.terminate()  # a graceful stop: its row says when it stopped
    consumer.wait(timeout=30)
    status, answer = live_site.api("POST", CUSTOMERS, [customer(700), customer(701)], token)
    assert status == 202, answer
    time.sleep(31)  # a bulk is "not moving" after 30 s without a change
    page = page_for(browser, live_site, username, password)
    page.goto(f"/dashboard/bulks/{answer['bulk_uuid']}/")
    section = page.locator("#bulk-waiting")
    expect(section).to_have_attribute("data-stalled", "true")
    expect(section).to_contain_text("This bulk is not moving")
    expect(section).to_contain_text("2 operations are still open.")
    expect(section).to_contain_text("The queue async.operations.all holds 2 messages waiting")
    expect(section).to_contain_text("no consumer of it has been alive for")
    expect(section).to_contain_text("manage.py queue_consumers_start async.operations.all")
    screenshot(page, "bulk-not-moving-light")
    page.context.close()
