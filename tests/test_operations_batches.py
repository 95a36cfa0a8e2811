"""A batch of product saves runs through the route's `call_many` (a few statements for the
whole batch), and ends exactly as running the operations one by one would."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from catalog.models import CategoryProduct, Product, SourceItem, StockItem
from operations.actions.running import execute_operations
from operations.models import OperationStatus
from tests.fixtures.operations import bulk_post, product_item

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PRODUCTS = "all/async/bulk/V1/products"


def _statuses(bulk) -> list[tuple[int, str]]:
    return list(bulk.operations.order_by("index").values_list("status", "result_message"))


def _answers(bulk) -> list[dict]:
    return [
        json.loads(data)
        for data in bulk.operations.order_by("index").values_list(
            "result_serialized_data", flat=True
        )
    ]


def test_a_batch_of_new_and_existing_products_ends_as_if_run_one_by_one(
    api, admin_token, ops_topology
):
    category = api.post("V1/categories", {"category": {"name": "Bags"}}, token=admin_token).json()
    api.post("all/V1/products", product_item("OLD", price=5), token=admin_token)
    items = [
        product_item(
            "N1",
            extension_attributes={
                "stock_item": {"qty": 3},
                "category_links": [{"category_id": str(category["id"]), "position": 2}],
            },
        ),
        product_item("OLD", price=20),  # exists: updated
        product_item("N2", type_id="virtual"),
        product_item("N1", price=30, name="Renamed"),  # twice in the batch: created, then updated
        {"product": {"sku": "N2", "price": 40}},  # no name: an update of the one just created
    ]
    _response, bulk = bulk_post(api, PRODUCTS, items, admin_token)

    ops_topology.run(max_messages=5, batch_size=10)

    assert [s for s, _ in _statuses(bulk)] == [OperationStatus.COMPLETE] * 5
    n1, n2, old = (Product.objects.get(sku=s) for s in ("N1", "N2", "OLD"))
    assert (n1.name, n1.price, old.price, n2.price) == ("Renamed", 30, 20, 40)
    assert StockItem.objects.get(product=n1).qty == Decimal(3)
    assert SourceItem.objects.get(product=n1, source_id="default").quantity == Decimal(3)
    assert CategoryProduct.objects.get(product=n1).position == 2
    answers = _answers(bulk)
    assert [a["sku"] for a in answers] == ["N1", "OLD", "N2", "N1", "N2"]
    assert answers[0]["id"] == n1.pk and answers[2]["id"] == n2.pk
    assert answers[0]["extension_attributes"]["stock_item"]["qty"] == 3
    assert answers[0]["extension_attributes"]["stock_item"]["item_id"] == n1.stock_item.pk
    assert answers[0]["extension_attributes"]["category_links"] == [
        {"position": 2, "category_id": str(category["id"])}
    ]
    assert answers[3]["name"] == "Renamed"
    assert StockItem.objects.count() == SourceItem.objects.count() == 3


def test_an_update_before_the_create_of_its_sku_fails_as_it_would_alone(
    api, admin_token, ops_topology
):
    items = [{"product": {"sku": "LATER", "price": 7}}, product_item("LATER"), product_item("X")]
    _response, bulk = bulk_post(api, PRODUCTS, items, admin_token)

    ops_topology.run(max_messages=3, batch_size=10)

    statuses = _statuses(bulk)
    assert statuses[0] == (
        OperationStatus.NOT_RETRIABLY_FAILED,
        'The "name" attribute value is empty. Set the attribute and try again.',
    )
    assert [s for s, _ in statuses[1:]] == [OperationStatus.COMPLETE] * 2
    assert Product.objects.get(sku="LATER").price == 10


def test_a_url_key_taken_inside_the_batch_fails_only_the_later_product(
    api, admin_token, ops_topology
):
    items = [
        product_item("K1", name="Same name"),
        product_item("K2", name="Same name"),
        product_item("K3"),
    ]
    _response, bulk = bulk_post(api, PRODUCTS, items, admin_token)

    ops_topology.run(max_messages=3, batch_size=10)

    assert _statuses(bulk) == [
        (OperationStatus.COMPLETE, ""),
        (OperationStatus.NOT_RETRIABLY_FAILED, "URL key for specified store already exists."),
        (OperationStatus.COMPLETE, ""),
    ]
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["K1", "K3"]
    assert StockItem.objects.count() == 2


def test_a_batch_of_new_products_takes_a_fixed_number_of_statements(api, admin_token):
    """The bookkeeping and the writes of a batch do not grow with its size."""
    counts = []
    for size in (2, 10, 50):  # the first warms the per-process caches (permissions, attributes)
        items = [product_item(f"Q{size}-{i}") for i in range(size)]
        _response, bulk = bulk_post(api, PRODUCTS, items, admin_token)
        ids = list(bulk.operations.values_list("pk", flat=True))
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            execute_operations(ids)
        assert bulk.operations.filter(status=OperationStatus.COMPLETE).count() == size
        counts.append(len(queries))
    # SQLite takes at most 999 parameters per statement: its bulk inserts come in chunks.
    chunks = 0 if connection.vendor == "postgresql" else 2
    assert counts[1] <= counts[2] <= counts[1] + chunks, counts
    assert counts[2] <= 13 + chunks, counts
