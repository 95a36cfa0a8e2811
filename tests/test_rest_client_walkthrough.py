"""A client written for a real Magento store, start to finish, without changes.

What a PIM or ERP connector does against Magento 2.4: sign in, check the store
structure and configuration, walk the category tree, read and extend the attributes,
push products (sync, async and bulk), then stock (both stock APIs) and prices in bulk,
and read everything back in Magento's shapes.
"""

from __future__ import annotations

import pytest

from operations.models import Operation, OperationStatus
from tests.fixtures.magento_shapes import assert_shape
from tests.fixtures.operations import bulk_post
from tests.fixtures.webapi import ADMIN_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _values(product: dict) -> dict:
    return {a["attribute_code"]: a["value"] for a in product["custom_attributes"]}


def test_a_magento_client_runs_its_whole_catalog_session(api, admin_user, db_ops_topology):
    # Sign in as Magento's admin token route answers it: a JSON string.
    signed_in = api.post(
        "V1/integration/admin/token", {"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert signed_in.status_code == 200
    token = signed_in.json()
    admin = api.as_admin(token)

    # The store structure and configuration (a library checks these on connecting).
    websites = admin.get("V1/store/websites").json()
    assert [w["code"] for w in websites] == ["admin", "base"]
    for website in websites:
        assert_shape(website, "WebsiteInterface")
    views = {v["code"]: v for v in admin.get("V1/store/storeViews").json()}
    assert views["default"]["website_id"] == 1
    (config,) = admin.get("V1/store/storeConfigs", {"storeCodes[]": "default"}).json()
    assert_shape(config, "StoreConfigInterface")
    assert config["base_url"].startswith("http://testserver/")

    # The category tree, then a category of our own under the default root.
    created = admin.post("V1/categories", {"category": {"name": "Shirts", "is_active": True}})
    assert created.status_code == 200, created.content
    shirts = created.json()["id"]
    tree = admin.get("V1/categories").json()
    assert_shape(tree, "CategoryTreeInterface")
    assert shirts in [child["id"] for child in tree["children_data"]]

    # The attributes: read the default set, create a select attribute with an option.
    sets = admin.get("V1/products/attribute-sets/sets/list", {"searchCriteria": ""}).json()
    assert 4 in [s["attribute_set_id"] for s in sets["items"]]
    made = admin.post(
        "V1/products/attributes",
        {
            "attribute": {
                "attribute_code": "fabric",
                "frontend_input": "select",
                "default_frontend_label": "Fabric",
                "options": [{"label": "Cotton"}],
            }
        },
    )
    assert made.status_code == 200, made.content
    option = admin.post("V1/products/attributes/fabric/options", {"option": {"label": "Linen"}})
    assert option.status_code == 200, option.content
    linen = option.json()
    assert (
        admin.post(
            "V1/products/attribute-sets/attributes",
            {"attributeSetId": 4, "attributeGroupId": 7, "attributeCode": "fabric", "sortOrder": 9},
        ).status_code
        == 200
    )

    # Products: one synchronously, two in one bulk, one asynchronously.
    def product(sku: str, name: str) -> dict:
        return {
            "product": {
                "sku": sku,
                "name": name,
                "price": 20,
                "attribute_set_id": 4,
                "type_id": "simple",
                "custom_attributes": [
                    {"attribute_code": "fabric", "value": linen},
                    {"attribute_code": "category_ids", "value": [str(shirts)]},
                ],
            }
        }

    sync = admin.post("V1/products", product("SHIRT-1", "Linen Shirt"))
    assert sync.status_code == 200, sync.content
    assert_shape(sync.json(), "ProductInterface")
    response, bulk = bulk_post(
        api,
        "async/bulk/V1/products",
        [product("SHIRT-2", "Linen Shirt Blue"), product("SHIRT-3", "Linen Shirt Red")],
        token,
    )
    assert response.status_code == 202, response.content
    single = admin.post("async/V1/products", product("SHIRT-4", "Linen Shirt Green"))
    assert single.status_code == 202, single.content
    db_ops_topology.run()
    assert set(Operation.objects.filter(bulk=bulk).values_list("status", flat=True)) == {
        OperationStatus.COMPLETE
    }

    # Stock: MSI source items in bulk; the legacy stock item sees them.
    response, bulk = bulk_post(
        api,
        "async/bulk/V1/inventory/source-items",
        [
            {
                "sourceItems": [
                    {"sku": f"SHIRT-{n}", "source_code": "default", "quantity": 10 * n, "status": 1}
                ]
            }
            for n in (1, 2, 3, 4)
        ],
        token,
    )
    assert response.status_code == 202, response.content
    # Prices in bulk, one item naming a SKU that does not exist.
    response, prices = bulk_post(
        api,
        "async/bulk/V1/products/base-prices",
        [
            {"prices": [{"sku": "SHIRT-1", "price": 25, "store_id": 0}]},
            {
                "prices": [
                    {"sku": "SHIRT-2", "price": 26, "store_id": 0},
                    {"sku": "NO-SUCH", "price": 1, "store_id": 0},
                ]
            },
        ],
        token,
    )
    assert response.status_code == 202, response.content
    db_ops_topology.run()

    # Read everything back, as Magento answers it.
    item = admin.get("V1/stockItems/SHIRT-3").json()
    assert_shape(item, "StockItemInterface")
    assert (item["qty"], item["is_in_stock"]) == (30, True)
    read = admin.get("V1/products/SHIRT-2").json()
    assert_shape(read, "ProductInterface")
    assert read["price"] == 26
    assert read["extension_attributes"]["stock_item"]["qty"] == 20
    assert read["extension_attributes"]["website_ids"] == [1]
    values = _values(read)
    assert values["fabric"] == linen
    assert values["category_ids"] == [str(shirts)]
    assert values["url_key"] == "linen-shirt-blue"
    found = admin.get(
        "V1/products",
        {
            "searchCriteria[filter_groups][0][filters][0][field]": "SKU",
            "searchCriteria[filter_groups][0][filters][0][value]": "SHIRT-%",
            "searchCriteria[filter_groups][0][filters][0][condition_type]": "like",
            "searchCriteria[currentPage]": "0",
            "fields": "items[sku,price],total_count",
        },
    ).json()
    assert found == {
        "items": [
            {"sku": "SHIRT-1", "price": 25},
            {"sku": "SHIRT-2", "price": 26},
            {"sku": "SHIRT-3", "price": 20},
            {"sku": "SHIRT-4", "price": 20},
        ],
        "total_count": 4,
    }
    # The price bulk: both operations complete, the unknown SKU reported per item.
    results = {op.index: op for op in Operation.objects.filter(bulk=prices).order_by("index")}
    assert {op.status for op in results.values()} == {OperationStatus.COMPLETE}
    assert "NO-SUCH" in results[1].result_serialized_data
