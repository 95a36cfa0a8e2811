"""The asynchronous and bulk API end to end: accepting (Listing 7 → 8), running,
reading back (Listing 9)."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.contrib.auth.hashers import check_password

from catalog.models import Block, Customer, Product
from operations.items import canonical_json
from operations.models import Bulk, EventKind, Operation, OperationEvent, OperationStatus
from tests.fixtures.operations import bulk_post, product_item

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PRODUCTS = "all/async/bulk/V1/products"
DUPLICATE_EMAIL = "A customer with the same email address already exists in an associated website."


def _sha256(item) -> str:
    return hashlib.sha256(canonical_json(item).encode()).hexdigest()


def test_listing_7_bulk_of_products_is_accepted_run_and_read_back_as_listing_9(
    api, admin_token, ops_topology
):
    items = [product_item("SKU1"), product_item("SKU2")]
    response, bulk = bulk_post(api, PRODUCTS, items, admin_token)

    assert response.status_code == 202
    body = response.json()
    assert body == {
        "bulk_uuid": str(bulk.uuid),
        "request_items": [
            {"id": 0, "data_hash": _sha256(items[0]), "status": "accepted"},
            {"id": 1, "data_hash": _sha256(items[1]), "status": "accepted"},
        ],
        "errors": False,
    }
    assert not Product.objects.filter(sku__in=["SKU1", "SKU2"]).exists()
    assert bulk.operations.filter(status=OperationStatus.OPEN, published=True).count() == 2

    result = ops_topology.run(max_messages=2)

    assert result.processed == 2
    detailed = api.get(f"V1/bulk/{bulk.uuid}/detailed-status", token=admin_token).json()
    assert detailed["bulk_id"] == str(bulk.uuid)
    assert detailed["operation_count"] == 2
    assert detailed["status"] == 2  # finished successfully
    ops = detailed["operations_list"]
    assert [op["status"] for op in ops] == [1, 1]
    assert {op["topic_name"] for op in ops} == {
        "async.catalog.services.productrepository.save.post"
    }
    assert all(op["bulk_uuid"] == str(bulk.uuid) for op in ops)
    stored = json.loads(json.loads(ops[0]["serialized_data"])["meta_information"])
    assert stored == items[0]
    assert json.loads(ops[0]["result_serialized_data"])["sku"] == "SKU1"
    product = api.get("V1/products/SKU2", token=admin_token)
    assert product.status_code == 200
    assert product.json()["name"] == "Simple product SKU2"


def test_bulk_with_one_invalid_item_rejects_only_that_item(api, admin_token, db_ops_topology):
    items = [product_item("OK1"), product_item("BAD", price="not a price"), product_item("OK2")]
    response, bulk = bulk_post(api, PRODUCTS, items, admin_token)

    assert response.status_code == 202
    body = response.json()
    assert body["errors"] is True
    assert [i["status"] for i in body["request_items"]] == ["accepted", "rejected", "accepted"]
    assert "price" in body["request_items"][1]["error_message"]
    rejected = bulk.operations.get(index=1)
    assert rejected.status == OperationStatus.REJECTED
    assert rejected.result_message == body["request_items"][1]["error_message"]
    assert not rejected.published
    assert OperationEvent.objects.filter(operation=rejected, kind=EventKind.REJECTED).exists()

    db_ops_topology.run(max_messages=2)

    assert set(Product.objects.values_list("sku", flat=True)) >= {"OK1", "OK2"}
    assert not Product.objects.filter(sku="BAD").exists()
    status = api.get(f"V1/bulk/{bulk.uuid}/status", token=admin_token).json()
    assert [op["status"] for op in status["operations_list"]] == [1, 5, 1]
    assert status["status"] == 3  # finished with failure


def test_an_item_whose_rejected_value_holds_a_nul_character_is_rejected_not_a_500(
    api, admin_token, db_ops_topology
):
    # PostgreSQL text refuses NUL; the message quotes the value the client sent.
    items = [{"product": {"sku": "NUL", "name": "n", "attribute_set_id": 4, "price": "1\x002"}}]
    response, bulk = bulk_post(api, PRODUCTS, items, admin_token)

    assert response.status_code == 202
    item = response.json()["request_items"][0]
    assert item["status"] == "rejected"
    assert '"1\ufffd2"' in item["error_message"]
    assert bulk.operations.get().result_message == item["error_message"]


@pytest.mark.parametrize("path", [PRODUCTS, "all/async/V1/products"])
def test_a_lone_surrogate_in_the_body_is_refused_whole_with_400(api, admin_token, path):
    raw = '{"product": {"sku": "S\\ud800", "name": "x", "attribute_set_id": 4, "price": 1}}'
    body = f"[{raw}]" if "bulk" in path else raw
    response = api.post(path, body, token=admin_token)

    assert response.status_code == 400
    assert response.json()["message"] == "Decoding error: %1"
    assert not Bulk.objects.exists()


def test_duplicate_customer_email_fails_with_the_services_message(api, admin_token, ops_topology):
    customer = {
        "customer": {"email": "mshaw@example.com", "firstname": "Melanie", "lastname": "Shaw"},
        "password": "Password1!x",
    }
    response, bulk = bulk_post(api, "async/bulk/V1/customers", [customer, customer], admin_token)
    assert response.status_code == 202

    ops_topology.run(max_messages=2)

    first, second = bulk.operations.order_by("index")
    assert first.status == OperationStatus.COMPLETE
    assert second.status == OperationStatus.NOT_RETRIABLY_FAILED
    assert second.result_message == DUPLICATE_EMAIL
    assert second.error_code is not None and second.error_code > 0
    assert Customer.objects.filter(email="mshaw@example.com").count() == 1
    assert api.get(f"V1/bulk/{bulk.uuid}/operation-status/3", token=admin_token).json() == 1


@pytest.mark.parametrize("batch_size", [1, 10])
def test_a_completed_operation_keeps_its_payload_but_not_the_password(
    api, admin_token, ops_topology, batch_size
):
    def customer(email: str, password: str) -> dict:
        return {
            "customer": {"email": email, "firstname": "A", "lastname": "B"},
            "password": password,
        }

    items = [
        customer("ann@example.com", "Ann-secret-1"),
        customer(
            "ann@example.com", "Ann-secret-2"
        ),  # duplicate: fails, so the batch reruns one by one
        customer("bob@example.com", "Bob-secret-1"),
    ]
    response, bulk = bulk_post(api, "async/bulk/V1/customers", items, admin_token)
    assert response.status_code == 202

    ops_topology.run(max_messages=3, batch_size=batch_size)

    assert check_password(
        "Ann-secret-1", Customer.objects.get(email="ann@example.com").password_hash
    )
    assert check_password(
        "Bob-secret-1", Customer.objects.get(email="bob@example.com").password_hash
    )
    detailed = api.get(f"V1/bulk/{bulk.uuid}/detailed-status", token=admin_token).json()
    by_status = {op["status"]: op for op in detailed["operations_list"]}
    completed = [
        op for op in detailed["operations_list"] if op["status"] == OperationStatus.COMPLETE
    ]
    assert len(completed) == 2
    for op in completed:
        assert "secret" not in op["serialized_data"]
        assert '\\"password\\":\\"******\\"' in op["serialized_data"]
        assert "@example.com" in op["serialized_data"]  # the rest stays as the audit trail
    # A failed operation keeps its password only encrypted, for a person's retry.
    failed = by_status[OperationStatus.NOT_RETRIABLY_FAILED]["serialized_data"]
    assert "Ann-secret-2" not in failed and '\\"password\\": \\"******\\"' in failed
    assert "encrypted_secrets" in failed


def test_bulk_delete_by_block_id_takes_the_ids_from_the_items(api, admin_token, db_ops_topology):
    blocks = [
        api.post(
            "V1/cmsBlock",
            {"block": {"identifier": f"b{i}", "title": f"B{i}", "content": "x"}},
            token=admin_token,
        ).json()
        for i in range(3)
    ]
    items = [{"blockId": blocks[0]["id"]}, {"block_id": str(blocks[1]["id"])}]
    response, bulk = bulk_post(
        api,
        "async/bulk/V1/cmsBlock/byBlockId",
        items,
        admin_token,
        method="DELETE",
    )
    assert response.status_code == 202
    assert (
        bulk.operations.first().topic
        == "async.catalog.services.blockrepository.delete_by_id.delete"
    )

    db_ops_topology.run(max_messages=2)

    assert list(bulk.operations.values_list("status", flat=True)) == [1, 1]
    assert list(Block.objects.values_list("id", flat=True)) == [blocks[2]["id"]]


def test_bulk_put_by_sku_finds_the_sku_inside_the_product(api, admin_token, db_ops_topology):
    api.post("V1/products", product_item("PUT1"), token=admin_token)
    items = [
        {"product": {"sku": "PUT1", "name": "Renamed"}},
        {"product": {"sku": "PUT2", "name": "New", "attribute_set_id": 4, "price": 3}},
    ]
    response, bulk = bulk_post(
        api,
        "all/async/bulk/V1/products/bySku",
        items,
        admin_token,
        method="PUT",
    )
    assert response.status_code == 202
    assert response.json()["errors"] is False

    db_ops_topology.run(max_messages=2)

    assert list(bulk.operations.values_list("status", flat=True)) == [1, 1]
    assert api.get("all/V1/products/PUT1", token=admin_token).json()["name"] == "Renamed"
    assert api.get("all/V1/products/PUT2", token=admin_token).status_code == 200


def test_an_item_without_its_url_parameter_is_rejected_with_the_parameter_named(
    api, admin_token, db_ops_topology
):
    response, bulk = bulk_post(
        api,
        "async/bulk/V1/cmsBlock/byBlockId",
        [{"title": "no id"}],
        admin_token,
        method="DELETE",
    )
    assert response.status_code == 202
    item = response.json()["request_items"][0]
    assert item["status"] == "rejected"
    assert item["error_message"] == 'The "blockId" parameter is missing from the item.'
    assert bulk.operations.get().status == OperationStatus.REJECTED


def test_a_single_async_call_keeps_its_url_parameters_and_makes_a_bulk_of_one(
    api, admin_token, ops_topology
):
    response = api.put(
        "all/async/V1/products/ONE",
        {"product": {"name": "Only one", "attribute_set_id": 4, "price": 1}},
        token=admin_token,
    )
    assert response.status_code == 202
    body = response.json()
    assert len(body["request_items"]) == 1 and body["request_items"][0]["status"] == "accepted"
    bulk = Bulk.objects.get(uuid=body["bulk_uuid"])
    assert bulk.operation_count == 1
    assert bulk.operations.get().store_id == 0

    ops_topology.run(max_messages=1)

    assert api.get("all/V1/products/ONE", token=admin_token).json()["name"] == "Only one"


def test_the_store_of_the_url_travels_on_the_operation_and_in_the_message_header(
    api, admin_token, db_ops_topology
):
    response, bulk = bulk_post(
        api, "default/async/bulk/V1/products", [product_item("S1")], admin_token
    )
    assert response.status_code == 202
    assert bulk.operations.get().store_id == 1

    transport = db_ops_topology.make_transport()
    (delivery,) = transport.receive(db_ops_topology.queue, 10, 1.0)
    assert delivery.envelope.headers["store_id"] == 1
    assert delivery.envelope.body["operation_id"] == bulk.operations.get().pk
    assert delivery.envelope.topic == "async.catalog.services.productrepository.save.post"


def test_the_same_idempotency_key_returns_the_original_answer_without_a_second_bulk(
    api, admin_token, db_ops_topology
):
    items = [product_item("IDEM1")]
    headers = {"Idempotency-Key": "import-2024-06-01"}
    first, bulk = bulk_post(api, PRODUCTS, items, admin_token, headers=headers)
    again, same = bulk_post(api, PRODUCTS, items, admin_token, headers=headers)

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert same.pk == bulk.pk
    assert Bulk.objects.count() == 1
    assert Operation.objects.count() == 1

    other = api.post(PRODUCTS, [product_item("IDEM2")], token=admin_token, headers=headers)
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["message"]
    assert Bulk.objects.count() == 1


def test_a_bulk_over_the_item_limit_is_refused_whole_with_413(api, admin_token, settings):
    settings.WEBAPI = {**settings.WEBAPI, "BULK_MAX_ITEMS": 3}
    response = api.post(PRODUCTS, [product_item(f"L{i}") for i in range(4)], token=admin_token)
    assert response.status_code == 413
    assert response.json()["message"] == "The bulk has %1 items; the limit is %2 items per request."
    assert response.json()["parameters"] == [4, 3]
    assert not Bulk.objects.exists()


def test_a_body_over_the_size_limit_is_refused_whole_with_413(api, admin_token, settings):
    settings.WEBAPI = {**settings.WEBAPI, "MAX_BODY_SIZE": 1000}
    response = api.post(
        PRODUCTS, [product_item(f"S{i}", name="x" * 100) for i in range(20)], token=admin_token
    )
    assert response.status_code == 413
    assert "limit" in response.json()["message"]
    assert not Bulk.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"product": {"sku": "A"}}, "JSON array"),
        (b"[{not json", "Decoding error"),
        ([], "no items"),
    ],
)
def test_a_bulk_body_that_is_not_a_json_array_of_items_is_refused_with_400(
    api, admin_token, body, message
):
    response = api.post(PRODUCTS, body, token=admin_token)
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert not Bulk.objects.exists()


@pytest.mark.parametrize("path", ["async/V1/products/A", "async/bulk/V1/products"])
def test_a_get_is_never_asynchronous(api, admin_token, path):
    response = api.get(path, token=admin_token)
    assert response.status_code == 405
    assert (
        response.json()["message"]
        == "%1 requests are never asynchronous: send them to the synchronous API (/rest/V1/...)."
    )
    assert response.json()["parameters"] == ["GET"]


def test_an_unknown_async_path_is_a_404(api, admin_token):
    response = api.post("async/bulk/V1/nothing", [{}], token=admin_token)
    assert response.status_code == 404


def test_accepting_needs_the_routes_permission_and_a_token(api, make_integration, staff):
    _integration, token = make_integration(perms=["catalog.view_product"])
    assert api.post(PRODUCTS, [product_item("P")], token=token).status_code == 403
    assert api.post(PRODUCTS, [product_item("P")]).status_code == 401
    assert api.post(PRODUCTS, [product_item("P")], token="nonsense").status_code == 401
    assert not Bulk.objects.exists()


def test_an_integration_bulk_records_its_user_type(api, make_integration, db_ops_topology):
    integration, token = make_integration(
        perms=["catalog.add_product", "catalog.change_product", "operations.view_bulk"]
    )
    response, bulk = bulk_post(api, PRODUCTS, [product_item("INT1")], token)
    assert response.status_code == 202
    assert bulk.user_type == 1
    assert bulk.owner == integration.user

    db_ops_topology.run(max_messages=1)

    status = api.get(f"V1/bulk/{bulk.uuid}/status", token=token).json()
    assert status["user_type"] == 1
    assert status["operations_list"][0]["status"] == 1


def test_an_operation_runs_in_the_store_scope_of_its_url(api, admin_token, db_ops_topology):
    api.post("all/V1/products", product_item("SCOPED", name="Global name"), token=admin_token)
    response, bulk = bulk_post(
        api,
        "default/async/bulk/V1/products/bySku",
        [{"product": {"sku": "SCOPED", "name": "Default store name"}}],
        admin_token,
        method="PUT",
    )
    assert response.status_code == 202

    db_ops_topology.run(max_messages=1)

    assert bulk.operations.get().status == OperationStatus.COMPLETE
    assert (
        api.get("default/V1/products/SCOPED", token=admin_token).json()["name"]
        == "Default store name"
    )
    assert api.get("all/V1/products/SCOPED", token=admin_token).json()["name"] == "Global name"
