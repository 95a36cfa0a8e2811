"""Products through the REST API: create, read, update, search, delete, store scope."""

from __future__ import annotations

import pytest

from catalog.models import Product, ProductStoreValue
from store.models import Store, Website

pytestmark = pytest.mark.django_db

PRODUCT_NOT_FOUND = (
    "The product that was requested doesn't exist. Verify the product and try again."
)


@pytest.fixture
def admin(api, admin_token):
    return api.as_admin(admin_token)


# Answered for every product (tests/test_rest_products_shape.py checks their values).
SYSTEM_ATTRIBUTES = {
    "url_key",
    "category_ids",
    "tax_class_id",
    "options_container",
    "msrp_display_actual_price_type",
    "required_options",
    "has_options",
}


def own_attributes(body):
    """Return a product answer's custom attributes other than Magento's system ones."""
    return [a for a in body["custom_attributes"] if a["attribute_code"] not in SYSTEM_ATTRIBUTES]


def product(sku="SKU-1", **fields):
    return {"product": {"sku": sku, "name": f"Product {sku}", "price": 10, **fields}}


def test_post_creates_a_product_and_answers_it_in_magentos_shape(admin):
    response = admin.post(
        "all/V1/products",
        product(
            "TSHIRT",
            name="T-shirt",
            price="19.99",
            attribute_set_id="4",
            weight="0.25",
            status=1,
            visibility=4,
            type_id="simple",
            custom_attributes=[{"attribute_code": "color", "value": "red"}],
        ),
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["sku"] == "TSHIRT"
    assert body["name"] == "T-shirt"
    assert body["price"] == 19.99
    assert body["weight"] == 0.25
    assert body["attribute_set_id"] == 4
    assert body["status"] == 1 and body["visibility"] == 4 and body["type_id"] == "simple"
    assert own_attributes(body) == [{"attribute_code": "color", "value": "red"}]
    assert body["extension_attributes"]["website_ids"] == [1]
    assert body["extension_attributes"]["category_links"] == []
    assert body["extension_attributes"]["stock_item"]["qty"] == 0
    assert isinstance(body["id"], int)
    assert len(body["created_at"]) == 19 and body["created_at"] == body["updated_at"]
    assert str(Product.objects.get(sku="TSHIRT").price).rstrip("0") == "19.99"


def test_defaults_follow_magento(admin):
    body = admin.post("all/V1/products", {"product": {"sku": "MIN", "name": "Minimal"}}).json()

    assert (body["type_id"], body["attribute_set_id"], body["status"], body["visibility"]) == (
        "simple",
        4,
        1,
        4,
    )
    assert "price" not in body and "weight" not in body  # Magento leaves nulls out


def test_get_reads_a_product_by_sku(admin):
    admin.post("all/V1/products", product("A-1"))

    response = admin.get("V1/products/A-1")

    assert response.status_code == 200
    assert response.json()["name"] == "Product A-1"


def test_a_trailing_slash_is_tolerated(admin):
    admin.post("all/V1/products/", product("SLASH"))

    assert admin.get("V1/products/SLASH/").json()["sku"] == "SLASH"


def test_get_of_an_unknown_sku_is_404_with_magentos_message(admin):
    response = admin.get("V1/products/NOPE")

    assert response.status_code == 404
    assert response.json() == {"message": PRODUCT_NOT_FOUND, "parameters": []}


def test_put_creates_a_missing_product_then_updates_it(admin):
    created = admin.put("all/V1/products/NEW", {"product": {"name": "New", "price": 5}})
    updated = admin.put("all/V1/products/NEW", {"product": {"price": "7.5", "status": 2}})

    assert created.status_code == 200 and updated.status_code == 200
    body = updated.json()
    assert body["id"] == created.json()["id"]
    assert (body["name"], body["price"], body["status"]) == ("New", 7.5, 2)
    assert Product.objects.filter(sku="NEW").count() == 1


def test_post_with_an_existing_sku_updates_that_product(admin):
    first = admin.post("all/V1/products", product("SAME", price=1)).json()
    second = admin.post("all/V1/products", product("SAME", price=2)).json()

    assert second["id"] == first["id"] and second["price"] == 2


def test_put_merges_custom_attributes_by_code(admin):
    admin.post(
        "all/V1/products",
        product(
            "CA",
            custom_attributes=[
                {"attribute_code": "color", "value": "red"},
                {"attribute_code": "size", "value": "M"},
            ],
        ),
    )

    body = admin.put(
        "all/V1/products/CA",
        {
            "product": {
                "custom_attributes": [
                    {"attribute_code": "size", "value": "L"},
                    {"attribute_code": "material", "value": ["cotton"]},
                ]
            }
        },
    ).json()

    assert own_attributes(body) == [
        {"attribute_code": "color", "value": "red"},
        {"attribute_code": "size", "value": "L"},
        {"attribute_code": "material", "value": ["cotton"]},
    ]


def test_put_with_a_different_sku_in_the_body_is_refused(admin):
    admin.post("all/V1/products", product("URL-SKU"))

    response = admin.put("all/V1/products/URL-SKU", product("BODY-SKU"))

    assert response.status_code == 400
    assert "differ" in response.json()["message"]
    assert not Product.objects.filter(sku="BODY-SKU").exists()


def test_delete_answers_true_and_removes_the_product(admin):
    admin.post("all/V1/products", product("GONE"))

    response = admin.delete("V1/products/GONE")

    assert response.status_code == 200 and response.json() is True
    assert admin.get("V1/products/GONE").status_code == 404
    assert admin.delete("V1/products/GONE").status_code == 404


def test_a_new_product_without_a_name_is_refused(admin):
    response = admin.post("all/V1/products", {"product": {"sku": "NONAME", "price": 1}})

    assert response.status_code == 400
    assert response.json() == {
        "message": 'The "%1" attribute value is empty. Set the attribute and try again.',
        "parameters": ["name"],
    }


@pytest.mark.parametrize(
    ("body", "message", "parameters"),
    [
        ({}, '"%fieldName" is required. Enter and try again.', {"fieldName": "product"}),
        ({"sku": "A"}, '"%fieldName" is required. Enter and try again.', {"fieldName": "product"}),
        (
            {"product": {"name": "x"}},
            '"%fieldName" is required. Enter and try again.',
            {"fieldName": "sku"},
        ),
        ({"product": "A"}, None, None),
        (
            {"product": {"sku": "A", "name": "x", "price": "ten"}},
            'The "%value" value\'s type is invalid. '
            'The "%type" type was expected. Verify and try again.',
            {"value": "ten", "type": "float"},
        ),
        (
            {"product": {"sku": "A", "name": "x", "status": 9}},
            'Invalid value of "%value" provided for the %fieldName field.',
            {"value": 9, "fieldName": "status"},
        ),
        ({"product": {"sku": "A", "name": "x", "visibility": "all"}}, None, None),
        (
            {"product": {"sku": "A", "name": "x", "type_id": "spaceship"}},
            'Invalid value of "%value" provided for the %fieldName field.',
            {"value": "spaceship", "fieldName": "type_id"},
        ),
        ({"product": {"sku": "A" * 65, "name": "x"}}, None, None),
        ({"product": {"sku": "A", "name": "x", "custom_attributes": {"color": "red"}}}, None, None),
        (
            {"product": {"sku": "A", "name": "x", "custom_attributes": [{"value": "red"}]}},
            '"%fieldName" is required. Enter and try again.',
            {"fieldName": "attribute_code"},
        ),
        ({"product": {"sku": "A", "name": "x", "options": [{"title": "engraving"}]}}, None, None),
    ],
)
def test_bad_product_bodies_are_400_in_magentos_shape(admin, body, message, parameters):
    response = admin.post("all/V1/products", body)

    assert response.status_code == 400, response.content
    answer = response.json()
    assert set(answer) >= {"message", "parameters"}
    if message is not None:
        assert (answer["message"], answer["parameters"]) == (message, parameters)
    assert not Product.objects.exists()


def test_an_unknown_product_field_is_refused_naming_the_field(admin):
    response = admin.post("all/V1/products", product("X", colour="red"))

    assert response.status_code == 400
    answer = response.json()
    assert answer["parameters"]["fieldName"] == "colour"
    assert answer["message"].startswith('Property "%fieldName" does not have accessor method')


def test_an_unknown_top_level_key_is_ignored_as_magento_does(admin):
    response = admin.post("all/V1/products", {**product("TOP"), "saveOptions": True, "extra": 1})

    assert response.status_code == 200


def test_empty_magento_lists_are_accepted(admin):
    response = admin.post(
        "all/V1/products",
        product(
            "FULL",
            product_links=[],
            options=[],
            media_gallery_entries=[],
            tier_prices=[],
            extension_attributes={
                "website_ids": [1],
                "stock_item": {"qty": 5, "is_in_stock": True},
            },
        ),
    )

    assert response.status_code == 200, response.content
    stock_item = response.json()["extension_attributes"]["stock_item"]
    assert (stock_item["qty"], stock_item["is_in_stock"]) == (5, True)


def test_an_unknown_website_is_refused(admin):
    response = admin.post(
        "all/V1/products", product("W", extension_attributes={"website_ids": [42]})
    )

    assert response.status_code == 400
    assert response.json()["parameters"] == [42]


def test_category_links_in_the_product_body_assign_the_product(admin):
    category = admin.post("V1/categories", {"category": {"name": "Shirts"}}).json()

    body = admin.post(
        "all/V1/products",
        product(
            "LINKED",
            extension_attributes={
                "category_links": [{"category_id": str(category["id"]), "position": 3}],
            },
        ),
    ).json()
    read = admin.get("V1/products/LINKED").json()
    assigned = admin.get(f"V1/categories/{category['id']}/products").json()

    expected = [{"position": 3, "category_id": str(category["id"])}]
    assert body["extension_attributes"]["category_links"] == expected
    assert read["extension_attributes"]["category_links"] == expected
    assert assigned == [{"sku": "LINKED", "position": 3, "category_id": str(category["id"])}]


# --- store scope ----------------------------------------------------------------------


@pytest.fixture
def french_store(db):
    return Store.objects.create(id=2, code="fr", name="French", website=Website.objects.get(pk=1))


def test_the_name_saved_in_a_store_view_overrides_the_default_only_there(admin, french_store):
    admin.post("all/V1/products", product("SCOPED", name="Global name"))

    admin.put("default/V1/products/SCOPED", {"product": {"name": "Default store name"}})

    assert admin.get("all/V1/products/SCOPED").json()["name"] == "Global name"
    assert admin.get("default/V1/products/SCOPED").json()["name"] == "Default store name"
    assert admin.get("V1/products/SCOPED").json()["name"] == "Default store name"
    assert admin.get("fr/V1/products/SCOPED").json()["name"] == "Global name"


def test_a_default_name_saved_later_still_shows_in_stores_without_their_own(admin, french_store):
    admin.post("all/V1/products", product("SCOPED2", name="v1"))
    admin.put("default/V1/products/SCOPED2", {"product": {"name": "store one"}})

    admin.put("all/V1/products/SCOPED2", {"product": {"name": "v2"}})

    assert admin.get("fr/V1/products/SCOPED2").json()["name"] == "v2"
    assert admin.get("default/V1/products/SCOPED2").json()["name"] == "store one"


def test_a_product_created_in_a_store_view_gets_its_name_as_the_default_only(admin):
    admin.post("default/V1/products", product("FROM-STORE", name="Made in store 1"))

    admin.put("all/V1/products/FROM-STORE", {"product": {"name": "Renamed globally"}})

    assert admin.get("default/V1/products/FROM-STORE").json()["name"] == "Renamed globally"
    assert not ProductStoreValue.objects.exists()


def test_global_fields_saved_in_a_store_view_change_everywhere(admin):
    admin.post("all/V1/products", product("PRICE", price=1))

    admin.put("default/V1/products/PRICE", {"product": {"price": 2}})

    assert admin.get("all/V1/products/PRICE").json()["price"] == 2


def test_an_unknown_store_code_is_400(admin):
    response = admin.get("nowhere/V1/products/X")

    assert response.status_code == 400


# --- search ---------------------------------------------------------------------------


def test_search_filters_sorts_and_pages_products(admin):
    for i, price in enumerate([5, 15, 25, 35]):
        admin.post("all/V1/products", product(f"S-{i}", price=price))
    admin.post("all/V1/products", product("OTHER", price=100))

    response = admin.get(
        "V1/products",
        {
            "searchCriteria[filter_groups][0][filters][0][field]": "sku",
            "searchCriteria[filter_groups][0][filters][0][value]": "S-%",
            "searchCriteria[filter_groups][0][filters][0][condition_type]": "like",
            "searchCriteria[filter_groups][1][filters][0][field]": "price",
            "searchCriteria[filter_groups][1][filters][0][value]": "10",
            "searchCriteria[filter_groups][1][filters][0][condition_type]": "gt",
            "searchCriteria[sortOrders][0][field]": "price",
            "searchCriteria[sortOrders][0][direction]": "DESC",
            "searchCriteria[pageSize]": "2",
            "searchCriteria[currentPage]": "1",
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total_count"] == 3
    assert [item["sku"] for item in body["items"]] == ["S-3", "S-2"]
    assert body["search_criteria"]["page_size"] == 2
    assert body["items"][0]["extension_attributes"]["category_links"] == []


def test_search_by_name_uses_the_name_in_the_callers_store(admin):
    admin.post("all/V1/products", product("N1", name="Blue shirt"))
    admin.put("default/V1/products/N1", {"product": {"name": "Chemise bleue"}})
    query = {
        "searchCriteria[filter_groups][0][filters][0][field]": "name",
        "searchCriteria[filter_groups][0][filters][0][value]": "%bleue%",
        "searchCriteria[filter_groups][0][filters][0][condition_type]": "like",
    }

    in_store = admin.get("default/V1/products", query).json()
    globally = admin.get("all/V1/products", query).json()

    assert [i["name"] for i in in_store["items"]] == ["Chemise bleue"]
    assert globally["total_count"] == 0


def test_search_by_an_unknown_field_is_400(admin):
    response = admin.get(
        "V1/products",
        {
            "searchCriteria[filter_groups][0][filters][0][field]": "password",
            "searchCriteria[filter_groups][0][filters][0][value]": "x",
        },
    )

    assert response.status_code == 400


# --- permissions ----------------------------------------------------------------------


def test_reading_needs_view_product_and_writing_needs_change_product(api, limited_user):
    reader = api.as_admin(limited_user(["catalog.view_product"]))
    writer = api.as_admin(limited_user(["catalog.change_product"]))

    created = writer.post("all/V1/products", product("PERM"))
    refused_write = reader.post("all/V1/products", product("PERM2"))
    read = reader.get("V1/products/PERM")
    refused_read = writer.get("V1/products/PERM")

    assert created.status_code == 200
    assert refused_write.status_code == 403
    assert refused_write.json()["message"] == "The consumer isn't authorized to access %resources."
    assert read.status_code == 200
    assert refused_read.status_code == 403


def test_an_integration_with_the_product_permission_may_write(api, make_integration):
    _integration, token = make_integration(perms=["catalog.change_product"])

    response = api.post("all/V1/products", product("INT"), token=token)

    assert response.status_code == 200


def test_no_token_is_401(api):
    assert api.get("V1/products/X").status_code == 401
    assert api.post("V1/products", product("X")).status_code == 401


# --- concurrent writers (PostgreSQL) ------------------------------------------------------


def _concurrently(first, second):
    """Run `first` in a transaction that stays open until `second` has started and waits on it."""
    import threading
    import time

    from django.db import connection, transaction

    inserted = threading.Event()
    outcome: dict[str, object] = {}

    def run(name, call, before_commit=None, after_start=None):
        try:
            if after_start:
                after_start()
            with transaction.atomic():
                outcome[name] = call()
                if before_commit:
                    before_commit()
        except Exception as exc:  # recorded for the assertions
            outcome[name] = exc
        finally:
            connection.close()

    def hold():
        inserted.set()
        time.sleep(0.4)  # the second writer is now blocked on the unique index

    a = threading.Thread(target=run, args=("first", first, hold))
    b = threading.Thread(target=run, args=("second", second, None, inserted.wait))
    a.start()
    b.start()
    a.join(10)
    b.join(10)
    return outcome["first"], outcome["second"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_creates_of_one_sku_end_in_one_product_updated_by_the_later(postgresql):
    from catalog.services import ProductRepository
    from webapi.routes import CallContext

    ctx = CallContext(store=Store.objects.get(pk=0), user=None)

    first, second = _concurrently(
        lambda: ProductRepository.save(ctx, {"sku": "RACE", "name": "First", "price": 1}),
        lambda: ProductRepository.save(ctx, {"sku": "RACE", "name": "Second", "price": 2}),
    )

    assert isinstance(first, dict) and isinstance(second, dict), (first, second)
    assert first["id"] == second["id"]
    assert Product.objects.get(sku="RACE").price == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_accounts_with_one_email_end_in_magentos_duplicate_message(postgresql):
    from catalog.models import Customer
    from catalog.services import AccountManagement
    from webapi.exceptions import InputMismatchException
    from webapi.routes import CallContext

    ctx = CallContext(store=Store.objects.get(pk=1), user=None)
    data = {"email": "race@example.com", "firstname": "R", "lastname": "C"}

    first, second = _concurrently(
        lambda: AccountManagement.create_account(ctx, data),
        lambda: AccountManagement.create_account(ctx, data),
    )

    assert isinstance(first, dict)
    assert isinstance(second, InputMismatchException)
    assert Customer.objects.count() == 1


def test_a_product_read_can_be_sent_back_unchanged_with_put(admin):
    admin.post(
        "all/V1/products",
        product(
            "ROUND",
            custom_attributes=[{"attribute_code": "color", "value": "red"}],
            extension_attributes={
                "stock_item": {"qty": 5, "is_in_stock": True},
                "website_ids": [1],
            },
        ),
    )
    read = admin.get("all/V1/products/ROUND").json()

    response = admin.put("all/V1/products/ROUND", {"product": {**read, "price": 12}})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["price"] == 12
    assert body["created_at"] == read["created_at"]
    assert body["custom_attributes"] == read["custom_attributes"]
    assert body["extension_attributes"]["stock_item"] == read["extension_attributes"]["stock_item"]
    assert (read["extension_attributes"]["stock_item"]["qty"], body["id"]) == (5, read["id"])
