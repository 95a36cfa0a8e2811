"""Magento's REST dialect where clients lean on it: paging from page 0 and past the end,
field names in any case, date filters whose value is not a date, the `fields`
parameter, and literal path segments winning over parameters (sync, async and bulk)."""

from __future__ import annotations

import datetime as dt

import pytest

from catalog.models import Product
from tests.fixtures.webapi import temporary_route
from webapi.fields import filter_fields, parse_fields
from webapi.routes import Route, routes

pytestmark = pytest.mark.django_db

FILTER = "searchCriteria[filter_groups][0][filters][0]"


@pytest.fixture
def admin(api, admin_token):
    return api.as_admin(admin_token)


@pytest.fixture
def products(admin):
    for sku, qty in (("A", 5), ("B", 0), ("C", 7)):
        response = admin.post(
            "V1/products",
            {
                "product": {
                    "sku": sku,
                    "name": f"Product {sku}",
                    "price": 10,
                    "custom_attributes": [
                        {"attribute_code": "color", "value": "red"},
                        {"attribute_code": "size", "value": "M"},
                    ],
                    "extension_attributes": {"stock_item": {"qty": qty, "is_in_stock": qty > 0}},
                }
            },
        )
        assert response.status_code == 200, response.content
    return ["A", "B", "C"]


def skus(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["sku"] for item in response.json()["items"]]


def page(size, current) -> dict[str, str]:
    return {
        "searchCriteria[pageSize]": str(size),
        "searchCriteria[currentPage]": str(current),
        "searchCriteria[sortOrders][0][field]": "sku",
    }


# --- paging -------------------------------------------------------------------------


@pytest.mark.parametrize("current", [0, -3])
def test_current_page_zero_or_below_is_page_one(admin, products, current):
    response = admin.get("V1/products", page(2, current))

    assert skus(response) == ["A", "B"]
    assert response.json()["search_criteria"]["current_page"] == current
    assert response.json()["total_count"] == 3


def test_current_page_one_and_two_follow_on(admin, products):
    assert skus(admin.get("V1/products", page(2, 1))) == ["A", "B"]
    assert skus(admin.get("V1/products", page(2, 2))) == ["C"]


def test_a_page_past_the_end_is_empty_with_the_true_total_as_on_magento_2_4(admin, products):
    response = admin.get("V1/products", page(2, 3))

    assert skus(response) == []
    body = response.json()
    assert body["total_count"] == 3
    assert body["search_criteria"]["current_page"] == 3


def test_page_size_zero_is_no_limit(admin, products):
    assert skus(admin.get("V1/products", page(0, 1))) == ["A", "B", "C"]


@pytest.mark.parametrize(("key", "value"), [("currentPage", "two"), ("pageSize", "-1")])
def test_a_page_that_is_no_number_is_a_400_in_magentos_shape(admin, products, key, value):
    response = admin.get("V1/products", {f"searchCriteria[{key}]": value})

    assert response.status_code == 400
    assert response.json() == {
        "message": 'Invalid value of "%value" provided for the %fieldName field.',
        "parameters": {"value": value, "fieldName": f"searchCriteria[{key}]"},
    }


# --- field names in any case -----------------------------------------------------------


@pytest.mark.parametrize("field", ["sku", "SKU", "Sku"])
def test_filter_field_names_match_whatever_their_case(admin, products, field):
    query = {f"{FILTER}[field]": field, f"{FILTER}[value]": "B", f"{FILTER}[condition_type]": "eq"}

    response = admin.get("V1/products", query)

    assert skus(response) == ["B"]
    # The criteria are echoed as given.
    assert response.json()["search_criteria"]["filter_groups"][0]["filters"][0]["field"] == field


def test_sort_order_field_names_match_whatever_their_case(admin, products):
    query = {
        "searchCriteria[sortOrders][0][field]": "SKU",
        "searchCriteria[sortOrders][0][direction]": "desc",
    }

    assert skus(admin.get("V1/products", query)) == ["C", "B", "A"]


def test_an_unknown_field_is_still_refused_in_any_case(admin, products):
    query = {f"{FILTER}[field]": "PASSWORD", f"{FILTER}[value]": "x"}

    response = admin.get("V1/products", query)

    assert response.status_code == 400
    assert response.json()["parameters"]["fieldName"] == "PASSWORD"


# --- date filters whose value is not a date ----------------------------------------------


def date_filter(condition: str, value: str, field: str = "updated_at") -> dict[str, str]:
    return {
        f"{FILTER}[field]": field,
        f"{FILTER}[value]": value,
        f"{FILTER}[condition_type]": condition,
    }


@pytest.mark.parametrize("condition", ["gteq", "gt", "from", "moreq", "neq"])
@pytest.mark.parametrize("value", ["None", "null", "abc", ""])
def test_a_date_after_a_value_that_is_not_a_date_is_every_dated_row(
    admin, products, condition, value
):
    response = admin.get("V1/products", date_filter(condition, value))

    assert sorted(skus(response)) == ["A", "B", "C"]


@pytest.mark.parametrize("condition", ["lteq", "lt", "to", "eq"])
def test_a_date_before_or_equal_to_a_value_that_is_not_a_date_is_no_row(admin, products, condition):
    assert skus(admin.get("V1/products", date_filter(condition, "None"))) == []


def test_rows_without_a_date_never_match_a_value_that_is_not_a_date(api, admin_token):
    from django.contrib.auth import get_user_model

    from webapi.search import search

    User = get_user_model()
    User.objects.create(username="never", last_login=None)
    User.objects.create(username="once", last_login=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))

    def call(ctx, params, data):
        found = search(User.objects.all(), data, {"last_login": "last_login"})
        return found.answer(lambda u: {"sku": u.username})

    with temporary_route(Route("GET", "/V1/test-dialect/users", "tests.dialect", call, None)):
        response = api.get("V1/test-dialect/users", date_filter("gteq", "None", "last_login"))

    assert skus(response) == ["once"]


def test_a_real_date_still_filters_by_date(admin, products):
    Product.objects.filter(sku="A").update(updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))

    later = admin.get("V1/products", date_filter("gteq", "2021-01-01 00:00:00"))
    earlier = admin.get("V1/products", date_filter("lt", "2021-01-01"))

    assert sorted(skus(later)) == ["B", "C"]
    assert skus(earlier) == ["A"]


def test_a_date_field_takes_a_date_with_a_time_and_refuses_nothing_else(admin):
    for email, dob in (("old@example.com", "1970-05-01"), ("young@example.com", "2001-05-01")):
        customer = {"email": email, "firstname": "F", "lastname": "L", "dob": dob}
        assert admin.post("V1/customers", {"customer": customer}).status_code == 200

    def emails(condition, value):
        response = admin.get("V1/customers/search", date_filter(condition, value, "DOB"))
        assert response.status_code == 200, response.content
        return sorted(item["email"] for item in response.json()["items"])

    assert emails("gt", "1990-01-01 00:00:00") == ["young@example.com"]
    assert emails("lteq", "1990-01-01") == ["old@example.com"]
    assert emails("gteq", "None") == ["old@example.com", "young@example.com"]
    assert emails("lt", "None") == []


# --- fields= ------------------------------------------------------------------------------


def test_fields_keeps_the_named_keys_of_each_item_and_the_total(admin, products):
    response = admin.get("V1/products", {**page(2, 1), "fields": "items[sku,name],total_count"})

    assert response.status_code == 200
    assert response.json() == {
        "items": [{"sku": "A", "name": "Product A"}, {"sku": "B", "name": "Product B"}],
        "total_count": 3,
    }


def test_fields_reach_into_nested_objects(admin, products):
    response = admin.get(
        "V1/products",
        {**page(1, 1), "fields": "items[sku,extension_attributes[stock_item[qty]]]"},
    )

    assert response.json() == {
        "items": [{"sku": "A", "extension_attributes": {"stock_item": {"qty": 5}}}]
    }


def test_fields_select_custom_attributes_by_code(admin, products):
    response = admin.get("V1/products/A", {"fields": "sku,custom_attributes[size]"})

    assert response.json() == {
        "sku": "A",
        "custom_attributes": [{"attribute_code": "size", "value": "M"}],
    }


def test_fields_filter_a_list_answer_item_by_item(admin):
    response = admin.get("V1/store/websites", {"fields": "code"})

    assert response.json() == [{"code": "admin"}, {"code": "base"}]


def test_fields_apply_to_the_answer_of_a_write_too(admin):
    response = admin.post(
        "V1/products?fields=sku,price", {"product": {"sku": "W", "name": "W", "price": 3}}
    )

    assert response.status_code == 200
    assert response.json() == {"sku": "W", "price": 3}


@pytest.mark.parametrize("fields", ["items[sku", "items sku", "items[sku]]", "sku;name"])
def test_malformed_fields_answer_an_empty_list_as_on_magento(admin, products, fields):
    response = admin.get("V1/products", {"fields": fields})

    assert response.status_code == 200
    assert response.json() == []


def test_an_empty_fields_parameter_filters_nothing(admin, products):
    response = admin.get("V1/products/A", {"fields": ""})

    assert response.json()["sku"] == "A" and "price" in response.json()


def test_fields_leave_a_scalar_answer_alone(admin, products):
    response = admin.delete("V1/products/A?fields=sku")

    assert response.status_code == 200 and response.json() is True


def test_fields_parsing_nests_brackets():
    assert parse_fields("customer[id,email],addresses[city,region[code]]") == {
        "customer": {"id": True, "email": True},
        "addresses": {"city": True, "region": {"code": True}},
    }
    assert parse_fields("a]") is None
    assert filter_fields({"a": 1, "b": {"c": 2, "d": 3}}, "b[d],z") == {"b": {"d": 3}}
    assert filter_fields({"a": "text"}, "a[b]") == {"a": "text"}


# --- literal path segments win over parameters -----------------------------------------------


@pytest.fixture
def special_price_route():
    """A write route with a literal where products have their SKU (as the price APIs do)."""

    def call(ctx, params, data):
        return {"special": True}

    declared = Route("POST", "/V1/products/literal-probe", "tests.dialect.special", call, None)
    with temporary_route(declared):
        yield declared


def test_a_literal_segment_wins_over_a_sku_in_the_sync_api(admin, products, special_price_route):
    assert admin.post("V1/products/literal-probe", {}).json() == {"special": True}
    # Under a method only the parameter route has, the path is still never a SKU.
    for method in ("GET", "PUT", "DELETE"):
        response = admin.request(method, "V1/products/literal-probe", {"product": {}})
        assert response.status_code == 405, (method, response.content)
    assert Product.objects.filter(sku="literal-probe").count() == 0
    assert admin.get("V1/products/A").json()["sku"] == "A"


def test_a_literal_segment_wins_in_the_registry_for_every_method(special_price_route):
    route, params = routes.resolve("POST", "/V1/products/literal-probe")
    assert route is special_price_route and params == {}
    route, params = routes.resolve("PUT", "/V1/products/A")
    assert route.path == "/V1/products/:sku" and params == {"sku": "A"}


def test_a_literal_get_route_is_never_read_as_a_customer_id(admin):
    response = admin.get("V1/customers/search")
    assert response.status_code == 200 and "items" in response.json()

    for method in ("PUT", "DELETE"):
        assert admin.request(method, "V1/customers/search", {}).status_code == 405


def test_async_and_bulk_paths_obey_the_same_rule(admin, products, special_price_route):
    async_put = admin.put("async/V1/products/literal-probe", {"product": {"sku": "X"}})
    async_put_customer = admin.put("async/V1/customers/search", {"customer": {}})
    bulk_put = admin.put("async/bulk/V1/products/literal-probe", [{"product": {"sku": "X"}}])
    bulk_sku = admin.put("async/bulk/V1/products/bySku", [{"product": {"sku": "A", "name": "N"}}])

    assert async_put.status_code == 405, async_put.content
    assert async_put_customer.status_code in (404, 405), async_put_customer.content
    assert bulk_put.status_code == 405, bulk_put.content
    assert bulk_sku.status_code == 202, bulk_sku.content
    route, _ = routes.resolve_async("PUT", "/V1/products/A", bulk=False)
    assert route.path == "/V1/products/:sku"
