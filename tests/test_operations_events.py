"""Events: told after commit, never after a rollback, once per batch per bulk in a consumer."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from catalog.models import Customer
from operations import events
from operations.actions import (
    acknowledge_bulk,
    edit_operation,
    retry_failed,
    retry_operations,
    sweep_stuck,
)
from operations.models import Bulk, OperationStatus
from queues.consumer import ConsumerHook, ConsumerRuntime
from queues.models import QueueMessage
from tests.fixtures.operations import bulk_post, product_item

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PRODUCTS = "all/async/bulk/V1/products"
CUSTOMERS = "async/bulk/V1/customers"


class Recorder:
    """A receiver keeping every list of events it was given."""

    def __init__(self) -> None:
        self.calls: list[list[events.Event]] = []

    def __call__(self, batch: Sequence[events.Event]) -> None:
        self.calls.append(list(batch))

    @property
    def events(self) -> list[events.Event]:
        return [event for call in self.calls for event in call]

    def of(self, bulk: Bulk, kind: str | None = None) -> list[events.Event]:
        return [e for e in self.events if e.bulk_id == bulk.pk and (kind is None or e.kind == kind)]

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture
def received() -> Iterator[Recorder]:
    recorder = Recorder()
    events.subscribe(recorder)
    yield recorder
    events.unsubscribe(recorder)


def customer(email: str) -> dict:
    return {
        "customer": {"email": email, "firstname": "F", "lastname": "L"},
        "password": "Password1!x",
    }


@pytest.fixture
def failed_bulk(api, admin_token, db_ops_topology) -> Bulk:
    """A bulk of two operations, the second failed on a duplicate email."""
    _r, bulk = bulk_post(
        api, CUSTOMERS, [customer("e@example.com"), customer("e@example.com")], admin_token
    )
    db_ops_topology.run(max_messages=2)
    assert bulk.operations.get(index=1).status == OperationStatus.NOT_RETRIABLY_FAILED
    return bulk


def test_accepting_a_bulk_tells_it_once_with_its_owner(api, staff, received, db_ops_topology):
    owner, token = staff(["catalog.add_product", "catalog.change_product"])

    _r, bulk = bulk_post(api, PRODUCTS, [product_item("A1"), product_item("A2")], token)

    [accepted] = received.of(bulk)
    assert accepted.kind == "bulk.accepted"
    assert accepted.bulk_uuid == str(bulk.uuid)
    assert accepted.owner_id == owner.pk
    assert accepted.count == 1
    assert accepted.actor_id is None
    assert abs(accepted.at - timezone.now()) < timedelta(seconds=30)


def test_nothing_is_told_of_a_transaction_or_savepoint_that_rolled_back(
    failed_bulk, admin_user, received
):
    failed = failed_bulk.operations.get(index=1)
    received.clear()

    with transaction.atomic():
        retry_operations([failed.pk], admin_user)
        assert received.events == []  # not before the commit either
        transaction.set_rollback(True)
    with transaction.atomic():
        try:
            with transaction.atomic():
                retry_operations([failed.pk], admin_user)
                raise RuntimeError("undo the savepoint")
        except RuntimeError:
            pass

    assert received.events == []
    assert failed_bulk.operations.get(index=1).status == OperationStatus.NOT_RETRIABLY_FAILED


def test_a_retry_by_a_person_is_told_right_after_its_commit_naming_them(
    failed_bulk, admin_user, received
):
    received.clear()

    assert retry_failed(failed_bulk, admin_user) == 1

    [retried] = received.events  # delivered before the action returned
    assert retried.kind == "operations.retried"
    assert retried.bulk_id == failed_bulk.pk
    assert retried.count == 1
    assert retried.actor_id == admin_user.pk


def test_an_edit_is_told_with_its_retry_and_an_acknowledgement_once(
    api, admin_token, admin_user, received, db_ops_topology
):
    _r, bulk = bulk_post(api, PRODUCTS, [product_item("ED", price="x")], admin_token)
    received.clear()

    edit_operation(bulk.operations.get(), product_item("ED"), admin_user)
    assert [(e.kind, e.count, e.actor_id) for e in received.events] == [
        ("operation.edited", 1, admin_user.pk),
        ("operations.retried", 1, admin_user.pk),
    ]
    db_ops_topology.run(max_messages=1)
    received.clear()

    acknowledge_bulk(bulk, admin_user)
    acknowledge_bulk(bulk, admin_user)  # idempotent: told the first time only

    assert [(e.kind, e.actor_id) for e in received.events] == [("bulk.acknowledged", admin_user.pk)]


def test_the_sweeper_tells_how_many_operations_of_each_bulk_it_gave_up_on(
    api, admin_token, received, db_ops_topology
):
    _r, bulk = bulk_post(api, PRODUCTS, [product_item("W1"), product_item("W2")], admin_token)
    long_ago = timezone.now() - timedelta(hours=2)
    bulk.operations.update(opened_at=long_ago, started_at=long_ago)  # by a consumer now dead
    sweep_stuck()
    assert received.of(bulk, "operations.swept") == []  # republished: nothing changed yet

    bulk.operations.update(opened_at=long_ago)
    sweep_stuck()

    [swept] = received.of(bulk, "operations.swept")
    assert swept.count == 2 and swept.actor_id is None


class Batches(ConsumerHook):
    """Notes how many deliveries each received batch held, and the events told by the
    time the batch was done (hooks run in order: ConsumerEvents has flushed)."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.batches: list[tuple[int, list[events.Event]]] = []

    def before_process(self, runtime, deliveries) -> None:
        self.recorder.clear()
        self.size = len(deliveries)

    def after_process(self, runtime, outcome) -> None:
        self.batches.append((self.size, list(self.recorder.events)))


@pytest.mark.parametrize("batch_size", [1, 100])
def test_a_batch_of_operations_of_one_bulk_is_told_once_with_the_summed_count(
    api, admin_token, received, ops_topology, batch_size
):
    _r, bulk = bulk_post(
        api, PRODUCTS, [product_item(f"N{i:03d}") for i in range(100)], admin_token
    )
    probe = Batches(received)
    runtime = ConsumerRuntime(
        ops_topology.consumer,
        max_messages=100,
        max_idle_time=5,
        sleep=0.1,
        batch_size=batch_size,
        register=False,
        hooks=[probe],
    )

    assert runtime.run().processed == 100

    assert sum(size for size, _events in probe.batches) == 100
    for size, told in probe.batches:
        assert [(e.kind, e.bulk_id, e.count) for e in told] == [
            ("operations.started", bulk.pk, size),
            ("operations.completed", bulk.pk, size),
        ]
    if ops_topology.kind == "db":  # claims of 100: the whole bulk in one batch
        assert len(probe.batches) == 1


def test_a_batch_spanning_two_bulks_is_told_once_per_bulk_and_kind(
    api, admin_token, received, db_ops_topology
):
    _r, first = bulk_post(
        api, CUSTOMERS, [customer("x@example.com"), customer("x@example.com")], admin_token
    )
    _r, second = bulk_post(api, PRODUCTS, [product_item("T1"), product_item("T2")], admin_token)
    received.clear()

    db_ops_topology.run(max_messages=4, batch_size=10)

    assert len(received.calls) == 1  # the whole batch in one delivery
    assert {(e.kind, e.bulk_id, e.count) for e in received.events} == {
        ("operations.started", first.pk, 2),
        ("operations.completed", first.pk, 1),
        ("operations.failed", first.pk, 1),
        ("operations.started", second.pk, 2),
        ("operations.completed", second.pk, 2),
    }
    assert Customer.objects.count() == 1


def test_dead_lettered_operations_are_told_failed_through_the_consumer_hook(
    api, admin_token, received, db_ops_topology
):
    _r, bulk = bulk_post(api, PRODUCTS, [product_item("X1"), product_item("X2")], admin_token)
    # As if every earlier delivery had crashed its consumer: both are set aside.
    QueueMessage.objects.filter(queue=db_ops_topology.queue).update(trials=99)
    received.clear()

    assert db_ops_topology.run(max_messages=2).dead == 2

    [failed] = received.of(bulk)
    assert (failed.kind, failed.count) == ("operations.failed", 2)


def test_a_failing_receiver_breaks_neither_the_operation_nor_the_other_receivers(
    failed_bulk, admin_user, received, caplog
):
    def broken(batch: Sequence[events.Event]) -> None:
        raise RuntimeError("the dashboard is down")

    events.unsubscribe(received)
    events.subscribe(broken)
    events.subscribe(received)  # after the broken one
    received.clear()
    try:
        with caplog.at_level(logging.ERROR, logger="operations.events"):
            assert retry_failed(failed_bulk, admin_user) == 1
    finally:
        events.unsubscribe(broken)

    assert failed_bulk.operations.get(index=1).status == OperationStatus.OPEN
    assert [e.kind for e in received.events] == ["operations.retried"]
    [record] = [r for r in caplog.records if r.name == "operations.events"]
    assert record.exc_info is not None and "the dashboard is down" in str(record.exc_info[1])


def test_a_failing_receiver_does_not_stop_a_consumer_from_finishing_its_batch(
    api, admin_token, received, db_ops_topology
):
    def broken(batch: Sequence[events.Event]) -> None:
        raise RuntimeError("the dashboard is down")

    _r, bulk = bulk_post(api, PRODUCTS, [product_item("F1"), product_item("F2")], admin_token)
    events.subscribe(broken)
    try:
        result = db_ops_topology.run(max_messages=2)
    finally:
        events.unsubscribe(broken)

    assert (result.processed, result.failures) == (2, 0)
    assert db_ops_topology.waiting() == 0
    assert bulk.operations.filter(status=OperationStatus.COMPLETE).count() == 2
    assert [(e.kind, e.count) for e in received.of(bulk)][-1] == ("operations.completed", 2)


def test_subscribing_a_receiver_twice_calls_it_once(failed_bulk, admin_user, received):
    events.subscribe(received)
    received.clear()

    retry_failed(failed_bulk, admin_user)

    assert len(received.calls) == 1


def test_the_operations_consumer_declares_the_events_hook():
    from queues import registry

    consumer = registry.current().consumer("async.operations.all")
    assert "operations.events.ConsumerEvents" in consumer.hooks
