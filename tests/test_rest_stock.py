"""Stock through the REST API: CatalogInventory's stock items and statuses, MSI's sources
and source items, the salable quantity; both APIs see the same stock."""

from __future__ import annotations

import json

import pytest

from catalog.models import Product, SourceItem, StockItem
from operations.models import Operation, OperationStatus
from tests.fixtures.magento_shapes import assert_shape
from tests.fixtures.operations import bulk_post

pytestmark = pytest.mark.django_db

PRODUCT_SKU_NOT_FOUND = 'Product with SKU "%1" does not exist'
SKU_NOT_FOUND = 'Validation Failed: Product with requested "%field": "%value" was was not found.'


@pytest.fixture
def admin(api, admin_token):
    return api.as_admin(admin_token)


def make_product(admin, sku, qty=None, type_id="simple", **stock):
    product = {"sku": sku, "name": f"Product {sku}", "price": 5, "type_id": type_id}
    if qty is not None or stock:
        product["extension_attributes"] = {
            "stock_item": {**({"qty": qty} if qty is not None else {}), **stock}
        }
    response = admin.post("all/V1/products", {"product": product})
    assert response.status_code == 200, response.content
    return response.json()


def source_items(admin, sku):
    return admin.get(
        "V1/inventory/source-items",
        {
            "searchCriteria[filter_groups][0][filters][0][field]": "sku",
            "searchCriteria[filter_groups][0][filters][0][value]": sku,
        },
    ).json()["items"]


def save_source_items(admin, *items):
    return admin.post("V1/inventory/source-items", {"sourceItems": list(items)})


def item(sku, quantity, status=1, source_code="default"):
    return {"sku": sku, "source_code": source_code, "quantity": quantity, "status": status}


# --- legacy stock items ---------------------------------------------------------------------


def test_get_stock_item_answers_magentos_stock_item(admin):
    product = make_product(admin, "S-1", qty=7, is_in_stock=True)

    response = admin.get("V1/stockItems/S-1")

    assert response.status_code == 200
    body = response.json()
    assert_shape(body, "StockItemInterface")
    assert (body["product_id"], body["stock_id"], body["qty"], body["is_in_stock"]) == (
        product["id"],
        1,
        7,
        True,
    )
    assert body == product["extension_attributes"]["stock_item"]


def test_put_stock_item_merges_answers_the_item_id_and_moves_the_default_source_item(admin):
    make_product(admin, "S-2", qty=1, is_in_stock=True)
    item_id = StockItem.objects.get(product__sku="S-2").item_id

    response = admin.put(
        f"V1/products/S-2/stockItems/{item_id}",
        {"stockItem": {"qty": 40, "use_config_min_sale_qty": 0, "min_sale_qty": 2}},
    )

    assert response.status_code == 200, response.content
    assert response.json() == item_id
    read = admin.get("V1/stockItems/S-2").json()
    assert (read["qty"], read["is_in_stock"], read["min_sale_qty"]) == (40, True, 2)
    assert read["use_config_min_sale_qty"] == 0
    assert source_items(admin, "S-2") == [
        {"sku": "S-2", "source_code": "default", "quantity": 40, "status": 1}
    ]


def test_a_quantity_at_zero_puts_the_product_out_of_stock_and_back_when_it_returns(admin):
    make_product(admin, "S-3", qty=5, is_in_stock=True)

    admin.put("V1/products/S-3/stockItems/1", {"stockItem": {"qty": 0}})
    empty = admin.get("V1/stockItems/S-3").json()
    admin.put("V1/products/S-3/stockItems/1", {"stockItem": {"qty": 2}})
    refilled = admin.get("V1/stockItems/S-3").json()

    assert (empty["is_in_stock"], empty["stock_status_changed_auto"]) == (False, 1)
    assert (refilled["is_in_stock"], refilled["stock_status_changed_auto"]) == (True, 0)


def test_backorders_or_unmanaged_stock_keep_a_product_without_quantity_in_stock(admin):
    make_product(admin, "BO", qty=0, is_in_stock=True, use_config_backorders=False, backorders=1)
    make_product(
        admin, "NM", qty=0, is_in_stock=True, use_config_manage_stock=False, manage_stock=False
    )
    # A value without its use_config flag turned off: the configured value still applies.
    make_product(admin, "CFG", qty=0, is_in_stock=True, backorders=1)

    assert admin.get("V1/stockItems/BO").json()["is_in_stock"] is True
    assert admin.get("V1/stockStatuses/NM").json()["stock_status"] == 1
    cfg = admin.get("V1/stockItems/CFG").json()
    assert (cfg["is_in_stock"], cfg["backorders"]) == (False, 0)


def test_stock_status_answers_magentos_stock_status(admin):
    product = make_product(admin, "ST", qty=3, is_in_stock=True)

    body = admin.get("V1/stockStatuses/ST").json()

    assert_shape(body, "StockStatusInterface")
    assert_shape(body["stock_item"], "StockItemInterface")
    assert (body["product_id"], body["stock_id"], body["qty"], body["stock_status"]) == (
        product["id"],
        1,
        3,
        1,
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "V1/stockItems/NOPE", None),
        ("get", "V1/stockStatuses/NOPE", None),
        ("put", "V1/products/NOPE/stockItems/1", {"stockItem": {"qty": 1}}),
    ],
)
def test_an_unknown_product_is_404_with_magentos_message(admin, method, path, body):
    response = getattr(admin, method)(path, body) if body else getattr(admin, method)(path)

    assert response.status_code == 404
    assert response.json() == {"message": PRODUCT_SKU_NOT_FOUND, "parameters": ["NOPE"]}


@pytest.mark.parametrize(
    ("body", "parameters"),
    [
        ({}, {"fieldName": "stockItem"}),
        ({"stockItem": {"qty": "lots"}}, {"value": "lots", "type": "float"}),
        ({"stockItem": {"backorders": 7}}, {"value": 7, "fieldName": "backorders"}),
        ({"stockItem": {"quantity": 1}}, None),
    ],
)
def test_bad_stock_item_bodies_are_400_in_magentos_shape(admin, body, parameters):
    make_product(admin, "BAD", qty=1, is_in_stock=True)

    response = admin.put("V1/products/BAD/stockItems/1", body)

    assert response.status_code == 400, response.content
    answer = response.json()
    assert set(answer) >= {"message", "parameters"}
    if parameters is not None:
        assert answer["parameters"] == parameters
    else:
        assert answer["parameters"]["fieldName"] == "quantity"
    assert StockItem.objects.get(product__sku="BAD").qty == 1


# --- MSI sources and source items ------------------------------------------------------------


def test_the_default_source_is_there_from_the_start(admin):
    listed = admin.get("V1/inventory/sources").json()
    one = admin.get("V1/inventory/sources/default").json()

    assert listed["total_count"] == 1 and listed["items"] == [one]
    assert_shape(one, "SourceInterface")
    assert one == {
        "source_code": "default",
        "name": "Default Source",
        "enabled": True,
        "description": "Default Source",
        "latitude": 0,
        "longitude": 0,
        "country_id": "US",
        "postcode": "00000",
        "use_default_carrier_config": True,
        "carrier_links": [],
    }


def test_an_unknown_source_is_404(admin):
    response = admin.get("V1/inventory/sources/warehouse-9")

    assert response.status_code == 404
    assert response.json() == {
        "message": 'Source with code "%value" does not exist.',
        "parameters": {"value": "warehouse-9"},
    }


def test_saving_source_items_answers_an_empty_array_and_moves_the_legacy_stock(admin):
    make_product(admin, "MSI-1")
    make_product(admin, "MSI-2", qty=9, is_in_stock=True)

    response = save_source_items(admin, item("MSI-1", 15), item("MSI-2", 0, status=0))

    assert response.status_code == 200, response.content
    assert response.json() == []
    one, two = (admin.get(f"V1/stockItems/{sku}").json() for sku in ("MSI-1", "MSI-2"))
    assert (one["qty"], one["is_in_stock"]) == (15, True)
    assert (two["qty"], two["is_in_stock"]) == (0, False)
    found = source_items(admin, "MSI-1")
    assert found == [item("MSI-1", 15)]
    assert_shape(found[0], "SourceItemInterface")
    product = admin.get("all/V1/products/MSI-1").json()
    assert product["extension_attributes"]["stock_item"]["qty"] == 15


def test_the_salable_quantity_follows_quantity_status_and_min_qty(admin):
    make_product(admin, "SAL", qty=10, is_in_stock=True)

    def salable():
        response = admin.get("V1/inventory/get-product-salable-quantity/SAL/1")
        assert response.status_code == 200, response.content
        return response.json()

    first = salable()
    admin.put(
        "V1/products/SAL/stockItems/1",
        {"stockItem": {"use_config_min_qty": False, "min_qty": 3}},
    )
    with_threshold = salable()
    save_source_items(admin, item("SAL", 10, status=0))
    out_of_stock = salable()

    assert (first, with_threshold, out_of_stock) == (10, 7, 0)


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        (
            "NOPE/1",
            404,
            "The product that was requested doesn't exist. Verify the product and try again.",
        ),
        (
            "CONF/1",
            400,
            "Can't check requested quantity for products without Source Items support.",
        ),
        ("SAL2/2", 404, 'Stock with id "%value" does not exist.'),
    ],
)
def test_the_salable_quantity_refuses_what_magento_refuses(admin, path, status, message):
    make_product(admin, "CONF", type_id="configurable")
    make_product(admin, "SAL2", qty=1, is_in_stock=True)

    response = admin.get(f"V1/inventory/get-product-salable-quantity/{path}")

    assert response.status_code == status
    assert response.json()["message"] == message


def test_source_items_of_unknown_products_or_sources_are_refused_whole(admin):
    make_product(admin, "OK-1", qty=1, is_in_stock=True)

    unknown_sku = save_source_items(admin, item("OK-1", 50), item("GHOST", 1))
    unknown_source = save_source_items(admin, item("OK-1", 50, source_code="mars"))

    assert unknown_sku.status_code == 400
    assert unknown_sku.json() == {
        "message": SKU_NOT_FOUND,
        "parameters": {"field": "sku", "value": "GHOST"},
    }
    assert unknown_source.status_code == 400
    assert unknown_source.json() == {"message": "Could not save Source Item", "parameters": []}
    assert SourceItem.objects.get(product__sku="OK-1").quantity == 1


@pytest.mark.parametrize(
    ("changes", "message", "field"),
    [
        ({"sku": " "}, 'Validation Failed: "%field" can not be empty.', "sku"),
        ({"source_code": ""}, 'Validation Failed: "%field" can not be empty.', "source_code"),
        (
            {"source_code": "my source"},
            'Validation Failed: "%field" can not contain whitespaces.',
            "source_code",
        ),
        ({"quantity": None}, 'Validation Failed: "%field" should be numeric.', "quantity"),
        ({"status": None}, 'Validation Failed: "%field" should be numeric.', "status"),
        ({"status": "999999"}, 'Validation Failed: "%field" should a known status.', "status"),
    ],
)
def test_invalid_source_items_fail_validation_as_magentos_validators_say(
    admin, changes, message, field
):
    make_product(admin, "V-1")

    response = save_source_items(admin, {**item("V-1", 1), **changes})

    assert response.status_code == 400
    assert response.json() == {"message": message, "parameters": {"field": field}}


def test_an_empty_list_of_source_items_is_refused(admin):
    for path in ("V1/inventory/source-items", "V1/inventory/source-items-delete"):
        response = admin.post(path, {"sourceItems": []})

        assert response.status_code == 400
        assert response.json() == {"message": "Input data is empty", "parameters": []}


def test_deleting_the_default_source_item_empties_the_legacy_stock(admin):
    make_product(admin, "DEL", qty=4, is_in_stock=True)

    response = admin.post(
        "V1/inventory/source-items-delete",
        {
            "sourceItems": [
                {"sku": "DEL", "source_code": "default"},
                {"sku": "NONE", "source_code": "x"},
            ]
        },
    )

    assert response.status_code == 200 and response.json() == []
    assert source_items(admin, "DEL") == []
    legacy = admin.get("V1/stockItems/DEL").json()
    assert (legacy["qty"], legacy["is_in_stock"]) == (0, False)


def test_source_items_are_searched_with_search_criteria(admin):
    for i in range(3):
        make_product(admin, f"F-{i}", qty=i * 10, is_in_stock=True)

    body = admin.get(
        "V1/inventory/source-items",
        {
            "searchCriteria[filter_groups][0][filters][0][field]": "quantity",
            "searchCriteria[filter_groups][0][filters][0][value]": "5",
            "searchCriteria[filter_groups][0][filters][0][condition_type]": "gt",
            "searchCriteria[sortOrders][0][field]": "quantity",
            "searchCriteria[sortOrders][0][direction]": "DESC",
        },
    ).json()

    assert body["total_count"] == 2
    assert [i["sku"] for i in body["items"]] == ["F-2", "F-1"]


def test_a_deleted_product_takes_its_stock_with_it(admin):
    make_product(admin, "GONE", qty=3, is_in_stock=True)

    admin.delete("V1/products/GONE")

    assert not StockItem.objects.exists() and not SourceItem.objects.exists()


# --- permissions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "permission"),
    [
        ("get", "V1/stockItems/P", None, "catalog.view_stockitem"),
        ("get", "V1/stockStatuses/P", None, "catalog.view_stockitem"),
        (
            "put",
            "V1/products/P/stockItems/1",
            {"stockItem": {"qty": 1}},
            "catalog.change_stockitem",
        ),
        ("get", "V1/inventory/get-product-salable-quantity/P/1", None, "catalog.view_stockitem"),
        ("get", "V1/inventory/sources", None, "catalog.view_source"),
        ("get", "V1/inventory/sources/default", None, "catalog.view_source"),
        ("get", "V1/inventory/source-items", None, "catalog.view_sourceitem"),
        (
            "post",
            "V1/inventory/source-items",
            {"sourceItems": [item("P", 1)]},
            "catalog.change_sourceitem",
        ),
        (
            "post",
            "V1/inventory/source-items-delete",
            {"sourceItems": [item("P", 1)]},
            "catalog.change_sourceitem",
        ),
    ],
)
def test_each_stock_route_needs_its_own_permission(
    api, admin, limited_user, method, path, body, permission
):
    make_product(admin, "P", qty=1, is_in_stock=True)
    allowed = api.as_admin(limited_user([permission]))
    refused = api.as_admin(limited_user(["catalog.view_product", "catalog.change_product"]))
    args = (path, body) if body is not None else (path,)

    assert getattr(refused, method)(*args).status_code == 403
    assert getattr(allowed, method)(*args).status_code == 200


# --- async and bulk ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_bulk_of_source_items_applies_the_valid_ones_and_fails_the_unknown_ones(
    api, admin_token, db_ops_topology
):
    admin = api.as_admin(admin_token)
    for sku in ("B-1", "B-2", "B-3"):
        make_product(admin, sku)

    response, bulk = bulk_post(
        api,
        "all/async/bulk/V1/inventory/source-items",
        [
            {"sourceItems": [item("B-1", 11)]},
            {"sourceItems": [item("GHOST", 5)]},
            {"sourceItems": [item("B-2", 22), item("B-3", 33, status=0)]},
            {"sourceItems": [item("B-3", 1, source_code="mars")]},
            {"sourceItems": [item("B-1", "many")]},
        ],
        admin_token,
    )
    assert response.status_code == 202, response.content
    assert [i["status"] for i in response.json()["request_items"]] == [
        "accepted",
        "accepted",
        "accepted",
        "accepted",
        "rejected",
    ]

    db_ops_topology.run()

    operations = {op.index: op for op in Operation.objects.filter(bulk=bulk)}
    assert [operations[i].status for i in range(5)] == [
        OperationStatus.COMPLETE,
        OperationStatus.NOT_RETRIABLY_FAILED,
        OperationStatus.COMPLETE,
        OperationStatus.NOT_RETRIABLY_FAILED,
        OperationStatus.REJECTED,
    ]
    assert operations[1].result_message == (
        'Validation Failed: Product with requested "sku": "GHOST" was was not found.'
    )
    assert operations[3].result_message == "Could not save Source Item"
    assert json.loads(operations[0].result_serialized_data) == []
    stock = {
        s.product.sku: (s.qty, s.is_in_stock) for s in StockItem.objects.select_related("product")
    }
    assert stock == {"B-1": (11, True), "B-2": (22, True), "B-3": (33, False)}
    assert not Product.objects.filter(sku="GHOST").exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_stock_items_update_asynchronously_and_in_bulk_by_product_sku(
    api, admin_token, db_ops_topology
):
    admin = api.as_admin(admin_token)
    make_product(admin, "A-1", qty=1, is_in_stock=True)
    make_product(admin, "A-2", qty=1, is_in_stock=True)

    single = api.put(
        "all/async/V1/products/A-1/stockItems/1", {"stockItem": {"qty": 8}}, token=admin_token
    )
    response, _bulk = bulk_post(
        api,
        "all/async/bulk/V1/products/byProductSku/stockItems/byItemId",
        [
            {"productSku": "A-2", "itemId": 1, "stockItem": {"qty": 9}},
            {"productSku": "NOPE", "itemId": 1, "stockItem": {"qty": 9}},
        ],
        admin_token,
        method="PUT",
    )
    assert single.status_code == 202 and response.status_code == 202, response.content

    db_ops_topology.run()

    assert StockItem.objects.get(product__sku="A-1").qty == 8
    assert StockItem.objects.get(product__sku="A-2").qty == 9
    failed = Operation.objects.get(status=OperationStatus.NOT_RETRIABLY_FAILED)
    assert failed.result_message == 'Product with SKU "NOPE" does not exist'
    assert SourceItem.objects.get(product__sku="A-2").quantity == 9


# --- the Django admin ----------------------------------------------------------------------------


def test_the_admin_shows_stock_but_leaves_its_changes_to_the_api(admin, admin_client):
    make_product(admin, "ADM", qty=2, is_in_stock=True)
    item_id = StockItem.objects.get(product__sku="ADM").item_id

    for path in (
        "/admin/catalog/stockitem/",
        f"/admin/catalog/stockitem/{item_id}/change/",
        "/admin/catalog/sourceitem/",
        "/admin/catalog/source/default/change/",
    ):
        assert admin_client.get(path).status_code == 200, path
    assert admin_client.get("/admin/catalog/stockitem/add/").status_code == 403
    refused = admin_client.post(f"/admin/catalog/stockitem/{item_id}/change/", {"qty": "99"})
    assert refused.status_code == 403
    assert StockItem.objects.get(item_id=item_id).qty == 2
