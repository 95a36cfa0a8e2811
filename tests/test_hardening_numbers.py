"""Issue 12, defects 5 and 7: oversized numbers and deep nesting are a 400 (a rejected item
in a bulk), never a 500, and nothing accepted can fail later for its size or depth."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from catalog.models import Block, Category, Customer, Product
from operations import items
from operations.items import REDACTED, deserialize_item, redact_secrets, serialize_item
from operations.models import Bulk, Operation, OperationStatus
from tests.fixtures.operations import bulk_post, product_item
from webapi.execution import MAX_DEPTH, TOO_DEEP
from webapi.routes import routes

pytestmark = pytest.mark.django_db

BIG = "9" * 4301  # one digit past Python's int(str) limit (sys.int_info.str_digits_check_threshold)
URL_ID = "9" * 5000
HUGE_DECIMAL = "1E+999999999999999999"
INVALID_VALUE = 'Invalid value of "%value" provided for the %fieldName field.'
DECODING_ERROR = "Decoding error: %1"
SHOWN = BIG[:57] + "..."  # how a long value is quoted in a message
CUSTOMER = {"email": "ann@example.com", "firstname": "A", "lastname": "B"}
BLOCK = {"identifier": "b", "title": "T", "content": "C"}


@pytest.fixture
def admin(api, admin_token):
    return api.as_admin(admin_token)


def _nothing_stored() -> bool:
    return not (
        Product.objects.exists()
        or Customer.objects.exists()
        or Block.objects.exists()
        or Bulk.objects.exists()
        or Category.objects.filter(name="C").exists()
    )


# -- defect 5: integers of more than 4,300 digits, given as strings ---------------------------

# (path, body, the field named in the message); bulk items carry the same bodies.
HUGE_INTEGERS = [
    (
        "V1/products",
        {"product": {"sku": "A", "name": "N", "attribute_set_id": BIG}},
        "attribute_set_id",
    ),
    ("V1/customers", {"customer": {**CUSTOMER, "group_id": BIG}}, "group_id"),
    ("V1/customers", {"customer": {**CUSTOMER, "website_id": BIG}}, "website_id"),
    ("V1/cmsBlock", {"block": {**BLOCK, "id": BIG}}, "id"),
    ("V1/categories", {"category": {"name": "C", "parent_id": BIG}}, "parent_id"),
]


@pytest.mark.parametrize(("path", "body", "field"), HUGE_INTEGERS)
def test_a_4301_digit_integer_string_is_400_in_magentos_shape_and_nothing_is_saved(
    admin, path, body, field
):
    response = admin.post(path, body)

    assert response.status_code == 400, response.content
    assert response.json() == {
        "message": INVALID_VALUE,
        "parameters": {"value": SHOWN, "fieldName": field},
    }
    assert _nothing_stored()


@pytest.mark.parametrize(("path", "body", "field"), HUGE_INTEGERS)
def test_a_4301_digit_integer_string_is_a_rejected_async_operation(admin, path, body, field):
    response = admin.post(f"async/{path}", body)

    assert response.status_code == 202, response.content
    [item] = response.json()["request_items"]
    assert item["status"] == "rejected"
    assert item["error_message"] == f'Invalid value of "{SHOWN}" provided for the {field} field.'
    assert Operation.objects.get().status == OperationStatus.REJECTED


@pytest.mark.parametrize(("path", "body", "field"), HUGE_INTEGERS)
def test_a_bulk_with_one_huge_integer_rejects_only_that_item(admin, path, body, field):
    good = [product_item("OK1"), product_item("OK2")]
    if path != "V1/products":
        good = [json.loads(json.dumps(body).replace(json.dumps(BIG), "1")) for _ in range(2)]
        if path == "V1/customers":
            for n, item in enumerate(good):
                item["customer"]["email"] = f"ok{n}@example.com"
        if path == "V1/cmsBlock":
            for n, item in enumerate(good):
                item["block"].pop("id")
                item["block"]["identifier"] = f"ok{n}"
        if path == "V1/categories":
            for item in good:
                item["category"]["parent_id"] = 2
    response, bulk = bulk_post(admin, f"async/bulk/{path}", [good[0], body, good[1]], admin.token)

    assert response.status_code == 202, response.content
    items = response.json()["request_items"]
    assert [i["status"] for i in items] == ["accepted", "rejected", "accepted"]
    assert (
        items[1]["error_message"] == f'Invalid value of "{SHOWN}" provided for the {field} field.'
    )
    assert bulk.operations.get(index=1).status == OperationStatus.REJECTED
    assert bulk.operations.filter(status=OperationStatus.OPEN).count() == 2


def test_a_huge_integer_in_a_bulk_items_url_parameter_rejects_only_that_item(admin):
    response, bulk = bulk_post(
        admin,
        "async/bulk/V1/categories/byCategoryId/products",
        [
            {"categoryId": 3, "productLink": {"sku": "A", "position": 1}},
            {"categoryId": BIG, "productLink": {"sku": "A", "position": 1}},
        ],
        admin.token,
    )

    assert response.status_code == 202, response.content
    items = response.json()["request_items"]
    assert [i["status"] for i in items] == ["accepted", "rejected"]
    assert SHOWN in items[1]["error_message"]


def _url_with_ids(path: str, value: str) -> str:
    return re.sub(r":\w+", value, path).removeprefix("/")


def _body_for(route) -> Any:
    bodies = {
        "product": {"product": {"sku": "A", "name": "N"}},
        "customer": {"customer": CUSTOMER},
        "block": {"block": BLOCK},
        "category": {"category": {"name": "C"}},
        "productLink": {"productLink": {"sku": "A", "position": 1}},
    }
    if route.request is None:
        return None
    keys = route.request.spec.fields
    return next((body for key, body in bodies.items() if key in keys), {})


CATALOG_ROUTES_WITH_IDS = [
    r for r in routes if r.param_names and r.service.startswith("catalog.") and r.method != "GET"
] + [r for r in routes if r.param_names and r.method == "GET"]


@pytest.mark.parametrize("route", CATALOG_ROUTES_WITH_IDS, ids=lambda r: f"{r.method} {r.path}")
def test_a_5000_digit_id_in_a_url_is_answered_in_magentos_shape_not_500(admin, route):
    response = admin.request(route.method, _url_with_ids(route.path, URL_ID), _body_for(route))

    assert response.status_code in (400, 404), response.content
    assert set(response.json()) == {"message", "parameters"}


@pytest.mark.parametrize(
    "route",
    [r for r in CATALOG_ROUTES_WITH_IDS if r.method != "GET"],
    ids=lambda r: f"{r.method} {r.path}",
)
def test_a_5000_digit_id_in_an_async_url_is_never_a_500(admin, route):
    response = admin.request(
        route.method, "async/" + _url_with_ids(route.path, URL_ID), _body_for(route)
    )

    assert response.status_code in (202, 400, 404), response.content
    if response.status_code != 202:
        assert set(response.json()) == {"message", "parameters"}


def test_a_5000_digit_category_id_in_the_url_is_400_naming_the_field(admin):
    response = admin.post(
        f"V1/categories/{URL_ID}/products", {"productLink": {"sku": "A", "position": 1}}
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": INVALID_VALUE,
        "parameters": {"value": URL_ID[:57] + "...", "fieldName": "category_id"},
    }


def test_an_integer_literal_of_more_than_4300_digits_is_a_decoding_error_in_plain_words(admin):
    raw = '{"product": {"sku": "A", "name": "N", "attribute_set_id": ' + BIG + "}}"

    for path in ("V1/products", "async/V1/products", "async/bulk/V1/products"):
        response = admin.post(path, f"[{raw}]" if "bulk" in path else raw)

        assert response.status_code == 400, response.content
        assert response.json() == {
            "message": DECODING_ERROR,
            "parameters": ["an integer has 4301 digits; at most 4300 are accepted"],
        }
    assert _nothing_stored()


# -- defect 5: decimals too large for any number ----------------------------------------------


@pytest.mark.parametrize("field", ["price", "weight"])
def test_a_decimal_string_with_a_huge_exponent_is_400_sync_async_and_bulk(admin, field):
    body = {"product": {"sku": "A", "name": "N", field: HUGE_DECIMAL}}
    expected = f'Invalid value of "{HUGE_DECIMAL}" provided for the {field} field.'

    response = admin.post("V1/products", body)
    assert response.status_code == 400, response.content
    assert response.json() == {
        "message": INVALID_VALUE,
        "parameters": {"value": HUGE_DECIMAL, "fieldName": field},
    }
    assert not Product.objects.exists()

    response = admin.post("async/V1/products", body)
    assert response.status_code == 202, response.content
    assert response.json()["request_items"][0]["error_message"] == expected

    response, _ = bulk_post(
        admin, "async/bulk/V1/products", [product_item("OK"), body], admin.token
    )
    assert response.status_code == 202, response.content
    items = response.json()["request_items"]
    assert [i["status"] for i in items] == ["accepted", "rejected"]
    assert items[1]["error_message"] == expected


@pytest.mark.parametrize(
    "number", ["1e400", "-1e400", "1E+999999999999999999", "123456789" * 40 + ".5"]
)
@pytest.mark.parametrize(
    "template",
    [
        '{"product": {"sku": "A", "name": "N", "price": %s}}',
        '{"product": {"sku": "A", "name": "N", "attribute_set_id": %s}}',
        '{"product": {"sku": %s, "name": "N"}}',
        '{"product": {"sku": "A", "name": "N", "custom_attributes": '
        '[{"attribute_code": "c", "value": %s}]}}',
    ],
)
def test_a_number_no_float_can_hold_is_refused_before_anything_is_stored(admin, number, template):
    raw = template % number

    for path in ("V1/products", "async/V1/products", "async/bulk/V1/products"):
        response = admin.post(path, f"[{raw}]" if "bulk" in path else raw)

        assert response.status_code == 400, (path, response.content)
        body = response.json()
        assert body["message"] == DECODING_ERROR
        assert "is too large" in body["parameters"][0]
    assert _nothing_stored()
    assert not Operation.objects.filter(serialized_data__contains="Infinity").exists()


def test_small_and_ordinary_floats_are_still_numbers(admin):
    raw = '{"product": {"sku": "A", "name": "N", "price": 1.5e1, "weight": 1e-400}}'

    response = admin.post("V1/products", raw)

    assert response.status_code == 200, response.content
    assert response.json()["price"] == 15
    assert Product.objects.get().weight == 0


# -- defect 7: nesting -----------------------------------------------------------------------


def _deep_customer(depth: int, email: str = "ann@example.com") -> dict[str, Any]:
    """A customer body nested `depth` levels deep, with a "password" key at the bottom."""
    value: Any = {"password": "Deep-secret-1"}
    for _ in range(depth - 3):  # the body, "customer" and the innermost object
        value = [value]
    return {
        "customer": {**CUSTOMER, "email": email, "created_at": value},
        "password": "Top-secret-1",
    }


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return deepest


def test_the_deep_bodies_used_here_have_the_depth_they_claim():
    assert _depth(_deep_customer(MAX_DEPTH)) == MAX_DEPTH
    assert _depth(_deep_customer(600)) == 600


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 600])
def test_a_body_nested_too_deep_is_400_sync_and_rejected_async_with_the_same_message(admin, depth):
    body = _deep_customer(depth)
    message = TOO_DEEP.replace("%1", str(MAX_DEPTH))

    response = admin.post("V1/customers", body)
    assert response.status_code == 400, response.content
    assert response.json() == {"message": TOO_DEEP, "parameters": [MAX_DEPTH]}
    assert not Customer.objects.exists()

    response = admin.post("async/V1/customers", body)
    assert response.status_code == 202, response.content
    [item] = response.json()["request_items"]
    assert (item["status"], item["error_message"]) == ("rejected", message)

    response, bulk = bulk_post(
        admin,
        "async/bulk/V1/customers",
        [_deep_customer(5, "ok@example.com"), body],
        admin.token,
    )
    assert response.status_code == 202, response.content
    items = response.json()["request_items"]
    assert [i["status"] for i in items] == ["accepted", "rejected"]
    assert items[1]["error_message"] == message
    assert bulk.operations.get(index=1).status == OperationStatus.REJECTED


def test_an_unknown_top_level_key_counts_too(admin):
    body = {"customer": CUSTOMER, "extra": _deep_customer(MAX_DEPTH)}  # one level more

    assert admin.post("V1/customers", body).status_code == 400
    [item] = admin.post("async/V1/customers", body).json()["request_items"]
    assert item["status"] == "rejected"


def test_masking_an_operations_secrets_does_not_recurse():
    # 900 levels: within what json itself handles, far past what recursive masking did.
    body = _deep_customer(900)

    masked = deserialize_item(redact_secrets(serialize_item(body)))

    assert masked["password"] == REDACTED
    node = masked["customer"]["created_at"]
    while isinstance(node, list):
        [node] = node
    assert node == {"password": REDACTED}


def test_masking_has_no_depth_limit_of_its_own():
    value: Any = {"password": "Deep-secret-1", "n": 1}
    for _ in range(100_000):
        value = [{"new_password": "x", "v": value}]

    masked = items._redact({"customer": value, "password": "Top-secret-1"})

    assert masked["password"] == REDACTED
    node = masked["customer"]
    for _ in range(100_000):
        assert node[0]["new_password"] == REDACTED
        node = node[0]["v"]
    assert node == {"password": REDACTED, "n": 1}
    assert value[0]["new_password"] == "x"  # the original is left alone


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_body_at_the_depth_limit_with_passwords_completes_asynchronously_masked(
    api, admin_token, db_ops_topology
):
    admin = api.as_admin(admin_token)
    body = _deep_customer(MAX_DEPTH)
    assert (
        admin.post("V1/customers", _deep_customer(MAX_DEPTH, "sync@example.com")).status_code == 200
    )

    response, bulk = bulk_post(admin, "async/V1/customers", body, admin_token)
    assert response.status_code == 202, response.content
    assert response.json()["request_items"][0]["status"] == "accepted"

    db_ops_topology.run(max_messages=1)

    op = bulk.operations.get()
    assert (op.status, op.result_message) == (OperationStatus.COMPLETE, "")
    assert Customer.objects.filter(email="ann@example.com").exists()
    assert "secret" not in op.serialized_data
    assert op.serialized_data == redact_secrets(op.serialized_data)
