"""Products answered as Magento 2.4 answers them: every field it always sends, the system
custom attributes (url_key, tax_class_id, category_ids, ...), a full stock item, in
every answer (GET, search, save; sync, async and bulk)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import CategoryProduct, Product, SourceItem, StockItem
from operations.models import OperationStatus
from tests.fixtures.magento_shapes import assert_shape
from tests.fixtures.operations import bulk_post

pytestmark = pytest.mark.django_db

URL_KEY_TAKEN = "URL key for specified store already exists."


@pytest.fixture
def admin(api, admin_token):
    return api.as_admin(admin_token)


def minimal(sku="MIN-1", name="Minimal product", **fields):
    """The body of a simple product made with only sku, name, price and attribute set."""
    return {"product": {"sku": sku, "name": name, "price": 10, "attribute_set_id": 4, **fields}}


def attributes(body):
    return {a["attribute_code"]: a["value"] for a in body["custom_attributes"]}


def assert_magento_product(body):
    """Assert the whole product shape, field by field, down to its stock item."""
    assert_shape(body, "ProductInterface")
    extension = body["extension_attributes"]
    assert_shape(extension, "ProductExtensionInterface")
    assert_shape(extension["stock_item"], "StockItemInterface")
    for link in extension["category_links"]:
        assert_shape(link, "CategoryLinkInterface")
    for attribute in body["custom_attributes"]:
        assert_shape(attribute, "AttributeInterface")


def test_a_minimal_simple_product_answers_what_magento_always_sends(admin):
    body = admin.post("all/V1/products", minimal()).json()

    assert_magento_product(body)
    assert attributes(body) == {
        "options_container": "container2",
        "msrp_display_actual_price_type": "0",
        "required_options": "0",
        "has_options": "0",
        "tax_class_id": "2",
        "url_key": "minimal-product",
        "category_ids": [],
    }
    assert body["extension_attributes"]["website_ids"] == [1]
    stock = body["extension_attributes"]["stock_item"]
    item = StockItem.objects.get(product__sku="MIN-1")
    assert stock == {
        "item_id": item.item_id,
        "product_id": body["id"],
        "stock_id": 1,
        "qty": 0,
        "is_in_stock": False,
        "is_qty_decimal": False,
        "show_default_notification_message": False,
        "use_config_min_qty": True,
        "min_qty": 0,
        "use_config_min_sale_qty": 1,
        "min_sale_qty": 1,
        "use_config_max_sale_qty": True,
        "max_sale_qty": 10000,
        "use_config_backorders": True,
        "backorders": 0,
        "use_config_notify_stock_qty": True,
        "notify_stock_qty": 1,
        "use_config_qty_increments": True,
        "qty_increments": 0,
        "use_config_enable_qty_inc": True,
        "enable_qty_increments": False,
        "use_config_manage_stock": True,
        "manage_stock": True,
        "low_stock_date": stock["low_stock_date"],
        "is_decimal_divided": False,
        "stock_status_changed_auto": 1,
    }
    assert stock["low_stock_date"] is not None  # 0 is below the notify quantity (1)


def test_get_and_search_answer_the_same_full_product(admin):
    saved = admin.post("all/V1/products", minimal()).json()

    read = admin.get("all/V1/products/MIN-1").json()
    found = admin.get(
        "all/V1/products",
        {
            "searchCriteria[filter_groups][0][filters][0][field]": "sku",
            "searchCriteria[filter_groups][0][filters][0][value]": "MIN-1",
        },
    ).json()["items"]

    assert_magento_product(read)
    assert read == saved
    assert found == [saved]


def test_description_and_tax_class_are_answered_as_set(admin):
    body = admin.post(
        "all/V1/products",
        minimal(
            custom_attributes=[
                {"attribute_code": "description", "value": "<p>Long</p>"},
                {"attribute_code": "short_description", "value": "Short"},
                {"attribute_code": "tax_class_id", "value": "0"},
            ]
        ),
    ).json()

    values = attributes(body)
    assert (values["description"], values["short_description"]) == ("<p>Long</p>", "Short")
    assert values["tax_class_id"] == "0"
    assert [a["attribute_code"] for a in body["custom_attributes"]].count("tax_class_id") == 1


# --- url_key ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "url_key"),
    [
        ("Crème Brûlée (Große)", "creme-brulee-grosse"),
        ("  T-Shirt -- Blue!  ", "t-shirt-blue"),
        ("Salt &amp; Pepper", "salt-and-pepper"),
        ("Чайник", "chaynik"),
    ],
)
def test_the_url_key_is_generated_from_the_name_as_magento_formats_it(admin, name, url_key):
    body = admin.post("all/V1/products", minimal(name=name)).json()

    assert attributes(body)["url_key"] == url_key


def test_a_given_url_key_is_formatted_and_kept_when_the_product_is_renamed(admin):
    admin.post(
        "all/V1/products",
        minimal(custom_attributes=[{"attribute_code": "url_key", "value": "My Key"}]),
    )

    renamed = admin.put("all/V1/products/MIN-1", {"product": {"name": "Another name"}}).json()

    assert attributes(renamed)["url_key"] == "my-key"
    assert Product.objects.get(sku="MIN-1").custom_attributes == []


def test_two_products_with_one_url_key_are_refused_with_magentos_message(admin):
    admin.post("all/V1/products", minimal("A-1", name="Same name"))

    same_name = admin.post("all/V1/products", minimal("A-2", name="Same name"))
    admin.post("all/V1/products", minimal("B-1", name="Other"))
    taken_by_update = admin.put(
        "all/V1/products/B-1",
        {"product": {"custom_attributes": [{"attribute_code": "url_key", "value": "same-name"}]}},
    )
    own_again = admin.put(
        "all/V1/products/A-1",
        {"product": {"custom_attributes": [{"attribute_code": "url_key", "value": "same-name"}]}},
    )

    for refused in (same_name, taken_by_update):
        assert refused.status_code == 400
        assert refused.json() == {"message": URL_KEY_TAKEN, "parameters": []}
    assert own_again.status_code == 200
    assert not Product.objects.filter(sku="A-2").exists()
    assert Product.objects.get(sku="B-1").url_key == "other"


def test_products_can_be_searched_by_url_key(admin):
    admin.post("all/V1/products", minimal("U-1", name="Find me"))
    admin.post("all/V1/products", minimal("U-2", name="Not me"))

    found = admin.get(
        "all/V1/products",
        {
            "searchCriteria[filter_groups][0][filters][0][field]": "url_key",
            "searchCriteria[filter_groups][0][filters][0][value]": "find-me",
        },
    ).json()

    assert [item["sku"] for item in found["items"]] == ["U-1"]


# --- category_ids --------------------------------------------------------------------------


@pytest.fixture
def categories(admin):
    return [
        admin.post("V1/categories", {"category": {"name": name}}).json()["id"]
        for name in ("Shirts", "Sale", "New")
    ]


def test_category_ids_written_as_a_custom_attribute_replace_the_category_links(admin, categories):
    shirts, sale, new = categories
    admin.post(
        "all/V1/products",
        minimal(
            extension_attributes={
                "category_links": [
                    {"category_id": shirts, "position": 5},
                    {"category_id": sale, "position": 1},
                ]
            }
        ),
    )

    body = admin.put(
        "all/V1/products/MIN-1",
        {
            "product": {
                "custom_attributes": [
                    {"attribute_code": "category_ids", "value": [str(shirts), str(new)]}
                ]
            }
        },
    ).json()

    assert attributes(body)["category_ids"] == [str(shirts), str(new)]
    assert body["extension_attributes"]["category_links"] == [
        {"position": 5, "category_id": str(shirts)},  # kept, with its position
        {"position": 0, "category_id": str(new)},
    ]
    assert sorted(
        CategoryProduct.objects.filter(product__sku="MIN-1").values_list("category_id", flat=True)
    ) == [shirts, new]
    assert admin.get(f"V1/categories/{sale}/products").json() == []
    assert "category_ids" not in json.dumps(Product.objects.get(sku="MIN-1").custom_attributes)


def test_category_ids_on_create_accept_a_comma_separated_string(admin, categories):
    shirts, sale, _new = categories

    body = admin.post(
        "all/V1/products",
        minimal(
            custom_attributes=[{"attribute_code": "category_ids", "value": f"{shirts},{sale}"}]
        ),
    ).json()

    assert attributes(body)["category_ids"] == [str(shirts), str(sale)]
    assert admin.get("all/V1/products/MIN-1").json()["extension_attributes"]["category_links"] == [
        {"position": 0, "category_id": str(shirts)},
        {"position": 0, "category_id": str(sale)},
    ]


@pytest.mark.parametrize(
    ("value", "status", "parameters"),
    [
        (["999"], 404, [999]),
        (["x"], 400, {"value": "x", "fieldName": "category_ids"}),
    ],
)
def test_bad_category_ids_are_refused_and_nothing_is_saved(admin, value, status, parameters):
    response = admin.post(
        "all/V1/products",
        minimal(custom_attributes=[{"attribute_code": "category_ids", "value": value}]),
    )

    assert response.status_code == status, response.content
    assert response.json()["parameters"] == parameters
    assert not Product.objects.exists()


# --- stock through the product --------------------------------------------------------------


def test_stock_item_sent_with_the_product_sets_its_stock_everywhere(admin):
    created = admin.post(
        "all/V1/products",
        minimal(extension_attributes={"stock_item": {"qty": "12.5", "is_in_stock": True}}),
    ).json()
    updated = admin.put(
        "all/V1/products/MIN-1",
        {"product": {"extension_attributes": {"stock_item": {"qty": 3}}}},
    ).json()

    assert created["extension_attributes"]["stock_item"]["qty"] == 12.5
    assert created["extension_attributes"]["stock_item"]["is_in_stock"] is True
    assert updated["extension_attributes"]["stock_item"]["qty"] == 3
    assert admin.get("V1/stockItems/MIN-1").json()["qty"] == 3
    source_item = SourceItem.objects.get(product__sku="MIN-1", source_id="default")
    assert (source_item.quantity, source_item.status) == (3, 1)


def test_an_unknown_stock_item_field_is_refused_naming_it(admin):
    response = admin.post(
        "all/V1/products", minimal(extension_attributes={"stock_item": {"quantity": 3}})
    )

    assert response.status_code == 400
    assert response.json()["parameters"]["fieldName"] == "quantity"


def test_a_search_renders_its_page_with_a_fixed_number_of_queries(admin, categories):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = admin.get("all/V1/products", {"searchCriteria[pageSize]": "50"})
        assert response.status_code == 200
        return len(queries)

    admin.post("all/V1/products", minimal("Q-0", name="Q 0"))
    one = count_queries()
    for i in range(1, 8):
        admin.post(
            "all/V1/products",
            minimal(
                f"Q-{i}",
                name=f"Q {i}",
                extension_attributes={
                    "category_links": [{"category_id": categories[0]}],
                    "stock_item": {"qty": i},
                },
            ),
        )

    assert count_queries() == one


# --- async and bulk --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_async_and_bulk_saves_record_the_full_product_answer(api, admin_token, db_ops_topology):
    single = api.post(
        "all/async/V1/products", minimal("ASYNC-1", name="Async one"), token=admin_token
    )
    _response, bulk = bulk_post(
        api,
        "all/async/bulk/V1/products",
        [
            minimal("BULK-1", name="Bulk one"),
            minimal("BULK-2", name="Bulk two", extension_attributes={"stock_item": {"qty": 4}}),
        ],
        admin_token,
    )
    assert single.status_code == 202, single.content

    db_ops_topology.run()

    from operations.models import Operation

    operations = Operation.objects.order_by("id")
    assert [op.status for op in operations] == [OperationStatus.COMPLETE] * 3
    answers = [json.loads(op.result_serialized_data) for op in operations]
    for answer in answers:
        assert_magento_product(answer)
    assert [attributes(a)["url_key"] for a in answers] == ["async-one", "bulk-one", "bulk-two"]
    assert answers[2]["extension_attributes"]["stock_item"]["qty"] == 4
    assert bulk.operations.count() == 2
