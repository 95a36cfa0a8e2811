"""The bulk status API: Magento's shapes, owner scoping, counts, search, the summary status."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from operations.actions import execute_operations
from operations.models import BulkStatus, OperationStatus
from operations.status import bulk_summary_status, status_counts, summaries, summary_status
from tests.fixtures.operations import bulk_post, product_item
from webapi import actions as rest_actions

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PRODUCTS = "all/async/bulk/V1/products"
WRITER = ["catalog.add_product", "catalog.change_product", "operations.view_bulk"]


@pytest.fixture
def owned_bulk(api, staff, db_ops_topology):
    owner, token = staff(WRITER)
    _response, bulk = bulk_post(
        api, PRODUCTS, [product_item("O1"), product_item("O2", price="x")], token
    )
    return owner, token, bulk


@pytest.mark.parametrize("endpoint", ["status", "detailed-status", "operation-status/4"])
def test_a_bulk_is_visible_to_its_owner_and_a_404_to_anyone_else(api, staff, owned_bulk, endpoint):
    _owner, owner_token, bulk = owned_bulk
    _other, other_token = staff(["operations.view_bulk"])
    _auditor, auditor_token = staff(["operations.view_bulk", "operations.view_all_bulks"])
    url = f"V1/bulk/{bulk.uuid}/{endpoint}"

    assert api.get(url, token=owner_token).status_code == 200
    hidden = api.get(url, token=other_token)
    assert hidden.status_code == 404
    assert hidden.json() == {
        "message": 'Bulk with UUID "%1" does not exist.',
        "parameters": [str(bulk.uuid)],
    }
    assert api.get(url, token=auditor_token).status_code == 200


def test_the_status_api_needs_its_permission_and_a_token(api, staff, owned_bulk):
    _owner, _token, bulk = owned_bulk
    _user, token = staff(["catalog.add_product"])
    assert api.get(f"V1/bulk/{bulk.uuid}/status", token=token).status_code == 403
    assert api.get(f"V1/bulk/{bulk.uuid}/status").status_code == 401


@pytest.mark.parametrize("uuid", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
def test_an_unknown_bulk_is_a_404(api, admin_token, uuid):
    response = api.get(f"V1/bulk/{uuid}/status", token=admin_token)
    assert response.status_code == 404


def test_the_short_status_has_magentos_fields_and_a_summary_status(api, owned_bulk):
    owner, token, bulk = owned_bulk
    answer = api.get(f"V1/bulk/{bulk.uuid}/status", token=token).json()

    assert answer["bulk_id"] == str(bulk.uuid)
    assert answer["description"] == "Topic async.catalog.services.productrepository.save.post"
    assert answer["user_id"] == owner.pk
    assert answer["user_type"] == 2
    assert answer["operation_count"] == 2
    assert answer["start_time"] == bulk.created.strftime("%Y-%m-%d %H:%M:%S")
    assert answer["status"] == BulkStatus.NOT_STARTED
    assert answer["operations_list"][0] == {
        "id": bulk.operations.get(index=0).pk,
        "status": 4,
        "result_message": None,
        "error_code": None,
    }
    assert answer["operations_list"][1]["status"] == 5
    assert answer["operations_list"][1]["error_code"] == 2


def test_operation_status_answers_a_bare_integer_per_status(api, owned_bulk):
    _owner, token, bulk = owned_bulk
    assert api.get(f"V1/bulk/{bulk.uuid}/operation-status/4", token=token).json() == 1
    assert api.get(f"V1/bulk/{bulk.uuid}/operation-status/5", token=token).json() == 1
    assert api.get(f"V1/bulk/{bulk.uuid}/operation-status/1", token=token).json() == 0
    assert api.get(f"V1/bulk/{bulk.uuid}/operation-status/9", token=token).status_code == 400


def test_a_bulk_with_any_open_operation_is_in_progress_whatever_else_failed(
    api, admin_token, db_ops_topology
):
    customer = {
        "customer": {"email": "dup@example.com", "firstname": "A", "lastname": "B"},
        "password": "Password1!x",
    }
    other = {
        "customer": {"email": "other@example.com", "firstname": "A", "lastname": "B"},
        "password": "Password1!x",
    }
    _response, bulk = bulk_post(
        api, "async/bulk/V1/customers", [customer, customer, other], admin_token
    )
    url = f"V1/bulk/{bulk.uuid}/status"
    assert api.get(url, token=admin_token).json()["status"] == BulkStatus.NOT_STARTED

    first, second, third = bulk.operations.order_by("index")
    execute_operations([first.pk, second.pk])  # complete, then a duplicate: failed
    assert status_counts(bulk) == {1: 1, 3: 1, 4: 1}
    assert api.get(url, token=admin_token).json()["status"] == BulkStatus.IN_PROGRESS

    execute_operations([third.pk])
    assert api.get(url, token=admin_token).json()["status"] == BulkStatus.FINISHED_WITH_FAILURE


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({}, BulkStatus.NOT_STARTED),
        ({4: 3}, BulkStatus.NOT_STARTED),
        ({4: 2, 5: 1}, BulkStatus.NOT_STARTED),
        ({4: 1, 1: 2}, BulkStatus.IN_PROGRESS),
        ({4: 1, 3: 2}, BulkStatus.IN_PROGRESS),
        ({1: 3}, BulkStatus.FINISHED_SUCCESSFULLY),
        ({1: 2, 2: 1}, BulkStatus.FINISHED_WITH_FAILURE),
        ({5: 2}, BulkStatus.FINISHED_WITH_FAILURE),
    ],
)
def test_the_summary_status_follows_the_operation_counts(counts, expected):
    assert summary_status(counts) == expected


def test_a_retried_open_operation_makes_its_bulk_in_progress_not_not_started():
    assert summary_status({4: 1}, ever_started=True) == BulkStatus.IN_PROGRESS


def test_detailed_status_lists_data_and_results_as_json_strings(api, owned_bulk, db_ops_topology):
    _owner, token, bulk = owned_bulk
    db_ops_topology.run(max_messages=1)
    answer = api.get(f"V1/bulk/{bulk.uuid}/detailed-status", token=token).json()

    done, rejected = answer["operations_list"]
    assert set(done) == {
        "id",
        "bulk_uuid",
        "topic_name",
        "serialized_data",
        "result_serialized_data",
        "status",
        "result_message",
        "error_code",
    }
    assert isinstance(done["serialized_data"], str) and isinstance(
        done["result_serialized_data"], str
    )
    assert done["status"] == 1
    assert rejected["status"] == 5 and rejected["result_serialized_data"] is None
    assert answer["status"] == BulkStatus.FINISHED_WITH_FAILURE


def test_the_status_endpoints_cost_the_same_queries_for_a_big_bulk_as_for_a_small_one(
    api, admin_token, db_ops_topology, django_assert_max_num_queries
):
    _r, small = bulk_post(api, PRODUCTS, [product_item("SM")], admin_token)
    _r, big = bulk_post(api, PRODUCTS, [product_item(f"BIG{i}") for i in range(300)], admin_token)
    for endpoint in ("status", "detailed-status", "operation-status/4"):
        with django_assert_max_num_queries(12) as small_queries:
            api.get(f"V1/bulk/{small.uuid}/{endpoint}", token=admin_token)
        with django_assert_max_num_queries(len(small_queries)) as _big_queries:
            response = api.get(f"V1/bulk/{big.uuid}/{endpoint}", token=admin_token)
        assert response.status_code == 200
    assert bulk_summary_status(big) == BulkStatus.NOT_STARTED
    assert summaries([small.pk, big.pk])[big.pk]["counts"] == {4: 300}


def test_operation_search_filters_operations_of_visible_bulks_only(
    api, staff, owned_bulk, admin_token
):
    _owner, token, bulk = owned_bulk
    bulk_post(api, PRODUCTS, [product_item("ADMIN", price="x")], admin_token)
    query = {
        "searchCriteria[filter_groups][0][filters][0][field]": "status",
        "searchCriteria[filter_groups][0][filters][0][value]": "5",
        "searchCriteria[sortOrders][0][field]": "id",
        "searchCriteria[sortOrders][0][direction]": "DESC",
    }

    mine = api.get("V1/bulk", query, token=token).json()
    everything = api.get("V1/bulk", query, token=admin_token).json()

    assert mine["total_count"] == 1
    assert mine["items"][0]["bulk_uuid"] == str(bulk.uuid)
    assert mine["items"][0]["status"] == OperationStatus.REJECTED
    assert set(mine["items"][0]) >= {
        "id",
        "topic_name",
        "serialized_data",
        "result_message",
        "error_code",
    }
    assert everything["total_count"] == 2
    assert everything["items"][0]["id"] > everything["items"][1]["id"]
    assert everything["search_criteria"]["filter_groups"][0]["filters"][0]["field"] == "status"


def test_the_admin_pages_show_only_the_bulks_a_staff_member_may_see(
    api, owned_bulk, admin_token, admin_user, client
):
    """Django admin's own view permission is not enough to read others' payloads."""
    owner, _token, bulk = owned_bulk
    _response, other = bulk_post(api, PRODUCTS, [product_item("SECRET-SKU")], admin_token)
    owner.user_permissions.add(*rest_actions.resolve_permissions(["operations.view_operation"]))
    client.force_login(get_user_model().objects.get(pk=owner.pk))

    bulks = client.get("/admin/operations/bulk/")
    operations = client.get("/admin/operations/operation/")
    others_op = client.get(f"/admin/operations/operation/{other.operations.get().pk}/change/")

    assert bulks.status_code == operations.status_code == 200
    assert str(bulk.uuid) in bulks.content.decode()
    assert str(other.uuid) not in bulks.content.decode()
    assert "SECRET-SKU" not in operations.content.decode()
    assert others_op.status_code == 302  # as if it did not exist: back to the admin index
    client.force_login(admin_user)  # a superuser holds view_all_bulks
    assert str(other.uuid) in client.get("/admin/operations/bulk/").content.decode()
