"""Customers through the REST API: accounts, unique email per website, passwords."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password

from catalog.models import Customer
from store.models import Store, Website

pytestmark = pytest.mark.django_db

DUPLICATE = "A customer with the same email address already exists in an associated website."
PASSWORD = "Secret-pass-123"


@pytest.fixture
def admin(api, admin_token):
    return api.as_admin(admin_token)


@pytest.fixture
def second_website(db):
    website = Website.objects.create(id=2, code="eu", name="Europe")
    Store.objects.create(id=5, code="eu_en", name="Europe English", website=website)
    return website


def customer(email="jane@example.com", **fields):
    return {"customer": {"email": email, "firstname": "Jane", "lastname": "Doe", **fields}}


def create(admin, body, path="V1/customers"):
    response = admin.post(path, body)
    assert response.status_code == 200, response.content
    return response.json()


def test_post_creates_a_customer_and_never_returns_the_password(admin):
    response = admin.post(
        "V1/customers", {**customer(dob="1990-02-03", gender=2), "password": PASSWORD}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["email"], body["firstname"], body["lastname"]) == (
        "jane@example.com",
        "Jane",
        "Doe",
    )
    assert (body["website_id"], body["group_id"], body["store_id"]) == (1, 1, 1)
    assert body["created_in"] == "Default Store View"
    assert body["dob"] == "1990-02-03" and body["gender"] == 2
    assert body["addresses"] == []
    assert "password" not in response.content.decode().lower()
    stored = Customer.objects.get(pk=body["id"])
    assert stored.password_hash != PASSWORD and check_password(PASSWORD, stored.password_hash)


def test_get_returns_the_customer_without_any_password(admin):
    created = create(admin, {**customer(), "password": PASSWORD})

    response = admin.get(f"V1/customers/{created['id']}")

    assert response.status_code == 200
    assert response.json() == created
    assert "password" not in response.content.decode().lower()


def test_a_customer_without_a_password_can_be_created(admin):
    body = create(admin, customer())

    assert Customer.objects.get(pk=body["id"]).password_hash == ""


def test_the_same_email_in_the_same_website_is_refused_with_magentos_message(admin):
    create(admin, customer("dup@example.com"))

    response = admin.post("V1/customers", customer("DUP@example.com"))

    assert response.status_code == 400
    assert response.json() == {"message": DUPLICATE, "parameters": []}
    assert Customer.objects.count() == 1


def test_the_same_email_in_another_website_is_accepted(admin, second_website):
    create(admin, customer("twice@example.com"))

    body = create(admin, customer("twice@example.com", website_id=2))

    assert body["website_id"] == 2 and body["store_id"] == 5
    assert body["created_in"] == "Europe English"


def test_a_customer_created_in_a_store_belongs_to_its_website(admin, second_website):
    body = create(admin, customer(), path="eu_en/V1/customers")

    assert (body["website_id"], body["store_id"]) == (2, 5)


@pytest.mark.parametrize(
    ("fields", "field_name"),
    [
        ({"website_id": 99}, "website_id"),
        ({"website_id": 0}, "website_id"),
        ({"store_id": 77}, "store_id"),
    ],
)
def test_an_unknown_website_or_store_is_refused(admin, fields, field_name):
    response = admin.post("V1/customers", customer(**fields))

    assert response.status_code == 400
    assert response.json()["parameters"]["fieldName"] == field_name


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("short1A", "at least %1 characters"),
        ("alllowercase", "classes of characters"),
        (" Spaced-123 ", "begin or end with a space"),
    ],
)
def test_weak_passwords_are_refused_with_magentos_rules(admin, password, fragment):
    response = admin.post("V1/customers", {**customer(), "password": password})

    assert response.status_code == 400
    assert fragment in response.json()["message"]
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("body", "parameters"),
    [
        ({}, {"fieldName": "customer"}),
        ({"customer": {"firstname": "A", "lastname": "B"}}, {"fieldName": "email"}),
        ({"customer": {"email": "a@example.com", "lastname": "B"}}, {"fieldName": "firstname"}),
        (
            {"customer": {"email": "not-an-email", "firstname": "A", "lastname": "B"}},
            {"value": "not-an-email", "fieldName": "email"},
        ),
        (
            {
                "customer": {
                    "email": "a@example.com",
                    "firstname": "A",
                    "lastname": "B",
                    "group_id": "one",
                }
            },
            {"value": "one", "type": "int"},
        ),
        (
            {
                "customer": {
                    "email": "a@example.com",
                    "firstname": "A",
                    "lastname": "B",
                    "dob": "yesterday",
                }
            },
            {"value": "yesterday", "fieldName": "dob"},
        ),
        (
            {
                "customer": {
                    "email": "a@example.com",
                    "firstname": "A",
                    "lastname": "B",
                    "password": "x",
                }
            },
            {
                "fieldName": "password",
                "accessorMethod": "getPassword",
                "className": "Magento\\Customer\\Api\\Data\\CustomerInterface",
            },
        ),
    ],
)
def test_bad_customer_bodies_are_400_in_magentos_shape(admin, body, parameters):
    response = admin.post("V1/customers", body)

    assert response.status_code == 400, response.content
    assert response.json()["parameters"] == parameters
    assert not Customer.objects.exists()


def test_addresses_are_accepted_only_empty(admin):
    assert admin.post("V1/customers", customer(addresses=[])).status_code == 200
    response = admin.post(
        "V1/customers", customer("b@example.com", addresses=[{"street": ["1 Main St"]}])
    )

    assert response.status_code == 400
    assert (
        "addresses" in response.json()["message"]
        or response.json()["parameters"]["fieldName"] == "addresses"
    )


def test_put_updates_the_given_fields_and_keeps_the_others(admin):
    created = create(admin, {**customer(middlename="Q"), "password": PASSWORD})

    response = admin.put(
        f"V1/customers/{created['id']}", {"customer": {"lastname": "Smith", "group_id": "2"}}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["firstname"], body["lastname"], body["middlename"], body["group_id"]) == (
        "Jane",
        "Smith",
        "Q",
        2,
    )
    assert check_password(PASSWORD, Customer.objects.get(pk=created["id"]).password_hash)


def test_put_accepts_back_what_get_answered(admin):
    created = create(admin, customer())
    read = admin.get(f"V1/customers/{created['id']}").json()

    response = admin.put(
        f"V1/customers/{created['id']}", {"customer": {**read, "firstname": "Janet"}}
    )

    assert response.status_code == 200, response.content
    assert response.json()["firstname"] == "Janet"


def test_put_to_an_email_taken_in_the_website_is_refused(admin):
    create(admin, customer("first@example.com"))
    second = create(admin, customer("second@example.com"))

    response = admin.put(f"V1/customers/{second['id']}", customer("FIRST@example.com"))

    assert response.status_code == 400
    assert response.json()["message"] == DUPLICATE
    assert Customer.objects.get(pk=second["id"]).email == "second@example.com"


@pytest.mark.parametrize("customer_id", ["999", "abc"])
def test_an_unknown_customer_is_404(admin, customer_id):
    expected = {
        "message": "No such entity with %fieldName = %fieldValue",
        "parameters": {"fieldName": "customerId", "fieldValue": customer_id},
    }
    for response in (
        admin.get(f"V1/customers/{customer_id}"),
        admin.put(f"V1/customers/{customer_id}", customer()),
        admin.delete(f"V1/customers/{customer_id}"),
    ):
        assert response.status_code == 404
        assert response.json() == expected


def test_delete_answers_true(admin):
    created = create(admin, customer())

    response = admin.delete(f"V1/customers/{created['id']}")

    assert response.status_code == 200 and response.json() is True
    assert not Customer.objects.exists()


def test_customer_search_filters_by_email_and_website(admin, second_website):
    create(admin, customer("a@example.com"))
    create(admin, customer("b@example.com"))
    create(admin, customer("a@example.com", website_id=2))

    body = admin.get(
        "V1/customers/search",
        {
            "searchCriteria[filter_groups][0][filters][0][field]": "email",
            "searchCriteria[filter_groups][0][filters][0][value]": "a@example.com",
            "searchCriteria[filter_groups][1][filters][0][field]": "website_id",
            "searchCriteria[filter_groups][1][filters][0][value]": "2",
        },
    ).json()

    assert body["total_count"] == 1
    assert body["items"][0]["website_id"] == 2
    assert "password" not in str(body).lower()


def test_customer_routes_need_customer_permissions(api, limited_user, admin):
    created = create(admin, customer())
    catalog_only = api.as_admin(limited_user(["catalog.change_product", "catalog.view_product"]))
    reader = api.as_admin(limited_user(["catalog.view_customer"]))

    assert catalog_only.get(f"V1/customers/{created['id']}").status_code == 403
    assert catalog_only.post("V1/customers", customer("x@example.com")).status_code == 403
    assert reader.get(f"V1/customers/{created['id']}").status_code == 200
    assert reader.delete(f"V1/customers/{created['id']}").status_code == 403
    assert api.get(f"V1/customers/{created['id']}").status_code == 401


def test_the_django_admin_lists_catalog_entities_and_never_shows_a_password_hash(
    client, admin_user, admin
):
    created = create(admin, {**customer(), "password": PASSWORD})
    admin.post("all/V1/products", {"product": {"sku": "ADM", "name": "Admin product"}})
    admin.post("V1/cmsBlock", {"block": {"identifier": "adm", "title": "Adm"}})
    client.force_login(admin_user)
    stored_hash = Customer.objects.get(pk=created["id"]).password_hash

    pages = [f"/admin/catalog/{model}/" for model in ("product", "category", "customer", "block")]
    pages += [f"/admin/store/{model}/" for model in ("store", "website")]
    pages += [
        f"/admin/catalog/customer/{created['id']}/change/",
        "/admin/catalog/category/2/change/",
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert stored_hash not in response.content.decode()
    assert "Admin product" in client.get("/admin/catalog/product/").content.decode()
