"""Bulk counters: stored on the bulk row, kept true by every status change, checked for drift.

Every test of the suite also ends with a drift check (tests/conftest.py), so the
scenarios here assert the numbers a dashboard shows; the check catches the rest.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Block, Customer
from catalog.serializers.blocks import BlockRequest
from operations.actions import cleanup as cleanup_module
from operations.actions import (
    delete_old_bulks,
    edit_operation,
    execute_operations,
    recount_bulks,
    retry_failed,
    sweep_stuck,
)
from operations.models import (
    COUNTER_FIELDS,
    Bulk,
    BulkStatus,
    Operation,
    OperationStatus,
    summary_status,
)
from queues.models import QueueMessage
from tests.fixtures.operations import bulk_post, product_item
from tests.fixtures.queues import subprocess_env
from tests.fixtures.webapi import temporary_route
from webapi.routes import Route

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PRODUCTS = "all/async/bulk/V1/products"
CUSTOMERS = "async/bulk/V1/customers"
BULK_TABLE = Bulk._meta.db_table
OPERATION_TABLE = Operation._meta.db_table


def customer(email: str) -> dict:
    return {
        "customer": {"email": email, "firstname": "F", "lastname": "L"},
        "password": "Password1!x",
    }


def fresh(bulk: Bulk) -> Bulk:
    return Bulk.objects.get(pk=bulk.pk)


def test_an_accepted_bulk_is_counted_with_its_rejected_items_when_it_is_written(
    api, admin_token, db_ops_topology
):
    items = [product_item("C1"), product_item("C2", price="x"), product_item("C3")]
    _response, bulk = bulk_post(api, PRODUCTS, items, admin_token)

    assert bulk.counts() == {OperationStatus.OPEN: 2, OperationStatus.REJECTED: 1}
    assert bulk.open_count == 2 and bulk.rejected_count == 1 and bulk.complete_count == 0
    assert bulk.topic == "async.catalog.services.productrepository.save.post"
    assert bulk.changed_at == bulk.created
    assert bulk.started_at is None
    assert bulk.done_count == 1
    assert bulk.summary_status == BulkStatus.NOT_STARTED


@pytest.mark.parametrize("batch_size", [1, 10])
def test_running_counts_completed_and_failed_operations_in_either_processing_mode(
    api, admin_token, ops_topology, batch_size
):
    items = [customer("a@example.com"), customer("b@example.com"), customer("a@example.com")]
    _response, bulk = bulk_post(api, CUSTOMERS, items, admin_token)

    ops_topology.run(max_messages=3, batch_size=batch_size)

    ran = fresh(bulk)
    assert Customer.objects.count() == 2
    assert ran.counts() == {OperationStatus.COMPLETE: 2, OperationStatus.NOT_RETRIABLY_FAILED: 1}
    assert ran.started_at is not None and ran.started_at >= bulk.created
    assert ran.changed_at > bulk.changed_at
    assert ran.done_count == 3
    assert ran.summary_status == BulkStatus.FINISHED_WITH_FAILURE


def test_a_batch_costs_one_counter_update_per_bulk_not_one_per_operation(
    api, admin_token, db_ops_topology
):
    _r, first = bulk_post(api, PRODUCTS, [product_item(f"U{i}") for i in range(20)], admin_token)
    _r, second = bulk_post(api, PRODUCTS, [product_item(f"V{i}") for i in range(5)], admin_token)
    ids = list(Operation.objects.filter(bulk__in=[first, second]).values_list("pk", flat=True))

    with CaptureQueriesContext(connection) as queries:
        execute_operations(ids)

    bulk_updates = [q["sql"] for q in queries if q["sql"].startswith(f'UPDATE "{BULK_TABLE}"')]
    assert len(bulk_updates) == 2
    assert fresh(first).counts() == {OperationStatus.COMPLETE: 20}
    assert fresh(second).counts() == {OperationStatus.COMPLETE: 5}


def test_a_dead_lettered_operation_is_counted_retriably_failed(api, admin_token, db_ops_topology):
    _r, bulk = bulk_post(api, PRODUCTS, [product_item("DL1"), product_item("DL2")], admin_token)
    QueueMessage.objects.filter(queue=db_ops_topology.queue).update(trials=99)

    result = db_ops_topology.run(max_messages=2)

    assert result.dead == 2
    assert fresh(bulk).counts() == {OperationStatus.RETRIABLY_FAILED: 2}
    assert fresh(bulk).summary_status == BulkStatus.FINISHED_WITH_FAILURE


def test_a_retry_moves_each_operation_from_its_old_status_back_to_open(
    api, admin_token, admin_user, db_ops_topology
):
    items = [customer("r@example.com"), customer("r@example.com"), customer("s@example.com")]
    items.append({"customer": {"email": "not an email"}})
    _r, bulk = bulk_post(api, CUSTOMERS, items, admin_token)
    db_ops_topology.run(max_messages=3)
    assert fresh(bulk).counts() == {1: 2, 3: 1, 5: 1}

    assert retry_failed(bulk, admin_user) == 1

    retried = fresh(bulk)
    assert retried.counts() == {1: 2, 4: 1, 5: 1}
    assert retried.summary_status == BulkStatus.IN_PROGRESS  # it ran before: not "not started"

    Customer.objects.filter(email="r@example.com").delete()
    db_ops_topology.run(max_messages=1)
    assert fresh(bulk).counts() == {1: 3, 5: 1}


def test_an_edit_moves_a_rejected_operation_to_open_then_to_complete(
    api, admin_token, admin_user, db_ops_topology
):
    _r, bulk = bulk_post(api, PRODUCTS, [product_item("E1", price="x")], admin_token)
    assert bulk.counts() == {OperationStatus.REJECTED: 1}

    edit_operation(bulk.operations.get(), product_item("E1"), admin_user)
    assert fresh(bulk).counts() == {OperationStatus.OPEN: 1}

    db_ops_topology.run(max_messages=1)
    assert fresh(bulk).counts() == {OperationStatus.COMPLETE: 1}


def test_the_sweeper_counts_the_operations_it_gives_up_on(api, admin_token, db_ops_topology):
    _r, bulk = bulk_post(api, PRODUCTS, [product_item("S1"), product_item("S2")], admin_token)
    long_ago = timezone.now() - timedelta(hours=2)
    bulk.operations.update(opened_at=long_ago, started_at=long_ago)  # by a consumer now dead
    sweep_stuck()  # published again once: still open
    assert fresh(bulk).counts() == {OperationStatus.OPEN: 2}

    bulk.operations.update(opened_at=long_ago)
    assert sweep_stuck()["failed"] == 2

    assert fresh(bulk).counts() == {OperationStatus.RETRIABLY_FAILED: 2}


def test_an_interrupted_clean_up_leaves_the_counters_of_the_operations_it_kept(
    api, admin_token, db_ops_topology, monkeypatch
):
    items = [product_item(f"OLD{i}") for i in range(4)] + [product_item("BAD", price="x")]
    _r, old = bulk_post(api, PRODUCTS, items, admin_token)
    _r, young = bulk_post(api, PRODUCTS, [product_item("YOUNG")], admin_token)
    Bulk.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=61))
    batches: list[int] = []
    record = cleanup_module.record_transitions

    def killed_after_two_batches(transitions):
        if len(batches) == 2:
            raise RuntimeError("the clean-up was killed")
        transitions = list(transitions)
        batches.append(len(transitions))
        return record(transitions)

    monkeypatch.setattr(cleanup_module, "record_transitions", killed_after_two_batches)
    with pytest.raises(RuntimeError):
        delete_old_bulks(batch_size=2)

    kept = fresh(old)
    assert batches == [2, 2]
    remaining = kept.operations.get()  # the third batch rolled back with its count
    assert kept.counts() == {remaining.status: 1}
    assert fresh(young).counts() == {OperationStatus.OPEN: 1}

    monkeypatch.setattr(cleanup_module, "record_transitions", record)
    assert delete_old_bulks() == 1
    assert list(Bulk.objects.values_list("pk", flat=True)) == [young.pk]


def _slow_route(barrier: threading.Barrier) -> Route:
    """A route whose first call in each thread waits for the other thread's first call:
    both consumers' transactions are open at once before either counts anything."""
    waited = threading.local()

    def save(ctx, params, data):
        if not getattr(waited, "done", False):
            waited.done = True
            barrier.wait(timeout=20)
        block = Block.objects.create(identifier=data["block"]["identifier"], title="t", content="c")
        return {"id": block.pk}

    return Route(
        method="POST",
        path="/V1/test-counted",
        service="tests.counted.save",
        call=save,
        permission="catalog.add_block",
        request=BlockRequest,
    )


def test_two_consumers_counting_one_bulk_at_once_on_postgresql_lose_nothing(
    api, admin_token, db_ops_topology, postgresql
):
    from queues.consumer import ConsumerRuntime

    barrier = threading.Barrier(2)
    items = [{"block": {"identifier": f"two-{i}", "title": "t", "content": "c"}} for i in range(40)]
    results: list = []
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            runtime = ConsumerRuntime(
                db_ops_topology.consumer,
                max_messages=20,
                max_idle_time=5,
                sleep=0.05,
                batch_size=10,
                register=False,
            )
            results.append(runtime.run())
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    with temporary_route(_slow_route(barrier)):
        _r, bulk = bulk_post(api, "async/bulk/V1/test-counted", items, admin_token)
        threads = [threading.Thread(target=consume) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

    assert errors == []
    assert not barrier.broken, "the two consumers never ran at the same time"
    assert sorted(r.processed for r in results) == [20, 20]
    assert Block.objects.filter(identifier__startswith="two-").count() == 40
    assert fresh(bulk).counts() == {OperationStatus.COMPLETE: 40}
    assert recount_bulks(fix=False) == []


@pytest.mark.parametrize(
    ("counts", "started"),
    [
        ({}, False),
        ({4: 3}, False),
        ({4: 2, 5: 1}, False),
        ({4: 2, 5: 1}, True),
        ({4: 1, 1: 2}, False),
        ({4: 1, 3: 2}, True),
        ({1: 3}, True),
        ({1: 2, 2: 1}, True),
        ({5: 2}, False),
        ({3: 1}, True),
    ],
)
def test_bulks_filtered_by_summary_status_in_sql_match_the_summary_status(counts, started):
    with transaction.atomic():
        bulk = Bulk.objects.create(
            created=timezone.now(),
            started_at=timezone.now() if started else None,
            **{COUNTER_FIELDS[status]: n for status, n in counts.items()},
        )
        expected = summary_status(counts, ever_started=started)
        found = [
            status
            for status in BulkStatus.values
            if Bulk.objects.with_summary_status(status).filter(pk=bulk.pk).exists()
        ]
        assert found == [expected]
        assert bulk.summary_status == expected
        transaction.set_rollback(True)  # counters without operations: not left behind


@pytest.mark.parametrize("endpoint", ["status", "detailed-status", "operation-status/4"])
def test_the_status_routes_never_aggregate_over_operations(
    api, admin_token, db_ops_topology, endpoint
):
    _r, bulk = bulk_post(api, PRODUCTS, [product_item(f"Q{i}") for i in range(5)], admin_token)

    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"V1/bulk/{bulk.uuid}/{endpoint}", token=admin_token)

    assert response.status_code == 200
    over_operations = [q["sql"] for q in queries if f'"{OPERATION_TABLE}"' in q["sql"]]
    aggregates = [
        sql
        for sql in over_operations
        if any(w in sql.upper() for w in ("COUNT(", "GROUP BY", "MAX("))
    ]
    assert aggregates == []


def test_recount_finds_and_fixes_a_drift_introduced_by_hand(api, admin_token, db_ops_topology):
    _r, bulk = bulk_post(api, PRODUCTS, [product_item("D1"), product_item("D2")], admin_token)
    _r, fine = bulk_post(api, PRODUCTS, [product_item("D3")], admin_token)
    Bulk.objects.filter(pk=bulk.pk).update(open_count=5, complete_count=1)
    out = StringIO()

    call_command("operations_recount", stdout=out)

    assert out.getvalue().splitlines() == [
        f"bulk {bulk.uuid}: stored 1:1 2:0 3:0 4:5 5:0, actual 1:0 2:0 3:0 4:2 5:0",
        "Fixed the counters of 1 bulk(s).",
    ]
    assert fresh(bulk).counts() == {OperationStatus.OPEN: 2}
    assert fresh(fine).counts() == {OperationStatus.OPEN: 1}
    assert recount_bulks(fix=False) == []


def test_recount_check_changes_nothing_and_exits_non_zero_on_a_drift(
    api, admin_token, db_ops_topology, manage_py
):
    _r, bulk = bulk_post(api, PRODUCTS, [product_item("K1")], admin_token)
    env = subprocess_env()
    assert manage_py.run("operations_recount", "--check", env=env).returncode == 0
    Bulk.objects.filter(pk=bulk.pk).update(rejected_count=1)

    checked = manage_py.run("operations_recount", "--check", env=env)

    assert checked.returncode != 0
    assert f"bulk {bulk.uuid}: stored 1:0 2:0 3:0 4:1 5:1" in checked.stdout
    assert fresh(bulk).rejected_count == 1  # --check fixed nothing
    with pytest.raises(CommandError, match="1 bulk"):
        call_command("operations_recount", "--check", stdout=StringIO())
    recount_bulks()  # put right, or the suite's check after this test would fail it
    assert fresh(bulk).rejected_count == 0


def test_a_counter_changed_by_hand_never_stops_operations_from_running(
    api, admin_token, db_ops_topology
):
    _r, bulk = bulk_post(api, PRODUCTS, [product_item("H1"), product_item("H2")], admin_token)
    Bulk.objects.filter(pk=bulk.pk).update(open_count=0)  # as if someone had "fixed" it

    assert db_ops_topology.run(max_messages=2).processed == 2

    assert bulk.operations.filter(status=OperationStatus.COMPLETE).count() == 2
    assert fresh(bulk).counts() == {OperationStatus.COMPLETE: 2}  # open stayed at 0
    assert [d.bulk_uuid for d in recount_bulks(fix=False)] == []
