"""Running operations: idempotency, failure classification, retries, permissions at run time."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import OperationalError, connection, transaction

from catalog.models import Block, Customer, Product
from catalog.serializers.blocks import BlockRequest
from operations.actions import publish_rows
from operations.actions.running import UNEXPECTED_ERROR, clear_caches
from operations.models import Bulk, EventKind, OperationEvent, OperationStatus
from tests.fixtures.operations import bulk_post, product_item
from tests.fixtures.webapi import temporary_route
from webapi.exceptions import InputException
from webapi.routes import Route

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PRODUCTS = "all/async/bulk/V1/products"


class Flaky:
    """A service that raises `errors` one after the other, then writes a CMS block."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, ctx, params, data):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        block = Block.objects.create(identifier=f"flaky-{self.calls}", title="t", content="c")
        return {"id": block.pk}


def _flaky_route(service: Flaky, name: str) -> Route:
    return Route(
        method="POST",
        path=f"/V1/test-flaky-{name}",
        service=f"tests.flaky.{name}.save",
        call=service,
        permission="catalog.add_block",
        request=BlockRequest,
    )


BLOCK = {"block": {"identifier": "x", "title": "X", "content": "c"}}


def test_a_message_delivered_twice_applies_its_operation_once(api, admin_token, ops_topology):
    response, bulk = bulk_post(api, PRODUCTS, [product_item("TWICE")], admin_token)
    op = bulk.operations.get()
    # The same operation published again, as a relay or a sweeper might: a new message id.
    publish_rows([(op.pk, op.topic, op.store_id, str(bulk.uuid))])

    result = ops_topology.run(max_messages=2)

    assert result.processed == 2
    op.refresh_from_db()
    assert op.status == OperationStatus.COMPLETE
    assert op.attempts == 1
    assert Product.objects.filter(sku="TWICE").count() == 1
    assert OperationEvent.objects.filter(operation=op, kind=EventKind.COMPLETED).count() == 1


def test_running_records_started_and_completed_events_with_the_consumer(
    api, admin_token, db_ops_topology
):
    _response, bulk = bulk_post(api, PRODUCTS, [product_item("EV")], admin_token)
    db_ops_topology.run(max_messages=1)

    op = bulk.operations.get()
    kinds = list(op.events.order_by("id").values_list("kind", "consumer"))
    assert kinds == [
        ("accepted", ""),
        ("started", "async.operations.all"),
        ("completed", "async.operations.all"),
    ]
    assert op.started_at is not None and op.finished_at >= op.started_at
    assert op.serialized_data  # kept after success: the audit trail


def test_a_lock_held_by_another_connection_is_retried_until_it_is_released(
    api, admin_token, db_ops_topology, postgresql, settings
):
    settings.OPERATIONS = {
        **settings.OPERATIONS,
        "LOCK_TIMEOUT_MS": 300,
        "RETRY_BACKOFF_SECONDS": 0.2,
        "MAX_ATTEMPTS": 8,
    }
    api.post("all/V1/products", product_item("LOCKED"), token=admin_token)
    _response, bulk = bulk_post(
        api,
        "all/async/bulk/V1/products/bySku",
        [{"product": {"sku": "LOCKED", "name": "Renamed"}}],
        admin_token,
        method="PUT",
    )
    locked = threading.Event()

    def hold_the_row() -> None:
        try:
            with transaction.atomic():
                Product.objects.select_for_update().get(sku="LOCKED")
                locked.set()
                time.sleep(1.2)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert locked.wait(10)
    db_ops_topology.run(max_messages=1)
    holder.join()

    op = bulk.operations.get()
    assert op.status == OperationStatus.COMPLETE, op.result_message
    assert op.attempts > 1
    assert Product.objects.get(sku="LOCKED").name == "Renamed"


def test_a_transient_error_is_retried_in_process_until_it_succeeds(
    api, admin_token, db_ops_topology, settings
):
    settings.OPERATIONS = {**settings.OPERATIONS, "RETRY_BACKOFF_SECONDS": 0.01, "MAX_ATTEMPTS": 3}
    service = Flaky(OperationalError("database is locked"), OperationalError("deadlock detected"))
    with temporary_route(_flaky_route(service, "twice")):
        _response, bulk = bulk_post(api, "async/bulk/V1/test-flaky-twice", [BLOCK], admin_token)
        db_ops_topology.run(max_messages=1)

    op = bulk.operations.get()
    assert op.status == OperationStatus.COMPLETE
    assert op.attempts == 3
    assert service.calls == 3
    assert Block.objects.filter(identifier="flaky-3").exists()


def test_a_transient_error_that_never_clears_leaves_the_operation_retriably_failed(
    api, admin_token, db_ops_topology, settings
):
    settings.OPERATIONS = {**settings.OPERATIONS, "RETRY_BACKOFF_SECONDS": 0.01, "MAX_ATTEMPTS": 3}
    service = Flaky(*[OperationalError("database is locked") for _ in range(5)])
    with temporary_route(_flaky_route(service, "always")):
        _response, bulk = bulk_post(api, "async/bulk/V1/test-flaky-always", [BLOCK], admin_token)
        db_ops_topology.run(max_messages=1)

    op = bulk.operations.get()
    assert op.status == OperationStatus.RETRIABLY_FAILED
    assert op.attempts == 3
    assert "failed 3 times on a transient database error" in op.result_message
    assert "database is locked" in op.result_message
    assert service.calls == 3


def test_a_business_failure_rolls_back_what_the_service_wrote_and_keeps_its_message(
    api, admin_token, db_ops_topology
):
    def half_done(ctx, params, data):
        Block.objects.create(identifier="half", title="t", content="c")
        raise InputException('The "%1" block cannot be saved.', ["half"])

    route = Route(
        method="POST",
        path="/V1/test-half",
        service="tests.half.save",
        call=half_done,
        permission="catalog.add_block",
        request=BlockRequest,
    )
    with temporary_route(route):
        _response, bulk = bulk_post(api, "async/bulk/V1/test-half", [BLOCK], admin_token)
        db_ops_topology.run(max_messages=1)

    op = bulk.operations.get()
    assert op.status == OperationStatus.NOT_RETRIABLY_FAILED
    assert op.result_message == 'The "half" block cannot be saved.'
    assert op.error_code == InputException.code
    assert not Block.objects.filter(identifier="half").exists()


def test_an_unexpected_error_fails_the_operation_with_a_generic_message(
    api, admin_token, db_ops_topology
):
    service = Flaky(ValueError("a bug"))
    with temporary_route(_flaky_route(service, "bug")):
        _response, bulk = bulk_post(api, "async/bulk/V1/test-flaky-bug", [BLOCK], admin_token)
        db_ops_topology.run(max_messages=1)

    op = bulk.operations.get()
    assert op.status == OperationStatus.NOT_RETRIABLY_FAILED
    assert op.result_message == UNEXPECTED_ERROR
    assert op.error_code == 0
    assert "a bug" not in op.result_message


def test_the_owners_permission_is_checked_again_when_the_operation_runs(
    api, staff, db_ops_topology
):
    user, token = staff(["catalog.add_product", "catalog.change_product"])
    _response, bulk = bulk_post(api, PRODUCTS, [product_item("REVOKED")], token)
    user.user_permissions.clear()
    clear_caches()

    db_ops_topology.run(max_messages=1)

    op = bulk.operations.get()
    assert op.status == OperationStatus.NOT_RETRIABLY_FAILED
    assert op.result_message.startswith("The consumer isn't authorized to access")
    assert not Product.objects.filter(sku="REVOKED").exists()


def test_an_operation_whose_owner_was_deactivated_does_not_run(api, staff, db_ops_topology):
    user, token = staff(["catalog.add_product", "catalog.change_product"])
    _response, bulk = bulk_post(api, PRODUCTS, [product_item("GONE")], token)
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    clear_caches()

    db_ops_topology.run(max_messages=1)

    assert bulk.operations.get().status == OperationStatus.NOT_RETRIABLY_FAILED
    assert not Product.objects.filter(sku="GONE").exists()


def test_a_batch_of_messages_runs_in_one_handler_call(api, admin_token, ops_topology):
    items = [product_item(f"B{i:03d}") for i in range(30)]
    _response, bulk = bulk_post(api, PRODUCTS, items, admin_token)

    ops_topology.run(max_messages=30, batch_size=10)

    assert bulk.operations.filter(status=OperationStatus.COMPLETE).count() == 30
    assert Product.objects.filter(sku__startswith="B").count() == 30
    assert (
        OperationEvent.objects.filter(operation__bulk=bulk, kind=EventKind.COMPLETED).count() == 30
    )


def test_a_message_for_a_deleted_bulk_is_acknowledged_and_dropped(
    api, admin_token, db_ops_topology
):
    _response, bulk = bulk_post(api, PRODUCTS, [product_item("DELETED")], admin_token)
    Bulk.objects.filter(pk=bulk.pk).delete()

    result = db_ops_topology.run(max_messages=1)

    assert result.processed == 1 and result.failures == 0
    assert db_ops_topology.waiting() == 0
    assert not Product.objects.filter(sku="DELETED").exists()


def test_a_failure_inside_a_batch_fails_only_its_own_operation(api, admin_token, ops_topology):
    def customer(n: int, email: str) -> dict:
        return {
            "customer": {"email": email, "firstname": f"F{n}", "lastname": "L"},
            "password": "Password1!x",
        }

    items = [
        customer(0, "a@example.com"),
        customer(1, "b@example.com"),
        customer(2, "a@example.com"),
    ]
    items += [customer(3, "c@example.com"), customer(4, "d@example.com")]
    _response, bulk = bulk_post(api, "async/bulk/V1/customers", items, admin_token)

    ops_topology.run(max_messages=5, batch_size=10)

    assert list(bulk.operations.order_by("index").values_list("status", flat=True)) == [
        1,
        1,
        3,
        1,
        1,
    ]
    assert Customer.objects.count() == 4
    assert list(bulk.operations.order_by("index").values_list("attempts", flat=True)) == [
        1,
        1,
        1,
        1,
        1,
    ]


def test_two_consumers_racing_for_one_operation_apply_it_once(
    api, admin_token, db_ops_topology, postgresql
):
    """Two messages of one operation (a relay's republish) taken by two consumers at
    the same moment: the second waits on the row lock, then finds it complete."""
    from operations.actions import execute_operations

    started = threading.Event()

    class Slow(Flaky):
        def __call__(self, ctx, params, data):
            started.set()
            time.sleep(0.5)
            return super().__call__(ctx, params, data)

    service = Slow()
    errors: list[BaseException] = []

    def consume(pk: int) -> None:
        try:
            execute_operations([pk], consumer=threading.current_thread().name)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    with temporary_route(_flaky_route(service, "race")):
        _response, bulk = bulk_post(api, "async/bulk/V1/test-flaky-race", [BLOCK], admin_token)
        op = bulk.operations.get()
        first = threading.Thread(target=consume, args=(op.pk,), name="first")
        second = threading.Thread(target=consume, args=(op.pk,), name="second")
        first.start()
        assert started.wait(10)
        second.start()
        first.join(10)
        second.join(10)

    assert errors == []
    assert service.calls == 1
    op.refresh_from_db()
    assert op.status == OperationStatus.COMPLETE and op.attempts == 1
    assert Block.objects.filter(identifier__startswith="flaky-").count() == 1
    assert list(op.events.filter(kind=EventKind.STARTED).values_list("consumer", flat=True)) == [
        "first"
    ]


def test_a_failure_message_holding_a_nul_character_is_still_recorded(
    api, admin_token, db_ops_topology
):
    service = Flaky(InputException('The block "%1" is wrong.', ["a\x00b"]))
    with temporary_route(_flaky_route(service, "nul")):
        _response, bulk = bulk_post(api, "async/bulk/V1/test-flaky-nul", [BLOCK], admin_token)
        db_ops_topology.run(max_messages=1)

    op = bulk.operations.get()
    assert op.status == OperationStatus.NOT_RETRIABLY_FAILED
    assert op.result_message == 'The block "a\ufffdb" is wrong.'


def test_an_operation_whose_message_is_dead_lettered_is_left_retriably_failed(
    api, admin_token, db_ops_topology
):
    from queues.models import QueueMessage

    _response, bulk = bulk_post(api, PRODUCTS, [product_item("ASIDE")], admin_token)
    # As if every earlier delivery had crashed its consumer: the next one is set aside.
    QueueMessage.objects.filter(queue=db_ops_topology.queue).update(trials=99)

    result = db_ops_topology.run(max_messages=1)

    assert result.dead == 1
    op = bulk.operations.get()
    assert op.status == OperationStatus.RETRIABLY_FAILED
    assert "set aside (gave up after 99 trials)" in op.result_message
    assert not Product.objects.filter(sku="ASIDE").exists()
    assert op.events.filter(kind=EventKind.FAILED).count() == 1
    summary = api.get(f"V1/bulk/{bulk.uuid}/status", token=admin_token).json()
    assert summary["operations_list"][0]["status"] == OperationStatus.RETRIABLY_FAILED


def test_an_operation_sent_back_from_the_dead_letters_is_retried_once_with_who(
    api, admin_token, db_ops_topology
):
    from queues import dead_letters
    from queues.models import OperatorAction, QueueMessage

    _response, bulk = bulk_post(api, PRODUCTS, [product_item("BACK")], admin_token)
    QueueMessage.objects.filter(queue=db_ops_topology.queue).update(trials=99)
    db_ops_topology.run(max_messages=1)
    assert dead_letters.count(db_ops_topology.queue) == 1

    result = dead_letters.requeue(db_ops_topology.queue, None, actor="ops-alice")

    # The operation is retried (published afresh) and its dead copy is gone: sending
    # the same dead letters back again has nothing left to do.
    assert (result.done, result.remaining) == (1, 0)
    assert dead_letters.count(db_ops_topology.queue) == 0
    assert dead_letters.requeue(db_ops_topology.queue, None, actor="ops-alice").done == 0
    op = bulk.operations.get()
    assert op.status == OperationStatus.OPEN
    retried = op.events.get(kind=EventKind.RETRIED)
    assert retried.message == "Sent back from the dead letters by ops-alice."
    action = OperatorAction.objects.get()
    assert (action.kind, action.actor, action.count) == ("requeue", "ops-alice", 1)

    db_ops_topology.run(max_messages=1)

    op.refresh_from_db()
    assert op.status == OperationStatus.COMPLETE
    assert Product.objects.filter(sku="BACK").count() == 1
