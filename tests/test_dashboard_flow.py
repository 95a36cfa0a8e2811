"""Operators' pages: live panels, the overview, queues and consumers pages, restarts."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import timedelta

import pytest
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.asgi import application
from dashboard.live import panels
from dashboard.live.hub import running_hubs
from queues import metrics, monitor
from queues.models import ConsumerProcess, OperatorAction
from queues.transports.db import DbTransport
from tests.fixtures.dashboard import OPERATOR, VIEWER, customer, make_bulk
from tests.fixtures.queues import envelope, simple_topology
from tests.fixtures.sockets import ORIGIN, connect, received, run

QUEUES_VIEWER = (*VIEWER, "queues.view_queues")
QUEUES_OPERATOR = (*QUEUES_VIEWER, "queues.operate_queues")


async def _watch(communicator, page: str, *, fresh: bool = True) -> None:
    message = {"page": page, "bulks": [], "operations": [], "fresh": fresh}
    await communicator.send_to(text_data=json.dumps({"watch": message}))


class CountingPanel:
    """A panel whose fragment changes on every render, counting its calls."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.calls = 0
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, abilities) -> list[str]:
        with self._lock:
            self.calls += 1
            n = self.calls
        self.threads.add(threading.current_thread().name)
        return [f'<div id="{self.kind}-panel" hx-swap-oob="true">tick {n}</div>']


@pytest.fixture
def panel():
    counting = CountingPanel("test-panel")
    panels.register(panels.Panel(kind=counting.kind, render=counting, interval=0.5))
    yield counting
    panels.unregister(counting.kind)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class TestLivePanels:
    def test_a_registered_panel_reaches_a_page_of_its_kind(self, signed_in, panel):
        client, _user = signed_in(QUEUES_VIEWER)

        async def scenario():
            page = await connect(client)
            await _watch(page, panel.kind)
            seen = await received(page, 1.8)
            await page.disconnect()
            return seen

        seen = run(scenario)
        assert seen and all('id="test-panel-panel"' in html for html in seen)
        assert 2 <= len(seen) <= 5  # about one per 0.5 s interval, not more
        assert "main" not in panel.threads.pop()  # rendered in a worker thread

    def test_twenty_pages_of_one_kind_cost_one_render_per_tick(self, signed_in, panel):
        client, _user = signed_in(QUEUES_VIEWER)

        async def scenario():
            pages = [await connect(client) for _ in range(20)]
            for page in pages:
                await _watch(page, panel.kind)
            await asyncio.sleep(0.1)
            before = panel.calls
            started = time.monotonic()
            got = await asyncio.gather(*(received(page, 2.0) for page in pages))
            elapsed = time.monotonic() - started
            calls = panel.calls - before
            for page in pages:
                await page.disconnect()
            return got, calls, elapsed

        got, calls, elapsed = run(scenario)
        ticks = elapsed / 0.5
        assert calls <= ticks + 1, f"{calls} renders in {elapsed:.1f}s for 20 pages"
        assert all(len(messages) >= 2 for messages in got)  # every page got them

    def test_a_hidden_page_and_a_page_of_another_kind_get_nothing(self, signed_in, panel):
        client, _user = signed_in(QUEUES_VIEWER)

        async def scenario():
            hidden = await connect(client)
            await _watch(hidden, panel.kind)
            await hidden.send_to(text_data=json.dumps({"visible": False}))
            other = await connect(client)
            await _watch(other, "bulks")
            await asyncio.sleep(0.2)
            before = panel.calls
            seen_hidden, seen_other = await asyncio.gather(
                received(hidden, 1.5), received(other, 1.5)
            )
            calls = panel.calls - before
            await hidden.send_to(text_data=json.dumps({"visible": True}))
            back = await received(hidden, 1.0)
            await hidden.disconnect()
            await other.disconnect()
            return seen_hidden, seen_other, calls, back

        seen_hidden, seen_other, calls, back = run(scenario)
        assert [m for m in seen_hidden if "test-panel" in m] == []
        assert [m for m in seen_other if "test-panel" in m] == []
        assert calls == 0  # nobody visible looks at it: not even drawn
        assert any("test-panel-panel" in m for m in back)  # shown again: it catches up

    def test_unchanged_fragments_are_not_sent_again(self, signed_in):
        client, _user = signed_in(QUEUES_VIEWER)
        calls = []

        def same(abilities):
            calls.append(1)
            return ['<div id="same-panel" hx-swap-oob="true">always the same</div>']

        panels.register(panels.Panel(kind="same-kind", render=same, interval=0.3))
        try:

            async def scenario():
                page = await connect(client)
                await _watch(page, "same-kind")
                seen = await received(page, 1.5)
                await page.disconnect()
                return seen

            seen = run(scenario)
        finally:
            panels.unregister("same-kind")
        assert len(calls) >= 3
        assert len(seen) == 1

    def test_a_per_user_panel_draws_once_per_user_and_sends_each_their_own(self, signed_in):
        alice_client, alice = signed_in(QUEUES_VIEWER)
        bob_client, bob = signed_in(QUEUES_VIEWER)
        calls = []

        def whose(abilities, user_id):
            calls.append(user_id)
            return [f'<div id="whose-panel" hx-swap-oob="true">drawn for {user_id}</div>']

        panels.register(panels.Panel(kind="whose", render=whose, interval=0.3, per_user=True))
        try:

            async def scenario():
                pages = [await connect(alice_client) for _ in range(3)]
                pages.append(await connect(bob_client))
                for page in pages:
                    await _watch(page, "whose")
                seen = await asyncio.gather(*(received(page, 1.0) for page in pages))
                for page in pages:
                    await page.disconnect()
                return seen

            seen = run(scenario)
        finally:
            panels.unregister("whose")
        for messages in seen[:3]:
            assert messages and all(f"drawn for {alice.pk}<" in m for m in messages)
        assert seen[3] and all(f"drawn for {bob.pk}<" in m for m in seen[3])
        assert set(calls) == {alice.pk, bob.pk}
        assert calls.count(alice.pk) <= 5  # once per tick for her three pages, not three

    def test_operators_pages_are_live_for_operators_only(self, signed_in):
        operator_client, _ = signed_in(("queues.view_queues",))  # no bulks: still live
        merchant_client, _ = signed_in(VIEWER)

        async def scenario():
            operator = await connect(operator_client)
            merchant = await connect(merchant_client)
            for page in (operator, merchant):
                await _watch(page, "queues")
            seen = await asyncio.gather(received(operator, 1.5), received(merchant, 1.5))
            for page in (operator, merchant):
                await page.disconnect()
            return seen

        for_operator, for_merchant = run(scenario)
        assert any('id="flow-queue-table"' in m for m in for_operator)
        assert for_merchant == []  # saying it shows the queues page gets them nothing

    def test_an_anonymous_socket_is_refused(self):
        async def scenario():
            communicator = WebsocketCommunicator(application, "/ws/dashboard/", headers=[ORIGIN])
            return await communicator.connect(timeout=5)

        assert run(scenario) == (False, 4401)
        assert all(not hub.viewers for hub in running_hubs())


# -- the pages -----------------------------------------------------------------------------


PAGES = ["/dashboard/queues/", "/dashboard/consumers/"]


@pytest.fixture(autouse=True)
def _fresh_sample():
    monitor.forget()
    yield
    monitor.forget()


@pytest.mark.django_db
def test_without_view_queues_the_pages_are_a_readable_403(signed_in):
    client, _user = signed_in(VIEWER)
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 403
        assert "queues.view_queues" in response.content.decode()
    assert client.get("/dashboard/").url == "/dashboard/bulks/"  # a merchant's front page
    response = client.post("/dashboard/consumers/restart/", {"all": "1"})
    assert response.status_code == 403


@pytest.mark.django_db
def test_anonymous_is_sent_to_sign_in(client):
    for url in ["/dashboard/", *PAGES]:
        response = client.get(url)
        assert response.status_code == 302 and "login" in response.url


@pytest.mark.django_db
def test_view_queues_only_sees_no_restart_button_and_is_refused(signed_in):
    ConsumerProcess.objects.create(name="async.operations.all", pid=999_999)
    client, _user = signed_in(QUEUES_VIEWER)
    page = client.get("/dashboard/consumers/").content.decode()
    assert "async.operations.all" in page
    assert "Restart" not in page
    response = client.post("/dashboard/consumers/restart/", {"all": "1"})
    assert response.status_code == 403
    assert "queues.operate_queues" in response.content.decode()
    assert not ConsumerProcess.objects.filter(stop_requested=True).exists()
    assert not OperatorAction.objects.exists()


@pytest.mark.django_db
def test_an_operator_restarts_one_consumer_and_all_recorded_with_who(signed_in):
    one = ConsumerProcess.objects.create(name="c.one", pid=999_991)
    ConsumerProcess.objects.create(name="c.two", pid=999_992)
    client, user = signed_in(QUEUES_OPERATOR, name="opal")
    page = client.get("/dashboard/consumers/").content.decode()
    assert 'hx-confirm="Restart all 2 running consumer processes?' in page
    assert f'name="process" value="{one.pk}"' in page

    response = client.post("/dashboard/consumers/restart/", {"process": one.pk})
    assert response.status_code == 302
    assert ConsumerProcess.objects.get(pk=one.pk).stop_requested
    assert not ConsumerProcess.objects.get(name="c.two").stop_requested
    page = client.get(response.url).content.decode()
    assert "Asked the consumer process to restart" in page
    assert "Restarting" in page and "opal" in page  # the state, and who did it

    response = client.post(
        "/dashboard/consumers/restart/", {"all": "1"}, headers={"HX-Request": "true"}
    )
    assert "Asked 1 consumer process to restart." in response.content.decode()
    assert 'id="flow-consumer-table"' in response.content.decode()  # redrawn out of band
    assert list(OperatorAction.objects.values_list("actor", "target", "count")) == [
        ("opal", "all", 1),
        ("opal", "c.one", 1),
    ]
    for bad in ({"process": "x"}, {}, {"process": "123456"}):
        response = client.post("/dashboard/consumers/restart/", bad)
        assert response.status_code == 302  # a readable message, not a 500
    del user


@pytest.mark.django_db
def test_restart_needs_the_csrf_token(signed_in):
    strict = Client(enforce_csrf_checks=True)
    signed_in(QUEUES_OPERATOR, client=strict)
    ConsumerProcess.objects.create(name="c.one", pid=999_991)
    assert strict.post("/dashboard/consumers/restart/", {"all": "1"}).status_code == 403
    assert not ConsumerProcess.objects.filter(stop_requested=True).exists()


@pytest.mark.django_db
def test_the_overview_reads_metrics_and_never_the_operations_table(signed_in):
    client, user = signed_in((*QUEUES_OPERATOR, *OPERATOR, "operations.view_all_bulks"))
    make_bulk(user, [customer(1), customer(2)])
    now = timezone.now()
    metrics.record("async.operations.all", messages=40, operations=1234, operations_failed=7)
    metrics.record("async.operations.all", operations=100, at=now - timedelta(hours=3))
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/dashboard/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-stat="hour-completed">1,234<' in html
    assert 'data-stat="hour-failed">7<' in html
    assert 'data-stat="day-completed">1,334<' in html
    assert '<title id="chart-title">Throughput, last hour</title>' in html
    assert "1,234 completed, 7 failed" in html  # the chart's text alternative
    assert html.count('class="bulk-row"') == 1  # the latest bulks
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in sql if '"operations_operation"' in s]
    bulks = [s for s in sql if '"operations_bulk"' in s]
    # The latest bulks (from the bulks table, no count), and the top bar's notifications.
    assert len(bulks) == 2 and not [s for s in bulks if "COUNT(" in s.upper()]

    week = client.get("/dashboard/?range=7d").content.decode()
    assert 'data-page="overview-7d"' in week and "last 7 days" in week
    assert client.get("/dashboard/?range=<script>").status_code == 200  # the default


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_the_queue_and_consumer_pages_never_touch_the_operations(signed_in, url):
    client, _user = signed_in(QUEUES_OPERATOR)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in sql if '"operations_operation"' in s]
    assert len([s for s in sql if '"operations_bulk"' in s]) == 1  # the top bar's notifications


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_stalled_queue_is_said_so_in_the_health_line(signed_in, queue_registry, unique):
    names = simple_topology(unique, "db", handler=lambda env: None)
    DbTransport().publish(names["exchange"], [envelope("x.y") for _ in range(12)])
    stopped = timezone.now() - timedelta(minutes=3, seconds=5)
    ConsumerProcess.objects.create(
        name=names["consumer"],
        pid=4,
        stopped_at=stopped,
        last_heartbeat=stopped,
        exit_reason="restart",
    )
    client, _user = signed_in(QUEUES_OPERATOR)
    overview = client.get("/dashboard/").content.decode()
    line = f"{names['queue']}: 12 waiting, no consumer alive for 3 min"
    assert line in overview
    queues_page = client.get("/dashboard/queues/").content.decode()
    assert line in queues_page
    assert (
        'data-stalled="true"' in queues_page
        and "Stalled: no consumer alive for 3 min" in queues_page
    )
    consumers = client.get("/dashboard/consumers/").content.decode()
    assert "restart" in consumers and "Stopped in the last hour" in consumers

    ConsumerProcess.objects.create(name=names["consumer"])  # one runs again (this pid)
    monitor.forget()
    assert "All queues flowing" in client.get("/dashboard/").content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_metrics_of_a_real_consumer_run_reach_the_overview(
    signed_in, api, admin_token, db_ops_topology
):
    from tests.fixtures.operations import bulk_post, product_item

    bulk_post(
        api, "all/async/bulk/V1/products", [product_item(f"O{i}") for i in range(7)], admin_token
    )
    db_ops_topology.run(max_messages=7)
    client, _user = signed_in(QUEUES_VIEWER)
    html = client.get("/dashboard/").content.decode()
    assert 'data-stat="hour-completed">7<' in html


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_overview_panel_sends_new_counts_to_open_pages(signed_in):
    client, _user = signed_in(QUEUES_VIEWER)

    async def scenario():
        page = await connect(client)
        queues_page = await connect(client)
        await _watch(page, "overview")
        await _watch(queues_page, "queues")
        first = "".join(await received(page, 1.5))
        from channels.db import database_sync_to_async

        await database_sync_to_async(metrics.record)("async.operations.all", operations=321)
        later = "".join(await received(page, 2.0))
        queues_seen = "".join(await received(queues_page, 0.5))
        await page.disconnect()
        await queues_page.disconnect()
        return first, later, queues_seen

    first, later, queues_seen = run(scenario)
    assert 'id="flow-totals"' in first and 'hx-swap-oob="true"' in first
    assert 'data-stat="hour-completed">321<' in later
    assert 'id="flow-queue-table"' in queues_seen + first or 'id="flow-queue-table"' in queues_seen


@pytest.mark.django_db
def test_stale_and_gone_consumers_are_flagged_in_words(signed_in, settings):
    silent = timezone.now() - timedelta(minutes=5)
    ConsumerProcess.objects.create(name="c.silent", host="elsewhere", last_heartbeat=silent)
    ConsumerProcess.objects.create(name="c.gone", pid=999_993)  # this host, no such pid
    ConsumerProcess.objects.create(name="c.here")  # this process: alive
    client, _user = signed_in(QUEUES_VIEWER)
    page = client.get("/dashboard/consumers/").content.decode()
    assert 'data-consumer="c.silent" data-state="stale"' in page
    assert "Stale: no heartbeat" in page
    assert 'data-consumer="c.gone" data-state="gone"' in page
    assert "Gone: process not running" in page
    assert 'data-consumer="c.here" data-state="alive"' in page
