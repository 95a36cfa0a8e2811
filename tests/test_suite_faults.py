"""The fault suite: the production shape under faults, losing nothing and applying nothing twice.

Every test drives real processes (`manage.py serve --no-consumers` and
`queue_consumers_start async.operations.all`, started as the README says) against a
PostgreSQL, a Redis and a RabbitMQ vhost of the suite's own (tests/fixtures/faults.py),
and hurts them from outside: SIGKILL, the broker stopped, Redis stopped under an open
page, PostgreSQL restarted as after a crash, a row lock held across a service call.

The work is customer creation: Magento refuses a second customer with the same email,
so an operation applied twice cannot hide — it would fail with "A customer with the
same email address already exists". Each test then checks every operation final and
complete, each customer there exactly once, one `completed` event per operation.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any

import pytest

from tests.fixtures.faults import FaultSite
from tests.fixtures.queues import wait_for
from tests.test_queues_amqp_faults import rabbitmqctl

# One worker runs the whole module (its site is module-scoped): `make test` uses
# `--dist loadgroup`.
pytestmark = [pytest.mark.services, pytest.mark.xdist_group("faults")]

CUSTOMERS = "/V1/customers"


@pytest.fixture(scope="module")
def site(postgresql_tests: None, fault_site: FaultSite) -> FaultSite:
    return fault_site


@pytest.fixture(scope="module")
def postgresql_tests() -> None:
    """The suite runs once, in the PostgreSQL pass of CI (its own services either way)."""
    from django.db import connection

    from tests.fixtures.services import missing_service

    if connection.vendor != "postgresql":
        missing_service(
            "the fault suite runs with the PostgreSQL pass (set DATABASE_URL=postgres://…)"
        )


def customers(prefix: str, count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "customer": {
                "email": f"{prefix}{n}@example.com",
                "firstname": f"First{n}",
                "lastname": f"Last{n}",
            }
        }
        for n in range(start, start + count)
    ]


def accept(site: FaultSite, items: list[dict[str, Any]]) -> str:
    status, body = site.post_bulk(CUSTOMERS, items)
    assert status == 202, body
    assert not body["errors"]
    return body["bulk_uuid"]


def statuses(site: FaultSite, bulks: list[str]) -> Counter:
    rows = site.sql(
        "SELECT o.status, count(*) FROM operations_operation o JOIN operations_bulk b "
        "ON b.id = o.bulk_id WHERE b.uuid::text = ANY(%s) GROUP BY o.status",
        bulks,
    )
    return Counter({status: count for status, count in rows})


def wait_final(site: FaultSite, bulks: list[str], expected: int, timeout: float) -> Counter:
    """Wait until no operation of `bulks` is open; return the count per status."""

    def final() -> Counter | None:
        counts = statuses(site, bulks)
        return counts if sum(counts.values()) == expected and not counts.get(4) else None

    try:
        return wait_for(final, timeout=timeout, interval=0.5)
    except pytest.fail.Exception:
        pytest.fail(f"still open after {timeout}s: {statuses(site, bulks)}\n{site.log_tail()}")


def assert_each_once(site: FaultSite, prefix: str, expected: int, bulks: list[str]) -> None:
    """Every operation complete, each customer there exactly once, completed once."""
    assert statuses(site, bulks) == Counter({1: expected}), site.log_tail()
    rows = site.sql(
        "SELECT lower(email), count(*) FROM catalog_customer WHERE email LIKE %s GROUP BY 1",
        f"{prefix}%",
    )
    assert len(rows) == expected
    assert {count for _, count in rows} == {1}
    completions = site.sql(
        "SELECT e.operation_id, count(*) FROM operations_operationevent e "
        "JOIN operations_operation o ON o.id = e.operation_id JOIN operations_bulk b "
        "ON b.id = o.bulk_id WHERE b.uuid::text = ANY(%s) AND e.kind = 'completed' GROUP BY 1",
        bulks,
    )
    assert len(completions) == expected
    assert {count for _, count in completions} == {1}


def queue_empty(site: FaultSite) -> bool:
    rows = site.sql("SELECT 1")  # the database answers: the consumers may ack
    assert rows
    from queues.transports.amqp import AmqpTransport

    transport = AmqpTransport(site.env["AMQP_URL"])
    try:
        return transport.count("async.operations.all") == 0
    finally:
        transport.close()


# -- SIGKILL ------------------------------------------------------------------------------------


def test_consumers_killed_at_random_points_lose_nothing_and_apply_nothing_twice(site):
    """Three consumers on a 5,000-customer bulk; one of them SIGKILLed every 1–3 s, five
    times, a fresh one started in its place: the survivors and the newcomers finish it."""
    for _ in range(3 - len(site.alive())):
        site.start_consumer()
    began = time.monotonic()
    bulk = accept(site, customers("kill", 5000))
    rng = random.Random(12)
    kills = 0
    while kills < 5:
        time.sleep(rng.uniform(1.0, 3.0))
        victim = rng.choice(site.alive())
        site.kill(victim)
        kills += 1
        site.start_consumer()
    done = wait_final(site, [bulk], 5000, timeout=240)
    print(
        f"\nSIGKILL x{kills}: 5,000 operations final in {time.monotonic() - began:.1f} s:",
        dict(done),
    )
    assert done == Counter({1: 5000}), done
    assert_each_once(site, "kill", 5000, [bulk])
    assert kills == 5
    wait_for(lambda: queue_empty(site), timeout=30)
    # The killed consumers held unacknowledged messages: they were delivered again and
    # found their operations complete (or not yet started), never run twice.
    redelivered = site.sql(
        "SELECT count(*) FROM operations_operationevent e JOIN operations_operation o "
        "ON o.id = e.operation_id JOIN operations_bulk b ON b.id = o.bulk_id "
        "WHERE b.uuid = %s AND e.kind = 'started'",
        bulk,
    )[0][0]
    assert redelivered >= 5000


# -- RabbitMQ stopped -------------------------------------------------------------------------


@pytest.mark.exclusive_broker
def test_the_broker_stopped_and_started_while_bulks_are_accepted_and_consumed(
    site, broker_to_ourselves
):
    """Bulks keep arriving every 0.3 s; RabbitMQ stops for 6 s in the middle. Every
    request is accepted (202), the operations of the outage wait in the outbox, and
    once the broker is back the server republishes them and the consumers reconnect."""
    for _ in range(2 - len(site.alive())):
        site.start_consumer()
    consumers_before = list(site.alive())
    answers: list[int] = []
    during: list[int] = []  # the answers to requests sent while the broker was down
    down = threading.Event()
    latencies: list[float] = []
    bulks: list[str] = []
    stop = threading.Event()

    def client() -> None:
        n = 0
        while not stop.is_set():
            sent_down = down.is_set()
            began = time.monotonic()
            status, body = site.post_bulk(CUSTOMERS, customers("broker", 100, start=n))
            latencies.append(time.monotonic() - began)
            answers.append(status)
            if sent_down and down.is_set():
                during.append(status)
            if status == 202:
                bulks.append(body["bulk_uuid"])
            n += 100
            time.sleep(0.3)

    thread = threading.Thread(target=client)
    thread.start()
    stopped = False
    try:
        time.sleep(3)
        rabbitmqctl("stop_app")
        stopped = True
        down.set()
        time.sleep(6)
    finally:
        down.clear()
        if stopped:
            rabbitmqctl("start_app", timeout=120)
            rabbitmqctl("await_startup", "--timeout", "120", timeout=130)
        time.sleep(3)
        stop.set()
        thread.join(timeout=120)
    print(
        f"\nRabbitMQ down 6 s: {len(answers)} bulks sent, {len(during)} during the outage, "
        f"answers {dict(Counter(answers))}, slowest {max(latencies):.2f} s"
    )
    assert answers and set(answers) == {202}, Counter(answers)
    assert len(during) >= 3, during  # accepted while RabbitMQ was down…
    assert max(latencies) < 3.0, latencies  # …without waiting for it
    expected = 100 * len(answers)
    wait_final(site, bulks, expected, timeout=240)
    assert_each_once(site, "broker", expected, bulks)
    # The consumers rode out the outage: the same processes, reconnected.
    assert [proc for proc in consumers_before if proc.poll() is None] == consumers_before, (
        site.log_tail()
    )


# -- Redis stopped under an open page ---------------------------------------------------------


def test_redis_stopped_while_a_bulk_page_is_open(site, browser):
    """Operations keep completing without Redis; the page says live updates are paused,
    and once Redis is back it catches up to the final counts without a reload."""
    from playwright.sync_api import expect

    from tests.fixtures.browser import page_for

    for proc in site.alive():  # the bulk waits, the page shows it open
        site.kill(proc)
    username, password = "faults", "Faults-pass-1"
    page = page_for(browser, site, username, password)
    bulk = accept(site, customers("redis", 1500))
    page.goto(f"/dashboard/bulks/{bulk}/")
    page.wait_for_selector('#live-status[data-state="live"]')
    site.redis.stop()
    try:
        page.wait_for_selector('#live-status[data-state="paused"]', timeout=20_000)
        assert page.locator("#connection-banner").is_visible()
        # Work goes on while the page cannot be told.
        for _ in range(2):
            site.start_consumer()
        done = wait_final(site, [bulk], 1500, timeout=180)
        assert done == Counter({1: 1500})
        shown = int(
            page.locator(".progress[role=progressbar]").first.get_attribute("aria-valuenow")
        )
        assert shown < 1500  # the page was not told: it still shows what it had
    finally:
        site.redis.start()
    page.wait_for_selector('#live-status[data-state="live"]', timeout=30_000)
    expect(page.locator(".progress[role=progressbar]").first).to_have_attribute(
        "aria-valuenow", "1500", timeout=20_000
    )
    assert page.locator("#connection-banner").is_hidden()
    assert_each_once(site, "redis", 1500, [bulk])
    page.context.close()


# -- PostgreSQL restarted ----------------------------------------------------------------------


def test_postgresql_restarted_under_running_consumers_and_server(site):
    """PostgreSQL dies (immediate shutdown: every connection dropped, recovery on start)
    while two consumers run a 3,000-customer bulk and a client sends more: the server
    answers again once it is back, the consumers carry on, nothing is lost or doubled."""
    for _ in range(2 - len(site.alive())):
        site.start_consumer()
    consumers_before = list(site.alive())
    first = accept(site, customers("pg", 3000))
    wait_for(lambda: statuses(site, [first]).get(1, 0) > 300, timeout=60, interval=0.2)
    site.postgres.restart()
    # The server recovers: its next requests are answered, the failed one (if any) in
    # Magento's shape and not half-applied.
    later: list[str] = []
    refused = 0
    deadline = time.monotonic() + 60
    n = 3000
    while len(later) < 3 and time.monotonic() < deadline:
        status, body = site.post_bulk(CUSTOMERS, customers("pg", 100, start=n))
        if status == 202:
            later.append(body["bulk_uuid"])
            n += 100
        else:
            assert status in (500, 503), (status, body)
            assert set(body) >= {"message"}, body
            refused += 1
            time.sleep(0.5)
    assert len(later) == 3, site.log_tail()
    print(f"\nPostgreSQL restarted: the server accepted again after {refused} refused request(s)")
    bulks = [first, *later]
    wait_final(site, bulks, 3300, timeout=240)
    assert_each_once(site, "pg", 3300, bulks)
    assert [proc for proc in consumers_before if proc.poll() is None] == consumers_before, (
        site.log_tail()
    )


# -- a lock held across a service call ----------------------------------------------------------


def test_a_lock_timeout_in_a_service_call_is_retried_with_backoff_and_completes(site):
    """Another transaction holds the customer's row for ~3 s: the update waits its lock
    timeout (2 s), fails transiently, is retried after a pause, and completes once."""
    import psycopg

    for proc in site.alive():  # one fresh consumer, as the README starts it
        site.kill(proc)
    site.start_consumer()
    # What the earlier faults left queued (redeliveries, relayed duplicates) drains first,
    # so the update below is not queued behind it while the row is held.
    wait_for(lambda: queue_empty(site), timeout=180, interval=0.5)
    bulk = accept(site, customers("lock", 1))
    wait_final(site, [bulk], 1, timeout=60)
    (customer_id,) = site.sql(
        "SELECT id FROM catalog_customer WHERE email = %s", "lock0@example.com"
    )[0]
    with psycopg.connect(site.env["DATABASE_URL"]) as holder:
        holder.execute("SELECT id FROM catalog_customer WHERE id = %s FOR UPDATE", (customer_id,))
        status, body = site.api_timed(
            "PUT",
            f"/rest/async/V1/customers/{customer_id}",
            {
                "customer": {
                    "id": customer_id,
                    "email": "lock0@example.com",
                    "firstname": "Held",
                    "lastname": "Last0",
                    "website_id": 1,
                }
            },
        )
        assert status == 202, body
        update = body["bulk_uuid"]
        # The consumer's service call waits for the row…
        try:
            wait_for(
                lambda: site.sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )[0][0],
                timeout=120,
                interval=0.05,
            )
        except pytest.fail.Exception:
            pytest.fail(
                f"the update never waited for the row: {statuses(site, [update])}, "
                f"queue empty: {queue_empty(site)}\n{site.log_tail()}"
            )
        time.sleep(2.5)  # …longer than its lock timeout (2 s): the first attempt fails
        holder.rollback()
    wait_final(site, [update], 1, timeout=60)
    (status, attempts, message) = site.sql(
        "SELECT o.status, o.attempts, o.result_message FROM operations_operation o "
        "JOIN operations_bulk b ON b.id = o.bulk_id WHERE b.uuid = %s",
        update,
    )[0]
    assert status == 1, message
    assert attempts >= 2
    assert site.sql("SELECT firstname FROM catalog_customer WHERE id = %s", customer_id) == [
        ("Held",)
    ]
    kinds = [
        kind
        for (kind,) in site.sql(
            "SELECT e.kind FROM operations_operationevent e JOIN operations_operation o "
            "ON o.id = e.operation_id JOIN operations_bulk b ON b.id = o.bulk_id "
            "WHERE b.uuid = %s ORDER BY e.at, e.id",
            update,
        )
    ]
    assert kinds == ["accepted", "started", "completed"]  # retried in process, run once
    # The first attempt waited out the lock timeout, then backed off and tried again.
    (took,) = site.sql(
        "SELECT extract(epoch FROM o.finished_at - o.started_at) FROM operations_operation o "
        "JOIN operations_bulk b ON b.id = o.bulk_id WHERE b.uuid = %s",
        update,
    )[0]
    assert float(took) >= 2.0
