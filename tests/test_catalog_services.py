"""The catalog services called directly, as the operation consumer calls them."""

from __future__ import annotations

import importlib

import pytest
from django.db import transaction

from catalog.models import CategoryProduct, Customer, Product
from catalog.services import (
    AccountManagement,
    BlockRepository,
    CategoryLinkManagement,
    CategoryLinkRepository,
    CategoryRepository,
    CustomerRepository,
    ProductRepository,
)
from operations import items as item_rules
from store.models import Store
from webapi import execution
from webapi.exceptions import InputException, InputMismatchException, NoSuchEntityException
from webapi.routes import CallContext, routes

pytestmark = pytest.mark.django_db


@pytest.fixture
def ctx(db):
    return CallContext(store=Store.objects.get(pk=0), user=None, user_type=2)


def test_services_are_callable_directly_with_a_call_context(ctx):
    with transaction.atomic():
        product = ProductRepository.save(ctx, {"sku": "DIRECT", "name": "Direct", "price": "3.5"})
        category = CategoryRepository.save(ctx, {"name": "Direct category"})
        assert (
            CategoryLinkRepository.save(ctx, {"sku": "DIRECT", "category_id": category["id"]})
            is True
        )
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
    AccountManagement.create_account(
        ctx, {"email": "x@example.com", "firstname": "X", "lastname": "Y"}
    )
    with pytest.raises(InputMismatchException):
        AccountManagement.create_account(
            ctx, {"email": "x@example.com", "firstname": "X", "lastname": "Y"}
        )

    assert excinfo.value.parameters == {"value": "ten", "type": "float"}


def test_every_catalog_service_path_named_by_a_route_exists():
    catalog_routes = [r for r in routes if r.service.startswith("catalog.services.")]
    for route in catalog_routes:
        module_path, class_name, method = route.service.rsplit(".", 2)
        assert callable(
            getattr(getattr(importlib.import_module(module_path), class_name), method)
        ), route.service
    topics = {r.topic for r in catalog_routes if r.async_enabled}
    assert "async.catalog.services.productrepository.save.post" in topics
    assert "async.catalog.services.productrepository.save.put" in topics
    assert "async.catalog.services.accountmanagement.create_account.post" in topics
    assert "async.catalog.services.categorylinkrepository.delete_by_ids.delete" in topics
    # catalog/webapi.py's own, then those of stores, stock, prices, attributes (and the tree).
    assert len(catalog_routes) == 24 + 4 + 9 + 12 + 14


def _run_bulk_item(ctx, method, bulk_path, item):
    """Validate and run one bulk item the way the operation consumer does."""
    route, _ = routes.resolve_async(method, bulk_path, bulk=True)
    params = item_rules.item_params(item, route.param_names)
    body = item_rules.item_body(item, route.param_names)
    data = execution.validate_request(route, ctx, params, body)
    return execution.run_route(route, ctx, params, data)


def test_bulk_items_in_the_shapes_clients_send_run_every_catalog_write(ctx):
    run = _run_bulk_item
    run(ctx, "POST", "/V1/products", {"product": {"sku": "B-1", "name": "Bulk", "price": "1"}})
    run(ctx, "PUT", "/V1/products/bySku", {"product": {"sku": "B-1", "price": 2}})
    run(ctx, "PUT", "/V1/products/bySku", {"sku": "B-2", "product": {"name": "By param"}})
    category = run(ctx, "POST", "/V1/categories", {"category": {"name": "Bulk category"}})
    run(
        ctx,
        "PUT",
        "/V1/categories/byCategoryId",
        {"category": {"id": category["id"], "name": "Renamed"}},
    )
    run(
        ctx,
        "POST",
        "/V1/categories/byCategoryId/products",
        {"productLink": {"sku": "B-1", "position": 2, "category_id": category["id"]}},
    )
    run(
        ctx,
        "PUT",
        "/V1/categories/byCategoryId/products",
        {"categoryId": category["id"], "productLink": {"sku": "B-2"}},
    )
    run(
        ctx,
        "DELETE",
        "/V1/categories/byCategoryId/products/bySku",
        {"categoryId": category["id"], "sku": "B-2"},
    )
    customer = run(
        ctx,
        "POST",
        "/V1/customers",
        {
            "customer": {"email": "bulk@example.com", "firstname": "B", "lastname": "K"},
            "password": "Bulk-pass-123",
        },
    )
    run(
        ctx,
        "PUT",
        "/V1/customers/byCustomerId",
        {"customer": {"id": customer["id"], "lastname": "Kay"}},
    )
    block = run(ctx, "POST", "/V1/cmsBlock", {"block": {"identifier": "bulk", "title": "Bulk"}})
    run(
        ctx, "PUT", "/V1/cmsBlock/byBlockId", {"blockId": block["id"], "block": {"title": "Bulk 2"}}
    )
    run(ctx, "DELETE", "/V1/cmsBlock/byBlockId", {"blockId": block["id"]})
    run(ctx, "DELETE", "/V1/products/bySku", {"sku": "B-2"})

    assert Product.objects.get(sku="B-1").price == 2
    assert not Product.objects.filter(sku="B-2").exists()
    assert list(CategoryProduct.objects.values_list("product__sku", "category_id", "position")) == [
        ("B-1", category["id"], 2)
    ]
    assert CategoryRepository.get(ctx, category["id"])["name"] == "Renamed"
    assert Customer.objects.get().lastname == "Kay"
    assert BlockRepository.get_list(ctx, {})["total_count"] == 0


def test_an_invalid_bulk_item_fails_with_magentos_message(ctx):
    with pytest.raises(InputException) as excinfo:
        _run_bulk_item(
            ctx, "POST", "/V1/products", {"product": {"sku": "X", "name": "x", "status": 7}}
        )

    assert excinfo.value.rendered == 'Invalid value of "7" provided for the status field.'
