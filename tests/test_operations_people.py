"""What staff do: retry one, a set, all failures, by error code; edit and retry; acknowledge."""

from __future__ import annotations

import json

import pytest

from catalog.models import Block, Customer
from catalog.serializers.blocks import BlockRequest
from operations.actions import (
    acknowledge_bulk,
    edit_operation,
    retry_by_error_code,
    retry_failed,
    retry_operation,
    retry_operations,
)
from operations.exceptions import (
    ActionNotPermitted,
    BulkNotFound,
    InvalidOperationData,
    OperationNotFound,
    OperationNotRetriable,
    OperationsError,
)
from operations.items import deserialize_item
from operations.models import BulkAcknowledgement, EventKind, OperationStatus
from tests.fixtures.operations import bulk_post, product_item
from tests.fixtures.webapi import temporary_route
from webapi.exceptions import InputException, NoSuchEntityException
from webapi.routes import Route

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CUSTOMER = {
    "customer": {"email": "retry@example.com", "firstname": "R", "lastname": "T"},
    "password": "Password1!x",
}
BLOCK = {"block": {"identifier": "x", "title": "X", "content": "c"}}
RETRIER = ["operations.retry_operations", "operations.view_bulk"]


@pytest.fixture
def failed_customer(api, admin_token, admin_user, ops_topology):
    """A bulk whose second operation failed on a duplicate email; return (bulk, failed op)."""
    _response, bulk = bulk_post(api, "async/bulk/V1/customers", [CUSTOMER, CUSTOMER], admin_token)
    ops_topology.run(max_messages=2)
    failed = bulk.operations.get(index=1)
    assert failed.status == OperationStatus.NOT_RETRIABLY_FAILED
    return bulk, failed


class Outcomes:
    """A service whose outcome each item chooses:
    `{"block": {"identifier": "ok" | "input" | "missing"}}`."""

    def __call__(self, ctx, params, data):
        kind = data["block"]["identifier"]
        if kind == "input":
            raise InputException("Input is wrong.")
        if kind == "missing":
            raise NoSuchEntityException("Something is missing.")
        return {
            "id": Block.objects.create(
                identifier=f"ok-{Block.objects.count()}", title="t", content="c"
            ).pk
        }


@pytest.fixture
def mixed_bulk(api, admin_token, db_ops_topology):
    """A bulk with operations complete (0), failed with code 2 (1, 2), failed with code 4
    (3), rejected (4)."""
    route = Route(
        method="POST",
        path="/V1/test-outcomes",
        service="tests.outcomes.save",
        call=Outcomes(),
        permission="catalog.add_block",
        request=BlockRequest,
    )
    items = [
        {"block": {"identifier": kind, "title": "t", "content": "c"}}
        for kind in ("ok", "input", "input", "missing")
    ] + [{"block": {"title": "no identifier", "active": "maybe"}}]
    with temporary_route(route):
        _response, bulk = bulk_post(api, "async/bulk/V1/test-outcomes", items, admin_token)
        db_ops_topology.run(max_messages=4)
        yield bulk


def _statuses(bulk) -> list[int]:
    return list(bulk.operations.order_by("index").values_list("status", flat=True))


def test_a_retried_operation_reopens_in_place_and_runs_again(
    failed_customer, admin_user, ops_topology
):
    bulk, failed = failed_customer
    Customer.objects.filter(email="retry@example.com").delete()  # the cause, fixed

    reopened = retry_operation(failed, admin_user)

    assert reopened.pk == failed.pk and reopened.bulk_id == bulk.pk
    assert reopened.status == OperationStatus.OPEN
    assert reopened.attempts == 1
    assert reopened.result_message == "" and reopened.error_code is None
    event = reopened.events.filter(kind=EventKind.RETRIED).get()
    assert event.actor == admin_user
    assert bulk.operations.count() == 2

    ops_topology.run(max_messages=1)

    reopened.refresh_from_db()
    assert reopened.status == OperationStatus.COMPLETE
    assert reopened.attempts == 2
    assert reopened.published


@pytest.mark.parametrize("index", [0, 1])
def test_open_and_complete_operations_cannot_be_retried(
    mixed_bulk, admin_user, index, api, admin_token
):
    if index == 1:
        _r, other = bulk_post(api, "async/bulk/V1/cmsBlock", [BLOCK], admin_token)
        op = other.operations.get()  # open: nobody ran it
    else:
        op = mixed_bulk.operations.get(index=0)  # complete
    before = list(op.events.values_list("kind", flat=True))

    with pytest.raises(
        OperationNotRetriable, match="only failed or rejected operations can be retried"
    ):
        retry_operation(op, admin_user)

    op.refresh_from_db()
    assert op.status in (OperationStatus.OPEN, OperationStatus.COMPLETE)
    assert list(op.events.values_list("kind", flat=True)) == before


def test_retrying_needs_the_retry_permission(mixed_bulk, staff):
    user, _token = staff(["operations.view_bulk", "operations.view_all_bulks"])
    with pytest.raises(ActionNotPermitted):
        retry_operation(mixed_bulk.operations.get(index=1), user)
    assert mixed_bulk.operations.get(index=1).status == OperationStatus.NOT_RETRIABLY_FAILED


def test_someone_elses_operation_cannot_be_retried_without_seeing_all_bulks(mixed_bulk, staff):
    user, _token = staff(RETRIER)
    with pytest.raises(OperationNotFound):
        retry_operation(mixed_bulk.operations.get(index=1), user)
    with pytest.raises(BulkNotFound):
        retry_failed(mixed_bulk, user)
    with pytest.raises(BulkNotFound):
        retry_by_error_code(mixed_bulk, InputException.code, user)
    assert _statuses(mixed_bulk) == [1, 3, 3, 3, 5]
    auditor, _token = staff([*RETRIER, "operations.view_all_bulks"])
    assert (
        retry_operation(mixed_bulk.operations.get(index=1), auditor).status == OperationStatus.OPEN
    )


def test_a_chosen_set_is_retried_all_or_nothing(mixed_bulk, admin_user):
    ops = {op.index: op.pk for op in mixed_bulk.operations.all()}

    with pytest.raises(OperationNotRetriable):
        retry_operations([ops[1], ops[0]], admin_user)
    assert _statuses(mixed_bulk) == [1, 3, 3, 3, 5]

    assert retry_operations([ops[1], ops[3]], admin_user) == 2
    assert _statuses(mixed_bulk) == [1, 4, 3, 4, 5]


def test_retry_failed_reopens_every_failed_operation_and_nothing_else(
    mixed_bulk, admin_user, db_ops_topology
):
    assert retry_failed(mixed_bulk, admin_user) == 3
    assert _statuses(mixed_bulk) == [1, 4, 4, 4, 5]

    db_ops_topology.run(max_messages=3)

    assert _statuses(mixed_bulk) == [1, 3, 3, 3, 5]  # the same causes fail them again
    assert mixed_bulk.operations.get(index=1).attempts == 2


def test_retry_by_error_code_reopens_only_that_group(mixed_bulk, admin_user):
    assert retry_by_error_code(mixed_bulk, NoSuchEntityException.code, admin_user) == 1
    assert _statuses(mixed_bulk) == [1, 3, 3, 4, 5]
    assert retry_by_error_code(mixed_bulk, 999, admin_user) == 0


def test_an_edited_operation_keeps_the_old_payload_in_its_history_and_runs_again(
    mixed_bulk, admin_user, db_ops_topology
):
    rejected = mixed_bulk.operations.get(index=4)
    old_data = rejected.serialized_data
    new_item = {"block": {"identifier": "ok", "title": "Fixed", "content": "c"}}

    edited = edit_operation(rejected, new_item, admin_user)

    assert edited.status == OperationStatus.OPEN
    assert deserialize_item(edited.serialized_data) == new_item
    kinds = list(edited.events.order_by("id").values_list("kind", flat=True))
    assert kinds[-2:] == [EventKind.EDITED, EventKind.RETRIED]
    assert edited.events.get(kind=EventKind.EDITED).message == old_data

    db_ops_topology.run(max_messages=1)

    edited.refresh_from_db()
    assert edited.status == OperationStatus.COMPLETE
    assert json.loads(edited.result_serialized_data)["id"] > 0


def test_an_edit_that_fails_validation_changes_nothing(mixed_bulk, admin_user):
    op = mixed_bulk.operations.get(index=1)
    before = op.serialized_data

    with pytest.raises(InvalidOperationData, match="maybe"):
        edit_operation(
            op, {"block": {"identifier": "x", "title": "t", "active": "maybe"}}, admin_user
        )

    op.refresh_from_db()
    assert op.serialized_data == before
    assert op.status == OperationStatus.NOT_RETRIABLY_FAILED
    assert not op.events.filter(kind=EventKind.EDITED).exists()


def test_editing_needs_the_edit_permission(mixed_bulk, staff):
    user, _token = staff([*RETRIER, "operations.view_all_bulks"])
    with pytest.raises(ActionNotPermitted):
        edit_operation(mixed_bulk.operations.get(index=4), BLOCK, user)


def test_an_editor_needs_the_routes_own_permission_since_the_payload_runs_as_the_owner(
    mixed_bulk, staff
):
    editor = [*RETRIER, "operations.view_all_bulks", "operations.edit_operations"]
    user, _token = staff(editor)
    op = mixed_bulk.operations.get(index=4)
    with pytest.raises(ActionNotPermitted, match="catalog.add_block"):
        edit_operation(op, BLOCK, user)
    assert not op.events.filter(kind=EventKind.EDITED).exists()

    allowed, _token = staff([*editor, "catalog.add_block"])
    assert edit_operation(op, BLOCK, allowed).status == OperationStatus.OPEN


def test_an_edit_of_a_bulk_item_keeps_its_url_parameters(
    api, admin_token, admin_user, db_ops_topology
):
    _r, bulk = bulk_post(
        api,
        "async/bulk/V1/cmsBlock/byBlockId",
        [{"blockId": 999999, "block": {"title": "gone"}}],
        admin_token,
        method="PUT",
    )
    db_ops_topology.run(max_messages=1)
    op = bulk.operations.get()
    assert op.status == OperationStatus.NOT_RETRIABLY_FAILED

    block = api.post(
        "V1/cmsBlock",
        {"block": {"identifier": "here", "title": "Here", "content": "c"}},
        token=admin_token,
    ).json()
    edit_operation(op, {"blockId": block["id"], "block": {"title": "Edited"}}, admin_user)
    db_ops_topology.run(max_messages=1)

    op.refresh_from_db()
    assert op.status == OperationStatus.COMPLETE, op.result_message
    assert Block.objects.get(pk=block["id"]).title == "Edited"


def test_a_finished_bulk_can_be_acknowledged_once_per_user(mixed_bulk, admin_user):
    ack = acknowledge_bulk(mixed_bulk, admin_user)
    again = acknowledge_bulk(mixed_bulk, admin_user)
    assert ack.pk == again.pk
    assert BulkAcknowledgement.objects.filter(bulk=mixed_bulk).count() == 1


def test_a_bulk_in_progress_cannot_be_acknowledged(api, admin_token, admin_user, db_ops_topology):
    _r, bulk = bulk_post(api, "async/bulk/V1/products", [product_item("ACK")], admin_token)
    with pytest.raises(OperationsError, match="still in progress"):
        acknowledge_bulk(bulk, admin_user)
    assert not BulkAcknowledgement.objects.exists()


def test_acknowledging_needs_the_permission_and_a_visible_bulk(mixed_bulk, staff):
    nobody, _token = staff(["operations.view_bulk"])
    with pytest.raises(ActionNotPermitted):
        acknowledge_bulk(mixed_bulk, nobody)
    stranger, _token = staff(["operations.view_bulk", "operations.acknowledge_bulks"])
    with pytest.raises(BulkNotFound):
        acknowledge_bulk(mixed_bulk, stranger)
    assert not BulkAcknowledgement.objects.exists()
