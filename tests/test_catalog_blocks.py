"""CMS blocks through the REST API, and the catalog services called directly."""

from __future__ import annotations

import pytest
from django.db import transaction

from catalog.exceptions import InputException, InputMismatchException, NoSuchEntityException
from catalog.models import Block, Store
from catalog.rest.routes import CallContext, routes
from catalog.services import (
    AccountManagement,
    BlockRepository,
    CategoryLinkManagement,
    CategoryLinkRepository,
    CategoryRepository,
    CustomerRepository,
    ProductRepository,
)

pytestmark = pytest.mark.django_db

NOT_FOUND = 'The CMS block with the "%1" ID doesn\'t exist.'
DUPLICATE = "A block identifier with the same properties already exists in the selected store."


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin(api, admin_token):
    return api.as_admin(admin_token)


def block(identifier="footer", **fields):
    return {"block": {"identifier": identifier, "title": "Footer", "content": "<p>Hi</p>", **fields}}


def create(admin, body):
    response = admin.post("V1/cmsBlock", body)
    assert response.status_code == 200, response.content
    return response.json()


def test_post_creates_a_block_in_magentos_shape(admin):
    body = create(admin, block(active=False))

    assert set(body) == {"id", "identifier", "title", "content", "active", "creation_time", "update_time"}
    assert (body["identifier"], body["title"], body["content"], body["active"]) == (
        "footer", "Footer", "<p>Hi</p>", False,
    )


def test_get_put_and_delete_a_block(admin):
    created = create(admin, block())

    read = admin.get(f"V1/cmsBlock/{created['id']}")
    updated = admin.put(f"V1/cmsBlock/{created['id']}", {"block": {"title": "New title", "active": "0"}})
    deleted = admin.delete(f"V1/cmsBlock/{created['id']}")

    assert read.status_code == 200 and read.json() == created
    assert updated.status_code == 200
    assert (updated.json()["title"], updated.json()["content"], updated.json()["active"]) == (
        "New title", "<p>Hi</p>", False,
    )
    assert deleted.status_code == 200 and deleted.json() is True
    assert not Block.objects.exists()


def test_a_duplicate_identifier_is_refused_with_magentos_message(admin):
    create(admin, block("same"))
    other = create(admin, block("other"))

    on_create = admin.post("V1/cmsBlock", block("same"))
    on_update = admin.put(f"V1/cmsBlock/{other['id']}", {"block": {"identifier": "same"}})

    for response in (on_create, on_update):
        assert response.status_code == 400
        assert response.json() == {"message": DUPLICATE, "parameters": []}
    assert Block.objects.filter(identifier="same").count() == 1


@pytest.mark.parametrize("block_id", ["404", "nope"])
def test_an_unknown_block_is_404(admin, block_id):
    for response in (
        admin.get(f"V1/cmsBlock/{block_id}"),
        admin.put(f"V1/cmsBlock/{block_id}", block()),
        admin.delete(f"V1/cmsBlock/{block_id}"),
    ):
        assert response.status_code == 404
        assert response.json() == {"message": NOT_FOUND, "parameters": [block_id]}


@pytest.mark.parametrize(
    ("body", "parameters"),
    [
        ({}, {"fieldName": "block"}),
        ({"block": {"title": "No identifier"}}, {"fieldName": "identifier"}),
        ({"block": {"identifier": "x"}}, {"fieldName": "title"}),
        ({"block": {"identifier": "x", "title": "t", "active": "sometimes"}}, {"value": "sometimes", "type": "bool"}),
        ({"block": {"identifier": "x", "title": "t", "store_ids": [1]}},
         {"fieldName": "store_ids", "accessorMethod": "getStoreIds", "className": "Magento\\Cms\\Api\\Data\\BlockInterface"}),
        ({"block": {"identifier": ["x"], "title": "t"}}, {"value": "['x']", "type": "string"}),
    ],
)
def test_bad_block_bodies_are_400_in_magentos_shape(admin, body, parameters):
    response = admin.post("V1/cmsBlock", body)

    assert response.status_code == 400, response.content
    assert response.json()["parameters"] == parameters
    assert not Block.objects.exists()


def test_malformed_json_is_400(admin):
    response = admin.post("V1/cmsBlock", '{"block": {')

    assert response.status_code == 400
    assert "message" in response.json()


def test_block_search_filters_with_or_inside_a_group(admin):
    for identifier in ("header", "footer", "sidebar"):
        create(admin, block(identifier))

    body = admin.get("V1/cmsBlock/search", {
        "searchCriteria[filter_groups][0][filters][0][field]": "identifier",
        "searchCriteria[filter_groups][0][filters][0][value]": "header",
        "searchCriteria[filter_groups][0][filters][1][field]": "identifier",
        "searchCriteria[filter_groups][0][filters][1][value]": "sidebar",
        "searchCriteria[sortOrders][0][field]": "identifier",
    }).json()

    assert body["total_count"] == 2
    assert [b["identifier"] for b in body["items"]] == ["header", "sidebar"]


def test_block_routes_need_block_permissions(api, limited_user, admin):
    created = create(admin, block())
    reader = api.as_admin(limited_user(["catalog.view_block"]))
    writer = api.as_admin(limited_user(["catalog.change_block"]))

    assert reader.get(f"V1/cmsBlock/{created['id']}").status_code == 200
    assert reader.put(f"V1/cmsBlock/{created['id']}", block()).status_code == 403
    assert writer.get("V1/cmsBlock/search").status_code == 403
    assert writer.delete(f"V1/cmsBlock/{created['id']}").status_code == 200
    assert api.get(f"V1/cmsBlock/{created['id']}").status_code == 401


# --- the services, called directly as the operation consumer calls them ------------------


@pytest.fixture
def ctx(db):
    return CallContext(store=Store.objects.get(pk=0), user=None, user_type=2)


def test_services_are_callable_directly_with_a_call_context(ctx):
    with transaction.atomic():
        product = ProductRepository.save(ctx, {"sku": "DIRECT", "name": "Direct", "price": "3.5"})
        category = CategoryRepository.save(ctx, {"name": "Direct category"})
        assert CategoryLinkRepository.save(ctx, {"sku": "DIRECT", "category_id": category["id"]}) is True
        customer = AccountManagement.create_account(
            ctx, {"email": "d@example.com", "firstname": "D", "lastname": "E"}, "Password-123"
        )
        created_block = BlockRepository.save(ctx, {"identifier": "direct", "title": "Direct"})

    assert product["price"] == 3.5
    assert ProductRepository.get(ctx, "DIRECT")["extension_attributes"]["category_links"] == [
        {"position": 0, "category_id": str(category["id"])}
    ]
    assert CategoryLinkManagement.get_assigned_products(ctx, category["id"])[0]["sku"] == "DIRECT"
    assert CustomerRepository.get_by_id(ctx, customer["id"])["email"] == "d@example.com"
    assert BlockRepository.get_by_id(ctx, created_block["id"])["identifier"] == "direct"
    # Outside any transaction, a write opens its own.
    assert ProductRepository.delete_by_id(ctx, "DIRECT") is True
    assert CustomerRepository.delete_by_id(ctx, str(customer["id"])) is True


def test_services_validate_raw_input_themselves(ctx):
    with pytest.raises(InputException) as excinfo:
        ProductRepository.save(ctx, {"sku": "RAW", "name": "Raw", "price": "ten"})
    with pytest.raises(NoSuchEntityException):
        ProductRepository.get(ctx, "RAW")
    AccountManagement.create_account(ctx, {"email": "x@example.com", "firstname": "X", "lastname": "Y"})
    with pytest.raises(InputMismatchException):
        AccountManagement.create_account(ctx, {"email": "x@example.com", "firstname": "X", "lastname": "Y"})

    assert excinfo.value.parameters == {"value": "ten", "type": "float"}


def test_every_catalog_service_path_named_by_a_route_exists():
    import importlib

    catalog_routes = [r for r in routes if r.service.startswith("catalog.services.")]
    for route in catalog_routes:
        module_path, class_name, method = route.service.rsplit(".", 2)
        assert callable(getattr(getattr(importlib.import_module(module_path), class_name), method)), route.service
    topics = {r.topic for r in catalog_routes if r.async_enabled}
    assert "async.catalog.services.productrepository.save.post" in topics
    assert "async.catalog.services.productrepository.save.put" in topics
    assert "async.catalog.services.accountmanagement.create_account.post" in topics
    assert "async.catalog.services.categorylinkrepository.delete_by_ids.delete" in topics
    assert len(catalog_routes) == 24
