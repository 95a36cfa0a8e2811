"""The price APIs (base, special, tier prices and costs) through REST, async and bulk."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from catalog.models import Product, ProductStoreValue, TierPrice
from catalog.serializers.fields import INVALID_TYPE, NO_ACCESSOR
from operations.models import Bulk, OperationStatus
from store.models import Store, Website
from tests.fixtures.magento_shapes import assert_shape
from tests.fixtures.operations import bulk_post
from webapi.routes import routes

pytestmark = pytest.mark.django_db

WEBSITE_SCOPE = override_settings(CATALOG_PRICE_SCOPE=1)
INVALID_ATTRIBUTE = "Invalid attribute %fieldName = %fieldValue."
REFUSED = "The consumer isn't authorized to access %resources."


@pytest.fixture
def admin(api, admin_token):
    return api.as_admin(admin_token)


@pytest.fixture
def products(admin):
    for sku, type_id in [("A", "simple"), ("B", "virtual"), ("BUNDLE", "bundle")]:
        body = {"product": {"sku": sku, "name": sku, "price": 10, "type_id": type_id}}
        assert admin.post("all/V1/products", body).status_code == 200
    Product.objects.create(sku="CONF", name="Configurable", type_id="configurable", price=5)
    return ["A", "B", "BUNDLE", "CONF"]


@pytest.fixture
def second_store(db):
    """A second store view on the default website (store 1's), and a second website."""
    website = Website.objects.get(pk=1)
    Store.objects.create(id=2, code="french", name="French", website=website)
    other = Website.objects.create(id=2, code="other", name="Other")
    Store.objects.create(id=3, code="other_en", name="Other EN", website=other)


def custom(product_sku: str) -> dict:
    product = Product.objects.get(sku=product_sku)
    return {a["attribute_code"]: a["value"] for a in product.custom_attributes}


# --- base prices ---------------------------------------------------------------------------


def test_base_prices_are_set_read_back_and_shown_in_the_product(admin, products):
    body = {
        "prices": [
            {"price": 12, "store_id": 0, "sku": "A"},
            {"price": "22.5", "store_id": 0, "sku": "B"},
        ]
    }
    response = admin.post("V1/products/base-prices", body)

    assert response.status_code == 200
    assert response.json() == []
    info = admin.post("V1/products/base-prices-information", {"skus": ["A", "B", "NOPE"]})
    assert info.status_code == 200
    assert info.json() == [
        {"price": 12, "store_id": 0, "sku": "A"},
        {"price": 22.5, "store_id": 0, "sku": "B"},
    ]
    for item in info.json():
        assert_shape(item, "BasePriceInterface")
    assert admin.get("V1/products/B").json()["price"] == 22.5


def test_base_price_failures_are_magentos_and_the_valid_items_are_applied(admin, products):
    # Magento's own functional test (BasePriceStorageTest::testUpdateInvalidData), plus
    # a valid item that is applied anyway.
    body = {
        "prices": [
            {"sku": "not_existing_sku", "price": -9999, "store_id": 9999},
            {"sku": "A", "price": 7, "store_id": 1},
            {"sku": "CONF", "price": 3, "store_id": 0},
        ]
    }
    response = admin.post("V1/products/base-prices", body)

    assert response.status_code == 200
    assert response.json() == [
        {"message": INVALID_ATTRIBUTE, "parameters": ["SKU", "not_existing_sku"]},
        {"message": INVALID_ATTRIBUTE, "parameters": ["Price", "-9999"]},
        {
            "message": "Requested store is not found. "
            "Row ID: SKU = not_existing_sku, Store ID: 9999.",
            "parameters": ["not_existing_sku", "9999"],
        },
        {"message": INVALID_ATTRIBUTE, "parameters": ["SKU", "CONF"]},
    ]
    for item in response.json():
        assert_shape(item, "PriceUpdateResultInterface")
    # Global price scope (Magento's default): store 1's price is the global price.
    assert Product.objects.get(sku="A").price == 7
    assert Product.objects.get(sku="CONF").price == 5


def test_a_missing_sku_price_or_store_is_a_failed_item_not_a_400(admin, products):
    response = admin.post("V1/products/base-prices", {"prices": [{"price": None}]})

    assert response.status_code == 200
    assert response.json() == [
        {"message": INVALID_ATTRIBUTE, "parameters": ["SKU", None]},
        {"message": INVALID_ATTRIBUTE, "parameters": ["Price", None]},
        {
            "message": "Requested store is not found. Row ID: SKU = , Store ID: .",
            "parameters": [None, None],
        },
    ]


@pytest.mark.parametrize(
    ("body", "message", "parameters"),
    [
        ({}, '"%fieldName" is required. Enter and try again.', {"fieldName": "prices"}),
        (
            {"prices": [{"sku": "A", "price": "cheap", "store_id": 0}]},
            INVALID_TYPE,
            {"value": "cheap", "type": "float"},
        ),
        (
            {"prices": [{"sku": "A", "price": 1, "store_id": 0, "colour": "red"}]},
            NO_ACCESSOR,
            {
                "fieldName": "colour",
                "accessorMethod": "getColour",
                "className": "Magento\\Catalog\\Api\\Data\\BasePriceInterface",
            },
        ),
    ],
)
def test_a_malformed_body_is_refused_whole_in_magentos_shape(
    admin, products, body, message, parameters
):
    response = admin.post("V1/products/base-prices", body)

    assert response.status_code == 400
    assert response.json() == {"message": message, "parameters": parameters}
    assert Product.objects.get(sku="A").price == 10


def test_information_needs_skus_and_leaves_unknown_skus_out(admin, products):
    response = admin.post("V1/products/base-prices-information", {})
    assert response.status_code == 400
    assert response.json()["parameters"] == {"fieldName": "skus"}
    assert (
        admin.post("V1/products/base-prices-information", {"skus": ["NOPE", "CONF"]}).json() == []
    )


@WEBSITE_SCOPE
def test_in_website_scope_a_store_views_base_price_applies_to_its_whole_website(
    admin, products, second_store
):
    body = {
        "prices": [{"price": 8, "store_id": 1, "sku": "A"}, {"price": 9, "store_id": 3, "sku": "A"}]
    }
    assert admin.post("V1/products/base-prices", body).json() == []

    info = admin.post("V1/products/base-prices-information", {"skus": ["A"]}).json()
    assert info == [
        {"price": 10, "store_id": 0, "sku": "A"},
        {"price": 8, "store_id": 1, "sku": "A"},
        {"price": 8, "store_id": 2, "sku": "A"},
        {"price": 9, "store_id": 3, "sku": "A"},
    ]
    assert Product.objects.get(sku="A").price == 10


# --- special prices ------------------------------------------------------------------------

SPECIAL = {
    "price": 29.95,
    "store_id": 0,
    "price_from": "2017-07-15 00:00:00",
    "price_to": "2017-07-16 23:59:59",
    "sku": "A",
}


def test_special_prices_are_set_read_back_and_are_the_products_attributes(admin, products):
    response = admin.post(
        "V1/products/special-price",
        {"prices": [SPECIAL, {"price": 5, "store_id": 0, "sku": "BUNDLE"}]},
    )

    assert response.status_code == 200
    assert response.json() == []
    info = admin.post("V1/products/special-price-information", {"skus": ["A", "BUNDLE"]}).json()
    assert info == [
        {k: SPECIAL[k] for k in ("price", "store_id", "sku", "price_from", "price_to")},
        {"price": 5, "store_id": 0, "sku": "BUNDLE"},
    ]
    for item in info:
        assert_shape(item, "SpecialPriceInterface")
    attributes = {
        a["attribute_code"]: a["value"]
        for a in admin.get("all/V1/products/A").json()["custom_attributes"]
    }
    special = {code: v for code, v in attributes.items() if code.startswith("special_")}
    assert special == {
        "special_price": "29.950000",
        "special_from_date": "2017-07-15 00:00:00",
        "special_to_date": "2017-07-16 23:59:59",
    }


def test_special_price_failures_render_magentos_messages(admin, products):
    body = {
        "prices": [
            {**SPECIAL, "sku": "NOPE"},
            {**SPECIAL, "store_id": 1},
            {**SPECIAL, "price": -1, "price_from": "2017-07-15"},
            SPECIAL,
        ]
    }
    response = admin.post("V1/products/special-price", body)

    row = "Price From: 2017-07-15 00:00:00, Price To: 2017-07-16 23:59:59."
    params = ["2017-07-15 00:00:00", "2017-07-16 23:59:59"]
    assert response.json() == [
        {
            "message": "The product that was requested doesn't exist. Verify the product and "
            f"try again. Row ID: SKU = NOPE, Store ID: 0, {row}",
            "parameters": ["NOPE", "0", *params],
        },
        {
            "message": "Could not change non global Price when price scope is global. "
            f"Row ID: SKU = A, Store ID: 1, {row}",
            "parameters": ["A", "1", *params],
        },
        {
            "message": "Invalid attribute Price = -1. Row ID: SKU = A, Store ID: 0, "
            "Price From: 2017-07-15, Price To: 2017-07-16 23:59:59.",
            "parameters": ["-1", "A", "0", "2017-07-15", "2017-07-16 23:59:59"],
        },
        {
            # Magento quotes the Price To value after the Price From label.
            "message": "Invalid attribute Price From = 2017-07-16 23:59:59. Row ID: SKU = A, "
            "Store ID: 0, Price From: 2017-07-15, Price To: 2017-07-16 23:59:59.",
            "parameters": ["Price From", "A", "0", "2017-07-15", "2017-07-16 23:59:59"],
        },
    ]
    assert custom("A")["special_price"] == "29.950000"


@WEBSITE_SCOPE
def test_in_website_scope_special_prices_are_per_store_view_and_deleted_per_store(
    admin, products, second_store
):
    body = {"prices": [SPECIAL, {"price": 19, "store_id": 2, "sku": "A"}]}
    assert admin.post("V1/products/special-price", body).json() == []
    assert (
        ProductStoreValue.objects.get(store_id=2, attribute_code="special_price").value
        == "19.000000"
    )

    deleted = admin.post(
        "V1/products/special-price-delete", {"prices": [{"price": 19, "store_id": 2, "sku": "A"}]}
    )
    assert deleted.status_code == 200
    assert deleted.json() == []
    info = admin.post("V1/products/special-price-information", {"skus": ["A"]}).json()
    assert [(i["store_id"], i["price"]) for i in info] == [(0, 29.95)]


def test_special_price_delete_reports_failed_items_and_deletes_the_others(admin, products):
    admin.post("V1/products/special-price", {"prices": [SPECIAL]})
    body = {"prices": [{**SPECIAL, "sku": "NOPE"}, SPECIAL]}
    response = admin.post("V1/products/special-price-delete", body)

    assert [item["parameters"][0] for item in response.json()] == ["NOPE"]
    assert "special_price" not in custom("A")
    assert admin.post("V1/products/special-price-information", {"skus": ["A"]}).json() == []


# --- tier prices ---------------------------------------------------------------------------


def tier(sku="A", price=10, quantity=3, group="General", website=0, price_type="fixed"):
    return {
        "price": price,
        "price_type": price_type,
        "website_id": website,
        "sku": sku,
        "customer_group": group,
        "quantity": quantity,
    }


def tier_info(admin, *skus):
    response = admin.post("V1/products/tier-prices-information", {"skus": list(skus)})
    assert response.status_code == 200
    for item in response.json():
        assert_shape(item, "TierPriceInterface")
    return response.json()


def test_tier_prices_are_added_updated_and_read_back(admin, products):
    body = {
        "prices": [
            tier(),
            tier(price=8, quantity=5),
            tier(price=5, quantity=3, group="ALL GROUPS", price_type="discount", sku="BUNDLE"),
        ]
    }
    assert admin.post("V1/products/tier-prices", body).json() == []
    # The same website, group (any case) and quantity: an update of the stored price.
    assert (
        admin.post("V1/products/tier-prices", {"prices": [tier(price=9, group="general")]}).json()
        == []
    )

    assert tier_info(admin, "A", "BUNDLE", "NOPE") == [
        tier(price=9),
        tier(price=8, quantity=5),
        tier(sku="BUNDLE", price=5, group="all groups", price_type="discount"),
    ]
    assert TierPrice.objects.count() == 3


def test_tier_price_failures_are_magentos_templates_with_the_rows_values(admin, products):
    row = (
        "Row ID: SKU = %SKU, Website ID: %websiteId, "
        + "Customer Group: %customerGroup, Quantity: %qty."
    )
    body = {
        "prices": [
            tier(sku="NOPE", quantity=1),
            tier(price=120, price_type="discount", quantity=2),
            tier(price_type="percent", quantity=3),
            tier(sku="BUNDLE", price_type="fixed", quantity=4),
            tier(quantity=0),
            tier(website=1, quantity=6),
            tier(group="Martians", quantity=7),
            tier(price=7, quantity=8),
        ]
    }
    response = admin.post("V1/products/tier-prices", body)

    def failed(message, *parameters):
        return {"message": f"{message} {row}", "parameters": list(parameters)}

    assert response.json() == [
        failed("Invalid attribute SKU = %SKU.", "NOPE", "0", "General", "1"),
        failed("Invalid attribute Price = %price.", "120", "A", "0", "General", "2"),
        failed("Invalid attribute Price Type = %priceType.", "percent", "A", "0", "General", "3"),
        failed(
            "Invalid attribute Price Type = %priceType.", "fixed", "BUNDLE", "0", "General", "4"
        ),
        failed("Invalid attribute Quantity = %qty.", "A", "0", "General", "0"),
        # Global price scope: tier prices are for website 0 only.
        failed("Invalid attribute Website ID = %websiteId.", "A", "1", "General", "6"),
        failed("No such entity with Customer Group = %customerGroup.", "A", "0", "Martians", "7"),
    ]
    for item in response.json():
        assert_shape(item, "PriceUpdateResultInterface")
    assert tier_info(admin, "A") == [tier(price=7, quantity=8)]


def test_duplicates_in_one_request_both_fail(admin, products):
    response = admin.post(
        "V1/products/tier-prices", {"prices": [tier(), tier(price=4, group="GENERAL")]}
    )

    assert [item["message"].split(":")[0] for item in response.json()] == [
        "We found a duplicate website, tier price, customer group and quantity"
    ] * 2
    assert tier_info(admin, "A") == []


@WEBSITE_SCOPE
def test_a_new_price_clashing_with_a_stored_one_for_all_websites_fails(admin, products):
    assert admin.post("V1/products/tier-prices", {"prices": [tier(website=0)]}).json() == []
    response = admin.post(
        "V1/products/tier-prices",
        {"prices": [tier(website=1, price=2), tier(quantity=9, website=1)]},
    )

    assert len(response.json()) == 1
    assert response.json()[0]["message"].startswith("We found a duplicate website")
    assert response.json()[0]["parameters"] == ["A", "0", "General", "3"]  # the stored row's
    assert tier_info(admin, "A") == [tier(), tier(quantity=9, website=1)]


def test_replace_drops_the_products_other_tier_prices(admin, products):
    admin.post("V1/products/tier-prices", {"prices": [tier(), tier(quantity=5), tier(sku="B")]})
    body = {"prices": [tier(price=8, quantity=5, group="NOT LOGGED IN"), tier(sku="NOPE")]}
    response = admin.put("V1/products/tier-prices", body)

    assert [item["parameters"][0] for item in response.json()] == ["NOPE"]
    assert tier_info(admin, "A", "B") == [
        tier(price=8, quantity=5, group="NOT LOGGED IN"),
        tier(sku="B"),
    ]


def test_delete_removes_the_equal_tier_prices_only(admin, products):
    admin.post("V1/products/tier-prices", {"prices": [tier(), tier(quantity=5, price=8)]})
    body = {"prices": [tier(), tier(quantity=5, price=7), tier(sku="NOPE")]}
    response = admin.post("V1/products/tier-prices-delete", body)

    assert [item["parameters"][0] for item in response.json()] == ["NOPE"]
    assert tier_info(admin, "A") == [tier(quantity=5, price=8)]  # its price differs: kept


# --- costs ---------------------------------------------------------------------------------


def test_costs_are_set_read_and_deleted(admin, products):
    body = {
        "prices": [
            {"cost": 18, "store_id": 0, "sku": "A"},
            {"cost": -15, "store_id": 10, "sku": "BUNDLE"},
        ]
    }
    response = admin.post("V1/products/cost", body)

    assert response.json() == [
        {"message": INVALID_ATTRIBUTE, "parameters": ["SKU", "BUNDLE"]},
        {
            "message": "Invalid attribute Cost = -15. Row ID: SKU = BUNDLE, Store ID: 10.",
            "parameters": ["-15", "BUNDLE", "10"],
        },
        {
            "message": "Requested store is not found. Row ID: SKU = BUNDLE, Store ID: 10.",
            "parameters": ["BUNDLE", "10"],
        },
    ]
    info = admin.post("V1/products/cost-information", {"skus": ["A", "BUNDLE"]}).json()
    assert info == [{"cost": 18, "store_id": 0, "sku": "A"}]
    assert_shape(info[0], "CostInterface")
    assert custom("A")["cost"] == "18.000000"

    deleted = admin.post("V1/products/cost-delete", {"skus": ["A", "NOPE"]})
    assert deleted.status_code == 200
    assert deleted.json() is True
    assert admin.post("V1/products/cost-information", {"skus": ["A"]}).json() == []


# --- routing and permissions ---------------------------------------------------------------


def test_price_paths_are_never_read_as_a_sku(admin, products):
    for sku in ("special-price", "tier-prices"):
        Product.objects.create(sku=sku, name=sku, price=1)

    replaced = admin.put("V1/products/tier-prices", {"prices": [tier()]})
    assert replaced.status_code == 200
    assert replaced.json() == []
    assert Product.objects.get(sku="tier-prices").name == "tier-prices"
    special = admin.post("V1/products/special-price", {"prices": [SPECIAL]})
    assert special.json() == []
    # Nor is a GET (there is no price route to read): unlike Magento, which would
    # read that product, the literal path is never a SKU here (docs/api.md).
    refused = admin.get("V1/products/special-price")
    assert refused.status_code == 405
    assert set(refused.json()) >= {"message"}


@pytest.mark.parametrize(
    ("path", "body", "needed"),
    [
        ("V1/products/base-prices", {"prices": []}, "catalog.change_product"),
        ("V1/products/tier-prices-delete", {"prices": []}, "catalog.change_product"),
        ("V1/products/cost-delete", {"skus": []}, "catalog.change_product"),
        ("V1/products/base-prices-information", {"skus": []}, "catalog.view_product"),
        ("V1/products/special-price-information", {"skus": []}, "catalog.view_product"),
        ("V1/products/tier-prices-information", {"skus": []}, "catalog.view_product"),
    ],
)
def test_reads_need_view_product_and_writes_change_product(api, limited_user, path, body, needed):
    other = (
        "catalog.view_product" if needed == "catalog.change_product" else "catalog.change_product"
    )
    refused = api.post(path, body, token=limited_user([other]))
    assert refused.status_code == 403
    assert refused.json() == {"message": REFUSED, "parameters": {"resources": needed}}
    assert api.post(path, body, token=limited_user([needed])).status_code == 200


def test_the_price_routes_are_declared_once_each_with_their_topics():
    declared = [r for r in routes if "prices" in r.tags]
    assert len(declared) == 12
    assert {r.topic for r in declared if r.async_enabled} == {
        f"async.catalog.services.{name}"
        for name in (
            "basepricestorage.update.post",
            "specialpricestorage.update.post",
            "specialpricestorage.delete.post",
            "tierpricestorage.update.post",
            "tierpricestorage.replace.put",
            "tierpricestorage.delete.post",
            "coststorage.update.post",
            "coststorage.delete.post",
        )
    }
    reads = [r for r in declared if not r.async_enabled]
    assert {r.path.rsplit("/", 1)[1] for r in reads} == {
        "base-prices-information",
        "special-price-information",
        "tier-prices-information",
        "cost-information",
    }
    assert {r.permission for r in reads} == {"catalog.view_product"}


def test_information_routes_have_no_async_variant(admin):
    # 405: the path still matches the product routes' `/V1/products/:sku` (PUT, DELETE).
    for path in (
        "async/V1/products/tier-prices-information",
        "async/bulk/V1/products/base-prices-information",
    ):
        assert admin.post(path, {"skus": ["A"]}).status_code in (404, 405)
    assert not Bulk.objects.exists()


# --- async and bulk ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_bulk_of_prices_with_invalid_items_runs_and_records_the_failed_items(
    api, admin_token, products, db_ops_topology
):
    items = [
        {"prices": [{"price": 11, "store_id": 0, "sku": "A"}]},
        {
            "prices": [
                {"price": 12, "store_id": 0, "sku": "B"},
                {"price": 13, "store_id": 0, "sku": "NOPE"},
            ]
        },
        {"prices": [{"price": "free", "store_id": 0, "sku": "A"}]},
    ]
    response, bulk = bulk_post(api, "async/bulk/V1/products/base-prices", items, admin_token)

    assert response.status_code == 202
    assert [i["status"] for i in response.json()["request_items"]] == [
        "accepted",
        "accepted",
        "rejected",
    ]
    assert bulk.operations.first().topic == "async.catalog.services.basepricestorage.update.post"
    db_ops_topology.run(max_messages=2)

    assert Product.objects.get(sku="A").price == 11
    assert Product.objects.get(sku="B").price == 12
    status = api.get(f"V1/bulk/{bulk.uuid}/detailed-status", token=admin_token).json()
    operations = status["operations_list"]
    # Failed items are the service's answer: the operation itself completed, as on Magento.
    assert [op["status"] for op in operations] == [
        OperationStatus.COMPLETE,
        OperationStatus.COMPLETE,
        OperationStatus.REJECTED,
    ]
    assert json.loads(operations[0]["result_serialized_data"]) == []
    assert json.loads(operations[1]["result_serialized_data"]) == [
        {"message": INVALID_ATTRIBUTE, "parameters": ["SKU", "NOPE"]}
    ]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_tier_prices_replace_and_special_prices_run_asynchronously(
    api, admin_token, products, db_ops_topology
):
    admin = api.as_admin(admin_token)
    admin.post("V1/products/tier-prices", {"prices": [tier(quantity=9)]})
    replaced = admin.put("async/V1/products/tier-prices", {"prices": [tier(), tier(sku="NOPE")]})
    assert replaced.status_code == 202
    response, bulk = bulk_post(
        api, "async/bulk/V1/products/special-price", [{"prices": [SPECIAL]}], admin_token
    )
    assert response.status_code == 202

    db_ops_topology.run(max_messages=2)

    assert tier_info(admin, "A") == [tier()]
    assert custom("A")["special_price"] == "29.950000"
    op = bulk.operations.get()
    assert op.status == OperationStatus.COMPLETE
    assert op.topic == "async.catalog.services.specialpricestorage.update.post"
