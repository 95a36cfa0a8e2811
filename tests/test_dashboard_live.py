"""The dashboard's websocket: who may connect, what each page is sent, coalescing, catch-up."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from config.asgi import application
from operations.actions import execute_operations, retry_failed
from operations.models import Bulk
from tests.fixtures.dashboard import OPERATOR, VIEWER, customer, make_bulk
from tests.fixtures.sockets import ORIGIN, connect, cookie_headers, received, run

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


async def _watch(
    communicator, bulk: Bulk | None = None, *, page="bulk", fresh=True, **extra
) -> None:
    operations = []
    if bulk is not None and page == "bulk":
        operations = await database_sync_to_async(
            lambda: list(bulk.operations.values_list("pk", flat=True))
        )()
    message = {
        "page": page,
        "bulks": [str(bulk.uuid)] if bulk is not None else [],
        "operations": operations,
        "fresh": fresh,
        **extra,
    }
    await communicator.send_to(text_data=json.dumps({"watch": message}))
    await asyncio.sleep(0.3)  # the hub takes the watch in a thread


def _run_open(bulk: Bulk) -> None:
    execute_operations(bulk.operations.filter(status=4).values_list("pk", flat=True))


def test_an_anonymous_socket_is_refused():
    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/dashboard/", headers=[ORIGIN])
        connected, code = await communicator.connect(timeout=5)
        assert (connected, code) == (False, 4401)

    run(scenario)


def test_a_socket_without_the_view_permission_is_refused(signed_in):
    client, _user = signed_in(())

    async def scenario():
        communicator = WebsocketCommunicator(
            application, "/ws/dashboard/", headers=cookie_headers(client)
        )
        connected, code = await communicator.connect(timeout=5)
        assert (connected, code) == (False, 4403)

    run(scenario)


def test_a_bulk_page_sees_its_operations_complete_without_a_reload(signed_in):
    client, user = signed_in(OPERATOR)
    bulk = make_bulk(user, [customer(1), customer(2)], run=False)
    ids = list(bulk.operations.values_list("pk", flat=True))

    async def scenario():
        communicator = await connect(client)
        await _watch(communicator, bulk)
        await database_sync_to_async(_run_open)(bulk)
        messages = await received(communicator, 3)
        await communicator.disconnect()
        return "".join(messages)

    html = run(scenario)
    for pk in ids:
        assert f'data-operation-id="{pk}" data-status="1"' in html
    assert 'id="bulk-summary"' in html and 'data-summary-status="2"' in html
    assert "finished: 2 items updated" in html  # announced to screen readers


def test_a_page_is_never_sent_a_bulk_its_user_may_not_see(signed_in):
    owner_client, owner = signed_in(OPERATOR)
    stranger_client, _stranger = signed_in(VIEWER)
    bulk = make_bulk(owner, [customer(1)], run=False)

    async def scenario():
        stranger = await connect(stranger_client)
        await _watch(stranger, bulk)  # asks for someone else's bulk by its uuid
        log = await connect(stranger_client)
        await _watch(log, page="bulks", top=True)
        await database_sync_to_async(_run_open)(bulk)
        await database_sync_to_async(make_bulk)(owner, [customer(2)], run=False)
        seen = await received(stranger, 2.5) + await received(log, 0.5)
        await stranger.disconnect()
        await log.disconnect()
        return seen

    assert run(scenario) == []


def test_a_new_bulk_appears_on_top_of_an_open_log(signed_in):
    client, user = signed_in(OPERATOR)

    async def scenario():
        log = await connect(client)
        await _watch(log, page="bulks", top=True)
        bulk = await database_sync_to_async(make_bulk)(user, [customer(3)], run=False)
        messages = await received(log, 3)
        await log.disconnect()
        return bulk, "".join(messages)

    bulk, html = run(scenario)
    assert 'hx-swap-oob="afterbegin:#bulk-rows"' in html
    assert f'data-bulk-uuid="{bulk.uuid}"' in html


def test_a_log_not_at_the_top_is_told_how_many_bulks_are_new(signed_in):
    client, user = signed_in(OPERATOR)

    async def scenario():
        log = await connect(client)
        await _watch(log, page="bulks", top=False)
        for n in range(2):
            await database_sync_to_async(make_bulk)(user, [customer(10 + n)], run=False)
            await asyncio.sleep(0.4)
        messages = await received(log, 2.5)
        await log.disconnect()
        return "".join(messages)

    html = run(scenario)
    assert "2 new bulks since this page was loaded" in html
    assert "afterbegin:#bulk-rows" not in html


def test_a_busy_bulk_costs_a_page_a_few_updates_per_second_at_most(signed_in, settings):
    settings.DASHBOARD = {"FLUSH_INTERVAL": 0.5}
    client, user = signed_in(OPERATOR)
    bulk = make_bulk(user, [customer(n) for n in range(40)], run=False)
    ids = list(bulk.operations.order_by("index").values_list("pk", flat=True))

    def run_one_by_one() -> None:
        for pk in ids:  # 40 commits, each with its own events
            execute_operations([pk])

    async def scenario():
        communicator = await connect(client)
        await _watch(communicator, bulk)
        started = time.monotonic()
        await database_sync_to_async(run_one_by_one)()
        elapsed = time.monotonic() - started
        messages = await received(communicator, 2)
        await communicator.disconnect()
        return elapsed, messages

    elapsed, messages = run(scenario)
    assert messages, "the page heard of the changes"
    assert len(messages) <= elapsed / 0.5 + 3, f"{len(messages)} updates in {elapsed:.1f}s"
    summaries = [m for m in messages if 'id="bulk-summary"' in m]
    assert 'data-summary-status="2"' in summaries[-1], "the last update shows the bulk finished"


def test_a_page_that_reconnects_catches_up_at_once(signed_in):
    client, user = signed_in(OPERATOR)
    bulk = make_bulk(user, [customer(1)])  # already finished while the page was away

    async def scenario():
        communicator = await connect(client)
        await _watch(communicator, bulk, fresh=False)
        messages = await received(communicator, 1.5)
        await communicator.disconnect()
        return "".join(messages)

    html = run(scenario)
    assert 'data-summary-status="2"' in html
    assert 'data-status="1"' in html


def test_a_hidden_tab_is_sent_nothing_and_catches_up_when_shown(signed_in):
    client, user = signed_in(OPERATOR)
    bulk = make_bulk(user, [customer(1), customer(1)])

    async def scenario():
        communicator = await connect(client)
        await _watch(communicator, bulk)
        await communicator.send_to(text_data=json.dumps({"visible": False}))
        await asyncio.sleep(0.2)
        await database_sync_to_async(retry_failed)(bulk, user)
        hidden = await received(communicator, 2)
        await communicator.send_to(text_data=json.dumps({"visible": True}))
        shown = await received(communicator, 1.5)
        await communicator.disconnect()
        return hidden, "".join(shown)

    hidden, shown = run(scenario)
    assert hidden == []
    assert 'data-status="4"' in shown  # the retried operation, open again


def test_malformed_messages_are_ignored(signed_in):
    client, _user = signed_in(VIEWER)

    async def scenario():
        communicator = await connect(client)
        for text in (
            "not json",
            "[1, 2]",
            json.dumps({"watch": "x"}),
            "x" * 100_000,
            json.dumps({"watch": {"bulks": [1, None, "zz" * 40], "operations": ["a"]}}),
        ):
            await communicator.send_to(text_data=text)
        await communicator.send_to(text_data=json.dumps({"visible": True}))
        assert await received(communicator, 0.5) == []
        await communicator.disconnect()

    run(scenario)


@pytest.mark.django_db
def test_a_flush_reuses_an_unchanged_operation_row_and_redraws_a_changed_one(signed_in):
    from dashboard.live import render

    _client, user = signed_in(OPERATOR)
    bulk = make_bulk(user, [customer(1), customer(2)], run=False)
    first, second = bulk.operations.order_by("index")
    abilities = render.Abilities.of(user)
    wanted = render.Wanted(
        bulk_ids={bulk.pk},
        groups_for={bulk.pk},
        operation_ids={first.pk, second.pk},
        abilities={abilities},
    )
    rows = render.RowCache()
    before = render.flush_batch(wanted, {}, rows=rows).operation_rows

    execute_operations([first.pk])
    after = render.flush_batch(wanted, {}, rows=rows).operation_rows

    assert 'data-status="4"' in before[first.pk, abilities][1]
    assert 'data-status="1"' in after[first.pk, abilities][1]  # changed: drawn again
    assert after[second.pk, abilities][1] is before[second.pk, abilities][1]  # reused
