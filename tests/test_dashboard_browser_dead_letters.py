"""The dead-letters page in a real Chromium against a real server (tests/fixtures/browser.py),
embedded (SQLite, db transport) or production (PostgreSQL, RabbitMQ, a consumer process):
a poison message lands in the dead letters while the page is open, is sent back from the
page once its cause is fixed (its row leaves without a reload), and is processed once."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid

import pytest

from queues.declarations import Binding, Consumer, Exchange, Publisher, Queue
from tests.fixtures.browser import ROOT, page_for, screenshot
from tests.fixtures.queues import TOPOLOGY_ENV, TOPOLOGY_MODULE, serialise

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

HANDLER = "tests.fixtures.dead_letters.fails_while_flagged"
PERMS = ("operations.view_bulk", "queues.view_queues", "queues.operate_queues")


@pytest.fixture(scope="module")
def poison_site(request, tmp_path_factory):
    """The live site with a queue of its own whose consumer fails while a flag file exists."""
    tmp = tmp_path_factory.mktemp("dead-letters")
    token = uuid.uuid4().hex[:8]
    names = {
        "exchange": f"dl.{token}.ex",
        "queue": f"dl.{token}.orders",
        "consumer": f"dl.{token}.consumer",
        "sink": f"dl.{token}.sink",
        "flag": str(tmp / "poisoned"),
    }
    declarations = [
        Exchange(names["exchange"]),
        Queue(names["queue"]),
        Binding(
            id=f"dl.{token}.b", exchange=names["exchange"], topic="poison.#", queue=names["queue"]
        ),
        Publisher(topic="poison.#", connection="default", exchange=names["exchange"]),
        Consumer(names["consumer"], queue=names["queue"], handler=HANDLER),
    ]
    extra = {
        "QUEUE_DECLARATION_MODULES": TOPOLOGY_MODULE,
        TOPOLOGY_ENV: serialise(declarations),
        "QUEUE_MAX_TRIALS": "2",
        "QUEUE_DB_POLL_INTERVAL": "0.1",
    }
    saved = {key: os.environ.get(key) for key in extra}
    os.environ.update(extra)  # read by live_site when it starts the server
    try:
        site = request.getfixturevalue("live_site")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    consumer = None
    if site.shape == "production":
        log = (tmp / "consumer.log").open("w")
        consumer = subprocess.Popen(
            [sys.executable, "manage.py", "queue_consumers_start", names["consumer"]],
            cwd=ROOT,
            env=site.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    yield site, names
    if consumer is not None:
        consumer.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            consumer.wait(timeout=20)
        if consumer.poll() is None:
            consumer.kill()


def _publish(site, names, order: int, note: str = "") -> str:
    code = (
        "from queues import publish\n"
        f"print(publish('poison.order.placed', {{'order': {order}, 'note': {note!r}, "
        f"'flag': {names['flag']!r}}}, {{'sink': {names['sink']!r}, 'store_id': 1}}))\n"
    )
    return site.manage("shell", "-c", code).stdout.strip().splitlines()[-1]


def _processed(site, names) -> list[str]:
    code = (
        "from queues.models import QueueMessage\n"
        f"print(','.join(QueueMessage.objects.filter(queue={names['sink']!r})"
        ".values_list('message_id', flat=True)))\n"
    )
    out = site.manage("shell", "-c", code).stdout.strip().splitlines()
    return [m for m in (out[-1] if out else "").split(",") if m]


def test_a_poison_message_lands_in_dead_letters_and_is_sent_back_from_the_page(
    browser, poison_site
):
    site, names = poison_site
    open(names["flag"], "w").close()
    username, password, _token = site.user("dead-letter-operator", PERMS)
    page = page_for(browser, site, username, password)
    page.goto(f"/dashboard/dead-letters/?queue={names['queue']}")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    section = page.locator(".dlq-section", has_text=names["queue"])
    expect(section).to_contain_text("no dead letters")
    page.evaluate("window.__notReloaded = true")

    first = _publish(site, names, 1, "<img src=x onerror=alert(1)> is text")
    second = _publish(site, names, 2)

    rows = page.locator("tr.dead-letter")
    expect(rows).to_have_count(2, timeout=45_000)  # live: the count changed, the list follows
    expect(section).to_contain_text("2 dead letters")
    expect(rows.first).to_contain_text("cannot be digested yet")
    expect(rows.first).to_contain_text("<img src=x onerror=alert(1)> is text")
    assert page.evaluate("window.__notReloaded === true")
    screenshot(page, "dead-letters-light")
    dark = page_for(browser, site, username, password, dark=True)
    dark.goto(f"/dashboard/dead-letters/?queue={names['queue']}")
    expect(dark.locator("tr.dead-letter")).to_have_count(2)
    screenshot(dark, "dead-letters-dark")
    dark.context.close()

    os.remove(names["flag"])  # the cause is fixed
    questions: list[str] = []

    def answer(dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    row = page.locator("tr.dead-letter", has_text=first)
    row.get_by_role("button", name="Send back").click()

    expect(page.locator("#toasts")).to_contain_text(f"1 dead letter sent back to {names['queue']}")
    expect(page.locator("tr.dead-letter", has_text=first)).to_have_count(0)
    expect(rows).to_have_count(1)
    expect(page.locator("#dead-letter-actions")).to_contain_text(username)
    assert questions == [f"Send this dead letter back to {names['queue']}?"]
    assert page.evaluate("window.__notReloaded === true")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _processed(site, names) != [first]:
        time.sleep(0.3)
    assert _processed(site, names) == [first], site.log_tail()

    discard_selected = section.get_by_role("button", name="Discard selected")
    expect(discard_selected).to_be_disabled()
    page.locator("tr.dead-letter", has_text=second).get_by_role("checkbox").check()
    expect(section).to_contain_text("1 selected")
    discard_selected.click()
    expect(rows).to_have_count(0)
    expect(section).to_contain_text("no dead letters")
    assert questions[-1] == f"Discard 1 selected dead letter(s) of {names['queue']} for good?"
    assert _processed(site, names) == [first], "a discarded message never runs"
    page.context.close()
