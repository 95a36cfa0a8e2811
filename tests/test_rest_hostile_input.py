"""Input that databases cannot hold (NUL characters, out-of-range integers, huge pages)
is a 400, never a 500."""

from __future__ import annotations

import pytest

from catalog.models import Customer, Product

pytestmark = pytest.mark.django_db

NUL_VALUE = 'The "%fieldName" value contains a NUL character, which is not allowed.'
INVALID_VALUE = 'Invalid value of "%value" provided for the %fieldName field.'
INVALID_INT = (
    'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and try again.'
)


@pytest.fixture
def admin(api, admin_token):
    return api.as_admin(admin_token)


@pytest.mark.parametrize(
    ("product", "field"),
    [
        ({"sku": "A\u0000B", "name": "N"}, "sku"),
        ({"sku": "A", "name": "N\u0000"}, "name"),
        (
            {
                "sku": "A",
                "name": "N",
                "custom_attributes": [{"attribute_code": "c", "value": "v\u0000"}],
            },
            "value",
        ),
        (
            {
                "sku": "A",
                "name": "N",
                "custom_attributes": [{"attribute_code": "c", "value": ["x", "\u0000"]}],
            },
            "value",
        ),
        (
            {
                "sku": "A",
                "name": "N",
                "extension_attributes": {"stock_item": {"low_stock_date": "2024\u0000"}},
            },
            "low_stock_date",
        ),
    ],
)
def test_a_nul_character_anywhere_in_a_product_is_refused_and_nothing_is_saved(
    admin, product, field
):
    response = admin.post("V1/products", {"product": product})

    assert response.status_code == 400, response.content
    assert response.json() == {"message": NUL_VALUE, "parameters": {"fieldName": field}}
    assert not Product.objects.exists()


def test_a_nul_character_in_a_customer_email_is_refused(admin):
    response = admin.post(
        "V1/customers",
        {"customer": {"email": "a\u0000@example.com", "firstname": "A", "lastname": "B"}},
    )

    assert response.status_code == 400
    assert response.json()["parameters"] == {"fieldName": "email"}
    assert not Customer.objects.exists()


def test_a_nul_character_in_a_url_parameter_is_400(admin):
    response = admin.get("V1/products/A%00B")

    assert response.status_code == 400
    assert response.json() == {
        "message": 'The "%1" URL parameter contains a NUL character.',
        "parameters": ["sku"],
    }


def test_a_nul_character_in_a_search_filter_is_400(admin):
    key = "searchCriteria[filter_groups][0][filters][0]"
    response = admin.get("V1/products", {f"{key}[field]": "sku", f"{key}[value]": "A\u0000B"})

    assert response.status_code == 400
    assert response.json()["parameters"] == [f"{key}[value]"]


@pytest.mark.parametrize("value", [2**31, 99999999999999999999, -(2**31) - 1])
def test_an_integer_beyond_32_bits_is_refused_with_magentos_message(admin, value):
    response = admin.post(
        "V1/products", {"product": {"sku": "A", "name": "N", "attribute_set_id": value}}
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": INVALID_VALUE,
        "parameters": {"value": value, "fieldName": "attribute_set_id"},
    }


@pytest.mark.parametrize("value", ["--5", "²", "1_000", "٣"])
def test_a_string_that_only_looks_like_digits_is_not_an_integer(admin, value):
    response = admin.post(
        "V1/products", {"product": {"sku": "A", "name": "N", "attribute_set_id": value}}
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": INVALID_INT,
        "parameters": {"value": value, "type": "int"},
    }


def test_a_digit_string_is_still_an_integer(admin):
    response = admin.post(
        "V1/products", {"product": {"sku": "A", "name": "N", "attribute_set_id": " 4 "}}
    )

    assert response.status_code == 200
    assert response.json()["attribute_set_id"] == 4


def test_a_page_far_past_the_end_is_empty_not_an_error(admin):
    admin.post("V1/products", {"product": {"sku": "A", "name": "N"}})

    response = admin.get("V1/products", {"searchCriteria[currentPage]": "99999999999999999999999"})

    assert response.status_code == 200, response.content
    assert response.json()["items"] == []
    assert response.json()["total_count"] == 1


@pytest.mark.parametrize("escape", ["\\ud800", "\\udc00", "x\\ud83dy"])
def test_a_lone_surrogate_escape_is_a_decoding_error_and_nothing_is_saved(admin, escape):
    raw = '{"product": {"sku": "S' + escape + '", "name": "N", "attribute_set_id": 4, "price": 1}}'

    response = admin.post("V1/products", raw)

    assert response.status_code == 400
    assert response.json()["message"] == "Decoding error: %1"
    assert not Product.objects.exists()


def test_a_surrogate_pair_escape_is_ordinary_text(admin):
    raw = '{"product": {"sku": "S\\ud83d\\ude00", "name": "N", "attribute_set_id": 4, "price": 1}}'

    response = admin.post("V1/products", raw)

    assert response.status_code == 200, response.content
    assert Product.objects.get().sku == "S\U0001f600"
