"""The dashboard in a real Chromium, against a real server (see tests/fixtures/browser.py).

Each test drives what a merchant admin or staff member does, and saves screenshots of
the pages (light and dark) to docs/screenshots/ for the README.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.fixtures.browser import page_for, screenshot
from tests.fixtures.dashboard import OPERATOR, customer

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
BULK = "/rest/all/async/bulk/V1/customers"


@pytest.fixture(scope="module")
def staff(live_site):
    return live_site.user(
        "merchant", (*OPERATOR, "operations.view_all_bulks", "catalog.view_customer")
    )


def _bulk(site, token, items) -> str:
    status, answer = site.api("POST", BULK, items, token)
    assert status == 202, answer
    return answer["bulk_uuid"]


def _wait_finished(site, token, uuid, timeout=30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _status, answer = site.api("GET", f"/rest/V1/bulk/{uuid}/status", token=token)
        if answer["status"] in (2, 3):
            return answer
        time.sleep(0.2)
    raise AssertionError(f"bulk {uuid} did not finish:\n{site.log_tail()}")


def _mark(page) -> None:
    """Mark the document: the mark survives only if the page never reloads."""
    page.evaluate("window.__notReloaded = true")


def _not_reloaded(page) -> bool:
    return page.evaluate("window.__notReloaded === true")


def test_sign_in_find_a_bulk_read_a_failure_fix_it_and_retry_live(browser, live_site, staff):
    username, password, token = staff
    uuid = _bulk(live_site, token, [customer(1), customer(2), customer(1)])
    _wait_finished(live_site, token, uuid)

    page = page_for(browser, live_site, username, password)
    page.get_by_label("Bulk uuid").fill(uuid[:8])
    row = page.locator(f'tr[data-bulk-uuid="{uuid}"]')
    expect(row).to_be_visible()
    expect(page.locator("tr.bulk-row")).to_have_count(1)
    row.get_by_role("link").click()
    page.wait_for_url(f"**/dashboard/bulks/{uuid}/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    _mark(page)

    failed = page.locator('tr[data-status="3"]')
    expect(failed).to_have_count(1)
    failed.get_by_role("button", name="Details").click()
    expect(page.locator(".op-detail:not([hidden])")).to_contain_text(
        "A customer with the same email address already exists"
    )

    # Fix the cause through the API: delete the customer the duplicate collided with.
    _status, found = live_site.api(
        "GET",
        "/rest/V1/customers/search?searchCriteria[filter_groups][0][filters][0][field]=email"
        "&searchCriteria[filter_groups][0][filters][0][value]=customer1@example.com",
        token=token,
    )
    status, _ = live_site.api(
        "DELETE", f"/rest/V1/customers/{found['items'][0]['id']}", token=token
    )
    assert status == 200

    operation_id = failed.get_attribute("data-operation-id")
    failed.get_by_role("button", name="Retry", exact=True).click()
    expect(page.locator(f'tr[data-operation-id="{operation_id}"]')).to_have_attribute(
        "data-status", "1", timeout=20_000
    )
    expect(page.locator("#bulk-summary")).to_have_attribute("data-summary-status", "2")
    assert _not_reloaded(page)
    page.context.close()


def test_a_bulk_sent_through_the_api_appears_in_the_open_log(browser, live_site, staff):
    username, password, token = staff
    page = page_for(browser, live_site, username, password)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    _mark(page)
    uuid = _bulk(live_site, token, [customer(20), customer(21)])
    row = page.locator(f'tr[data-bulk-uuid="{uuid}"]')
    expect(row).to_be_visible(timeout=10_000)
    expect(row).to_have_attribute("data-summary-status", re.compile("[23]"), timeout=20_000)
    assert _not_reloaded(page)
    page.context.close()


def test_retry_a_whole_error_group(browser, live_site, staff):
    username, password, token = staff
    uuid = _bulk(live_site, token, [customer(30), customer(30), customer(30)])
    _wait_finished(live_site, token, uuid)
    page = page_for(browser, live_site, username, password)
    page.goto(f"/dashboard/bulks/{uuid}/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    group = page.locator("#error-groups tr.group")
    expect(group).to_have_count(1)
    expect(group).to_contain_text("2")
    page.on("dialog", lambda dialog: dialog.accept())
    group.get_by_role("button", name="Retry").click()
    expect(page.locator("#toasts")).to_contain_text("2 operations of the group queued again")
    # They fail again (the duplicate is still there), each with one more attempt.
    expect(page.locator('tr[data-status="3"] td.col-attempts', has_text="2")).to_have_count(
        2, timeout=20_000
    )
    page.context.close()


def test_edit_and_retry_with_an_invalid_then_a_valid_payload(browser, live_site, staff):
    username, password, token = staff
    rejected_item = {"customer": {"email": "not an email", "firstname": "No", "lastname": "Mail"}}
    uuid = _bulk(live_site, token, [customer(40), rejected_item])
    _wait_finished(live_site, token, uuid)
    page = page_for(browser, live_site, username, password)
    page.goto(f"/dashboard/bulks/{uuid}/")
    rejected = page.locator('tr[data-status="5"]')
    operation_id = rejected.get_attribute("data-operation-id")
    rejected.get_by_role("button", name="Edit and retry").click()
    editor = page.get_by_label("Payload (JSON)")
    expect(editor).to_be_visible()
    editor.fill('{"customer": {"email": "not an email", "firstname": "A", "lastname": "B"}}')
    page.get_by_role("button", name="Validate and retry").click()
    expect(page.locator(".field-error").first).to_be_visible()
    expect(page.get_by_label("Payload (JSON)")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Payload (JSON)").fill(
        '{"customer": {"email": "customer41@example.com", "firstname": "A", "lastname": "B"}}'
    )
    page.get_by_role("button", name="Validate and retry").click()
    expect(page.locator(f'tr[data-operation-id="{operation_id}"]')).to_have_attribute(
        "data-status", "1", timeout=20_000
    )
    page.context.close()


def test_markup_in_a_payload_is_shown_as_text_never_run(browser, live_site, staff):
    username, password, token = staff
    evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    uuid = _bulk(live_site, token, [customer(50, firstname=evil)])
    _wait_finished(live_site, token, uuid)
    page = page_for(browser, live_site, username, password)
    page.goto(f"/dashboard/bulks/{uuid}/")
    page.locator("tr.op-summary").first.get_by_role("button", name="Details").click()
    expect(page.locator(".op-detail:not([hidden]) pre").first).to_contain_text("<script>")
    assert page.evaluate("window.__pwned === undefined")
    page.context.close()


def test_another_user_never_sees_the_first_users_bulk(browser, live_site, staff):
    _username, _password, token = staff
    other = live_site.user("other", OPERATOR)
    page = page_for(browser, live_site, other[0], other[1])
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    uuid = _bulk(live_site, token, [customer(60)])
    _wait_finished(live_site, token, uuid)
    time.sleep(1.5)  # longer than the server takes to push a new bulk to a log
    assert page.locator(f'[data-bulk-uuid="{uuid}"]').count() == 0
    page.goto(f"/dashboard/bulks/{uuid}/")
    assert "Not found" in page.content()
    page.context.close()


def test_screenshots_of_the_pages_in_light_and_dark_and_on_a_phone(browser, live_site, staff):
    """Not a check of its own: the README's pictures, of pages with real data."""
    username, password, token = staff
    _status, answer = live_site.api(
        "POST",
        "/rest/all/async/bulk/V1/cmsBlock",
        [
            {"block": {"identifier": f"home-{n}", "title": f"Home {n}", "content": "<p>Hi</p>"}}
            for n in range(3)
        ],
        token,
    )
    _wait_finished(live_site, token, answer["bulk_uuid"])
    failed = _bulk(
        live_site,
        token,
        [customer(80 + n) for n in range(6)]
        + [
            customer(80),
            customer(81),
            {"customer": {"email": "not an email", "firstname": "No", "lastname": "Mail"}},
        ],
    )
    _wait_finished(live_site, token, failed)
    running = _bulk(live_site, token, [customer(1000 + n) for n in range(3000)])
    for dark in (False, True):
        mode = "dark" if dark else "light"
        page = page_for(browser, live_site, username, password, dark=dark)
        expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
        expect(page.locator(f'tr[data-bulk-uuid="{running}"]')).to_have_attribute(
            "data-summary-status", "1", timeout=20_000
        )
        screenshot(page, f"bulk-log-{mode}")
        page.goto(f"/dashboard/bulks/{failed}/")
        page.locator('tr[data-status="3"]').first.get_by_role("button", name="Details").click()
        expect(page.locator(".op-detail:not([hidden]) .events")).to_be_visible()
        screenshot(page, f"bulk-page-{mode}")
        if dark:
            page.locator("#notifications-toggle > summary").click()
            expect(page.locator(".menu-panel")).to_be_visible()
            screenshot(page, "notifications-dark")
        else:
            page.locator('tr[data-status="5"]').get_by_role("button", name="Edit and retry").click()
            page.get_by_label("Payload (JSON)").fill('{"customer": {"email": "still not one"}}')
            page.get_by_role("button", name="Validate and retry").click()
            expect(page.get_by_label("Payload (JSON)")).to_have_attribute("aria-invalid", "true")
            page.get_by_label("Payload (JSON)").scroll_into_view_if_needed()
            screenshot(page, "edit-and-retry-light")
        page.context.close()
    phone = page_for(browser, live_site, username, password, width=390, height=844)
    phone.goto(f"/dashboard/bulks/{running}/")
    screenshot(phone, "bulk-page-phone")
    phone.context.close()
