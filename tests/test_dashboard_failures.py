"""Failures across bulks (/dashboard/failures/): grouping, permissions, the group retry and
its progress, and a bulk page saying why its bulk is not moving."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Customer
from dashboard import failures
from dashboard.live.render import Abilities
from dashboard.views.failures import render_panel
from operations.actions import execute_operations
from operations.actions.people import retry_failure_group
from operations.actions.running import give_up_operation
from operations.exceptions import ActionNotPermitted, NothingToRetry
from operations.models import (
    Bulk,
    EventKind,
    GroupRetry,
    Operation,
    OperationEvent,
    OperationStatus,
)
from tests.fixtures.dashboard import OPERATOR, VIEWER, customer, make_bulk

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
DUPLICATE = "A customer with the same email address already exists"
ALL = "operations.view_all_bulks"


def _duplicates(owner, start: int, copies: int = 2, description: str = "") -> Bulk:
    """A bulk creating customer `start` once and then `copies` more times: the copies fail
    (not retriably, the same code and message in every bulk)."""
    return make_bulk(owner, [customer(start)] * (copies + 1), description=description)


def _group(client, **query) -> list[dict]:
    response = client.get("/dashboard/failures/", query)
    assert response.status_code == 200
    return response.context["groups"]


def _run_open(*bulks: Bulk) -> None:
    """What the consumer does: run every open operation of these bulks."""
    execute_operations(
        Operation.objects.filter(bulk__in=bulks, status=OperationStatus.OPEN).values_list(
            "pk", flat=True
        )
    )


@pytest.fixture
def operator(signed_in):
    return signed_in([*OPERATOR, ALL])


# -- the page ------------------------------------------------------------------------------


def test_failures_of_two_bulks_are_one_group_with_counts_bulks_and_samples(operator):
    client, user = operator
    first = _duplicates(user, 1, copies=2)
    second = _duplicates(user, 1, copies=1)  # customer 1 exists already: all 2 fail
    groups = _group(client)
    assert len(groups) == 1
    group = groups[0]
    assert group.count == 4
    assert group.bulks == 2
    assert group.retriable == 0
    assert DUPLICATE in group.message
    assert group.first_seen <= group.last_seen
    # Its first and its latest operation, each linking to its bulk's failures of that code.
    assert [s.bulk_uuid for s in group.samples] == [str(second.uuid), str(first.uuid)]
    page = client.get("/dashboard/failures/").content.decode()
    for bulk in (first, second):
        assert f"/dashboard/bulks/{bulk.uuid}/?failed=1&amp;code={group.error_code}" in page
    assert 'data-count="4"' in page
    assert "Retry group (4)" in page
    assert 'hx-confirm="Retry the 4 failed operations of this group, in 2 bulks?"' in page


def test_groups_are_split_by_topic_code_and_message_largest_first(operator):
    client, user = operator
    _duplicates(user, 1, copies=3)
    open_bulk = make_bulk(user, [customer(2), customer(3)], run=False)
    for op in open_bulk.operations.all():
        give_up_operation(op.pk, "poison message")
    groups = _group(client)
    assert [(g.count, g.retriable) for g in groups] == [(3, 0), (2, 2)]
    assert "set aside (poison message)" in groups[1].message


def test_someone_elses_failures_are_never_shown(signed_in):
    mine_client, me = signed_in(OPERATOR)
    _other_client, other = signed_in(OPERATOR)
    _duplicates(other, 1, copies=2, description="Their import")
    assert _group(mine_client) == []
    page = mine_client.get("/dashboard/failures/").content.decode()
    assert "No failed operation in the last 24 hours" in page
    _duplicates(me, 5, copies=1)
    assert [g.count for g in _group(mine_client)] == [1]


def test_who_sees_every_bulk_sees_every_bulks_failures(signed_in):
    _client, owner = signed_in(OPERATOR)
    _duplicates(owner, 1, copies=2)
    auditor, _ = signed_in([*VIEWER, ALL])
    assert [g.count for g in _group(auditor)] == [2]


def test_the_time_range_bounds_the_groups(operator):
    client, user = operator
    bulk = _duplicates(user, 1, copies=2)
    old = bulk.operations.filter(status=OperationStatus.NOT_RETRIABLY_FAILED).first()
    Operation.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=3))
    assert [g.count for g in _group(client)] == [1]
    assert [g.count for g in _group(client, range="1h")] == [1]
    assert [g.count for g in _group(client, range="7d")] == [2]


def test_topic_and_code_filters(operator):
    client, user = operator
    _duplicates(user, 1, copies=1)
    code = _group(client)[0].error_code
    assert len(_group(client, code=code)) == 1
    assert _group(client, code=code + 1000) == []
    assert _group(client, topic="async.no.such.topic") == []
    assert len(_group(client, topic=_group(client)[0].topic)) == 1


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ({"range": "5y"}, "is not one of 1h, 24h, 7d or 30d"),
        ({"code": "abc"}, "is not a whole number"),
        ({"code": "99999999999999"}, "is not a whole number"),
        ({"topic": "x" * 300}, "longer than any topic"),
    ],
)
def test_nonsense_filters_get_a_readable_message_not_a_500(operator, query, said):
    client, user = operator
    _duplicates(user, 1, copies=1)
    response = client.get("/dashboard/failures/", query)
    assert response.status_code == 200
    assert said in response.content.decode()
    assert len(response.context["groups"]) == 1  # the nonsense is ignored


def test_an_htmx_filter_gets_only_the_groups(operator):
    client, user = operator
    _duplicates(user, 1, copies=1)
    body = client.get("/dashboard/failures/", {"range": "7d"}, **HTMX).content.decode()
    assert body.lstrip().startswith('<section id="failure-groups"')


def test_without_the_view_permission_the_page_is_refused_with_the_reason(signed_in):
    client, _ = signed_in(())
    response = client.get("/dashboard/failures/")
    assert response.status_code == 403
    assert "operations.view_bulk" in response.content.decode()


def test_without_the_retry_permission_no_button_and_the_post_is_refused(signed_in):
    client, user = signed_in(VIEWER)
    _duplicates(user, 1, copies=1)
    group = _group(client)[0]
    page = client.get("/dashboard/failures/").content.decode()
    assert "Retry group" not in page
    assert "/dashboard/failures/retry/" not in page
    response = client.post(
        "/dashboard/failures/retry/",
        {"topic": group.topic, "code": group.error_code, "message": group.message},
    )
    assert response.status_code == 403
    assert "operations.retry_operations" in response.content.decode()
    assert not GroupRetry.objects.exists()
    with pytest.raises(ActionNotPermitted):
        retry_failure_group(
            user,
            topic=group.topic,
            error_code=group.error_code,
            message=group.message,
            since=timezone.now() - timedelta(hours=1),
        )


def test_the_retry_post_needs_a_csrf_token(operator):
    from django.test import Client

    client, user = operator
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    _duplicates(user, 1, copies=1)
    group = _group(client)[0]
    response = strict.post(
        "/dashboard/failures/retry/",
        {"topic": group.topic, "code": group.error_code, "message": group.message},
    )
    assert response.status_code == 403
    assert not GroupRetry.objects.exists()


def test_the_page_costs_a_bounded_number_of_queries_and_never_reads_all_operations(
    operator, django_assert_max_num_queries
):
    client, user = operator
    for n in range(4):
        _duplicates(user, 10 + n, copies=2)
    retry_failure_group(
        user,
        topic=_group(client)[0].topic,
        error_code=_group(client)[0].error_code,
        message=_group(client)[0].message,
        since=timezone.now() - timedelta(hours=1),
    )
    _duplicates(user, 30, copies=1)
    with CaptureQueriesContext(connection) as captured:
        client.get("/dashboard/failures/")
    with django_assert_max_num_queries(12):
        client.get("/dashboard/failures/")
    on_operations = [q["sql"] for q in captured if 'FROM "operations_operation"' in q["sql"]]
    assert len(on_operations) == 2  # the groups, then their samples
    groups_sql, samples_sql = on_operations
    assert '"operations_operation"."status" IN' in groups_sql, groups_sql
    assert '"operations_operation"."finished_at" >=' in groups_sql, groups_sql
    assert 'WHERE "operations_operation"."id" IN' in samples_sql, samples_sql  # by key
    progress = [q["sql"] for q in captured if 'FROM "operations_groupretryoperation"' in q["sql"]]
    assert progress, "the running retry's progress is read from its own operations"
    for sql in progress:
        assert '"operations_groupretryoperation"."retry_id" IN' in sql, sql


# -- the group retry -----------------------------------------------------------------------


def test_retrying_a_group_reopens_it_across_two_bulks_as_one_recorded_action(operator):
    client, user = operator
    first = _duplicates(user, 1, copies=2)
    second = _duplicates(user, 1, copies=1)
    untouched = make_bulk(user, [customer(7)], run=False)  # another group (another message)
    give_up_operation(untouched.operations.get().pk, "poison message")
    group = next(g for g in _group(client) if g.count == 4)
    response = client.post(
        "/dashboard/failures/retry/",
        {
            "topic": group.topic,
            "code": group.error_code,
            "message": group.message,
            "range": "24h",
        },
        **HTMX,
    )
    body = response.content.decode()
    assert "4 failed operations in 2 bulks queued again" in body
    assert '<section id="group-retries"' in body and 'hx-swap-oob="true"' in body
    retry = GroupRetry.objects.get()
    assert (retry.actor, retry.actor_name, retry.total, retry.bulk_count) == (
        user,
        user.username,
        4,
        2,
    )
    assert (retry.topic, retry.error_code, retry.message, retry.range) == (
        group.topic,
        group.error_code,
        group.message,
        "24h",
    )
    assert retry.reopened_at is not None and retry.settled_at is None
    for bulk in (first, second):
        bulk.refresh_from_db()
        assert bulk.not_retriably_failed_count == 0
    assert (first.open_count, second.open_count) == (2, 2)
    untouched.refresh_from_db()
    assert untouched.retriably_failed_count == 1
    events = OperationEvent.objects.filter(kind=EventKind.RETRIED)
    assert events.count() == 4
    assert {e.actor_id for e in events} == {user.pk}
    assert all(f"group retry {retry.pk}" in e.message for e in events)
    detail = client.get(
        f"/dashboard/bulks/{first.uuid}/operations/{events[0].operation_id}/"
    ).content.decode()
    assert user.username in detail


def test_a_group_retry_reopens_in_chunks_and_takes_nothing_twice(operator):
    _client, user = operator
    bulks = [_duplicates(user, 1, copies=2) for _ in range(3)]
    op = Operation.objects.filter(status=OperationStatus.NOT_RETRIABLY_FAILED).first()
    retry = retry_failure_group(
        user,
        topic=op.topic,
        error_code=op.error_code,
        message=op.result_message,
        since=timezone.now() - timedelta(hours=1),
        chunk=2,
    )
    assert retry.total == 8  # 2 + 3 + 3: customer 1 was created by the first item only
    assert retry.items.count() == 8
    assert retry.bulk_count == 3
    assert Operation.objects.filter(bulk__in=bulks, status=OperationStatus.OPEN).count() == 8
    assert OperationEvent.objects.filter(kind=EventKind.RETRIED).count() == 8


def test_a_retry_covers_only_the_bulks_the_user_may_see(signed_in):
    mine_client, me = signed_in(OPERATOR)
    _c, other = signed_in(OPERATOR)
    theirs = _duplicates(other, 1, copies=2)
    mine = _duplicates(me, 1, copies=1)
    group = _group(mine_client)[0]
    assert group.count == 2
    retry = retry_failure_group(
        me,
        topic=group.topic,
        error_code=group.error_code,
        message=group.message,
        since=timezone.now() - timedelta(hours=1),
    )
    assert retry.total == 2
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert (theirs.not_retriably_failed_count, mine.open_count) == (2, 2)


def test_nothing_to_retry_is_said_so(operator):
    client, user = operator
    response = client.post(
        "/dashboard/failures/retry/",
        {"topic": "async.x", "code": "3", "message": "gone"},
        **HTMX,
    )
    assert "Nothing to retry" in response.content.decode()
    response = client.post("/dashboard/failures/retry/", {"topic": "t", "code": "x"}, **HTMX)
    assert "That failure group does not exist." in response.content.decode()
    with pytest.raises(NothingToRetry):
        retry_failure_group(user, topic="t", error_code=None, message="", since=timezone.now())


def test_the_progress_moves_as_the_consumer_runs_them(operator):
    client, user = operator
    first = _duplicates(user, 1, copies=2)
    second = make_bulk(user, [customer(1)])
    op = Operation.objects.filter(bulk=first, status=OperationStatus.NOT_RETRIABLY_FAILED).first()
    retry = retry_failure_group(
        user,
        topic=op.topic,
        error_code=op.error_code,
        message=op.result_message,
        since=timezone.now() - timedelta(hours=1),
    )
    [progress] = failures.recent_retries(user)
    assert (progress.complete, progress.failed, progress.open) == (0, 0, retry.total)
    assert not progress.settled
    Customer.objects.filter(email="customer1@example.com").delete()  # fix the cause
    first_open = list(
        Operation.objects.filter(bulk=first, status=OperationStatus.OPEN).values_list(
            "pk", flat=True
        )
    )
    execute_operations(first_open[:1])  # one runs: it creates customer 1 again
    [progress] = failures.recent_retries(user)
    assert (progress.complete, progress.failed, progress.open) == (1, 0, retry.total - 1)
    _run_open(first, second)  # the others collide with it again
    [progress] = failures.recent_retries(user)
    assert (progress.complete, progress.failed, progress.open) == (1, retry.total - 1, 0)
    assert progress.settled
    retry.refresh_from_db()
    assert (retry.complete_count, retry.failed_count) == (1, retry.total - 1)
    with CaptureQueriesContext(connection) as captured:
        failures.recent_retries(user)
    assert len(captured) == 1  # settled: its operations are not counted again
    page = client.get("/dashboard/failures/").content.decode()
    assert 'data-state="settled"' in page
    assert "1 complete" in page


def test_the_live_panel_shows_each_user_the_retries_they_may_see(operator, signed_in):
    _client, user = operator
    _duplicates(user, 1, copies=1)
    op = Operation.objects.filter(status=OperationStatus.NOT_RETRIABLY_FAILED).get()
    retry = retry_failure_group(
        user,
        topic=op.topic,
        error_code=op.error_code,
        message=op.result_message,
        since=timezone.now() - timedelta(hours=1),
    )
    [html] = render_panel(Abilities(can_view_all=True, can_retry=True), None)
    assert 'id="group-retries"' in html and 'hx-swap-oob="true"' in html
    assert f'data-retry-id="{retry.pk}"' in html
    assert 'data-open="1"' in html
    # Someone who sees only their own bulks gets a drawing of their own retries.
    _other_client, other = signed_in(OPERATOR)
    [theirs] = render_panel(Abilities(can_retry=True), other.pk)
    assert f'data-retry-id="{retry.pk}"' not in theirs


# -- why a bulk is not moving --------------------------------------------------------------


@pytest.fixture
def fresh_monitor():
    from queues import monitor

    monitor.forget()
    yield monitor
    monitor.forget()


def _quiet(bulk: Bulk, minutes: int = 5) -> None:
    Bulk.objects.filter(pk=bulk.pk).update(changed_at=timezone.now() - timedelta(minutes=minutes))


def _waiting_text(client, bulk: Bulk) -> str:
    import re

    page = client.get(f"/dashboard/bulks/{bulk.uuid}/").content.decode()
    found = re.search(r'<section id="bulk-waiting".*?</section>', page, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found[0])) if found else ""


def test_a_bulk_with_messages_waiting_and_no_consumer_says_so(
    operator, fresh_monitor, django_capture_on_commit_callbacks
):
    from queues.models import ConsumerProcess

    client, user = operator
    with django_capture_on_commit_callbacks(execute=True):  # published: in the db queue
        bulk = make_bulk(user, [customer(1), customer(2), customer(3)], run=False)
    assert not bulk.operations.filter(published=False).exists()
    assert _waiting_text(client, bulk) == ""  # it just changed: not waiting yet
    _quiet(bulk)
    text = _waiting_text(client, bulk)
    assert "This bulk is not moving" in text
    assert "Nothing has changed for 5 min" in text
    assert "3 operations are still open." in text
    assert "The queue async.operations.all holds 3 messages waiting" in text
    assert "no consumer of it is running" in text
    assert "manage.py queue_consumers_start async.operations.all" in text
    assert "outbox" not in text

    ConsumerProcess.objects.create(
        name="async.operations.all",
        started=timezone.now() - timedelta(hours=1),
        last_heartbeat=timezone.now() - timedelta(minutes=3),
        stopped_at=timezone.now() - timedelta(minutes=3),
    )
    fresh_monitor.forget()
    assert "no consumer of it has been alive for 3 min" in _waiting_text(client, bulk)


def test_a_bulk_with_a_live_consumer_is_waiting_its_turn(
    operator, fresh_monitor, django_capture_on_commit_callbacks
):
    import os

    from queues.models import ConsumerProcess

    client, user = operator
    with django_capture_on_commit_callbacks(execute=True):
        bulk = make_bulk(user, [customer(1), customer(2)], run=False)
    _quiet(bulk, minutes=2)
    ConsumerProcess.objects.create(name="async.operations.all", pid=os.getpid())
    text = _waiting_text(client, bulk)
    assert "This bulk is waiting" in text
    assert "1 consumer is alive on it, working through the messages before these" in text


def test_operations_held_in_the_outbox_while_the_broker_is_down(operator, fresh_monitor):
    from operations.actions.outbox import breaker

    client, user = operator
    bulk = make_bulk(user, [customer(1), customer(2)], run=False)  # never published
    _quiet(bulk)
    text = _waiting_text(client, bulk)
    assert "2 of them are held in the outbox: not yet confirmed by the broker" in text
    assert "the outbox relay publishes them within" in text
    breaker.trip()  # a publish failed moments ago: the broker is down
    try:
        text = _waiting_text(client, bulk)
    finally:
        breaker.reset()
    assert "the broker cannot be reached now" in text
    assert "publishes them once it is back" in text


def test_a_finished_bulk_waits_for_nothing(operator, fresh_monitor):
    client, user = operator
    bulk = make_bulk(user, [customer(1)])
    _quiet(bulk)
    assert _waiting_text(client, bulk) == ""


# -- live ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_open_failures_page_sees_a_retrys_progress_reach_complete(signed_in):
    from channels.db import database_sync_to_async

    from tests.fixtures.sockets import connect, received, run
    from tests.test_dashboard_live import _watch

    client, user = signed_in([*OPERATOR, ALL])
    bulk = _duplicates(user, 1, copies=2)

    def retry() -> GroupRetry:
        Customer.objects.filter(email="customer1@example.com").delete()
        op = bulk.operations.filter(status=OperationStatus.NOT_RETRIABLY_FAILED).first()
        # Only the first of the two: the second would collide with it again.
        Operation.objects.filter(bulk=bulk, status=OperationStatus.NOT_RETRIABLY_FAILED).exclude(
            pk=op.pk
        ).update(result_message="another message")
        return retry_failure_group(
            user,
            topic=op.topic,
            error_code=op.error_code,
            message=op.result_message,
            since=timezone.now() - timedelta(hours=1),
        )

    async def scenario():
        pages = [await connect(client) for _ in range(3)]
        for page in pages:
            await _watch(page, page="failures")
        made = await database_sync_to_async(retry)()
        running = "".join(await received(pages[0], 1.5))
        await database_sync_to_async(_run_open)(bulk)
        settled = "".join(await received(pages[0], 2.5))
        others = ["".join(await received(p, 0.2)) for p in pages[1:]]
        for page in pages:
            await page.disconnect()
        return made, running, settled, others

    made, running, settled, others = run(scenario)
    assert f'data-retry-id="{made.pk}" data-state="running"' in running
    assert 'data-open="1"' in running
    assert f'data-retry-id="{made.pk}" data-state="settled"' in settled
    assert 'data-complete="1" data-failed="0" data-open="0"' in settled
    assert all(f'data-retry-id="{made.pk}"' in html for html in others)
