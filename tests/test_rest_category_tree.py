"""GET /V1/categories: the category tree in Magento's `CategoryTreeInterface`."""

from __future__ import annotations

import pytest

from catalog.services import CategoryManagement
from store.models import Store
from tests.fixtures.magento_shapes import assert_shape
from tests.fixtures.operations import product_item
from webapi.routes import CallContext

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(api, admin_token):
    return api.as_admin(admin_token)


@pytest.fixture
def tree(admin):
    """Default Category (2) > Women (pos 2) > Tops; Men (pos 1); products linked."""

    def category(name, parent=2, position=None, active=True):
        body = {"name": name, "parent_id": parent, "is_active": active}
        if position is not None:
            body["position"] = position
        response = admin.post("V1/categories", {"category": body})
        assert response.status_code == 200, response.json()
        return response.json()["id"]

    women = category("Women", position=2)
    men = category("Men", position=1, active=False)
    tops = category("Tops", parent=women)
    for sku in ("A", "B", "C"):
        assert admin.post("V1/products", product_item(sku)).status_code == 200
    for category_id, sku in [(women, "A"), (tops, "B"), (tops, "C"), (men, "A")]:
        link = {"productLink": {"sku": sku, "position": 0}}
        assert admin.post(f"V1/categories/{category_id}/products", link).status_code == 200
    return {"women": women, "men": men, "tops": tops}


def _assert_tree_shape(node):
    assert_shape(node, "CategoryTreeInterface")
    for child in node["children_data"]:
        _assert_tree_shape(child)


def test_the_default_store_tree_starts_at_its_root_category(admin, tree):
    response = admin.get("V1/categories")
    assert response.status_code == 200
    body = response.json()
    _assert_tree_shape(body)
    assert body["id"] == 2 and body["parent_id"] == 1 and body["level"] == 1
    assert body["name"] == "Default Category" and body["product_count"] == 0
    men, women = body["children_data"]  # by position
    assert (men["name"], men["position"], men["is_active"]) == ("Men", 1, False)
    assert (women["name"], women["product_count"], women["level"]) == ("Women", 1, 2)
    (tops,) = women["children_data"]
    assert tops == {
        "id": tree["tops"],
        "parent_id": tree["women"],
        "name": "Tops",
        "is_active": True,
        "position": 1,
        "level": 3,
        "product_count": 2,
        "children_data": [],
    }


def test_the_admin_scope_starts_at_the_root_catalog(admin, tree):
    body = admin.get("all/V1/categories").json()
    assert (body["id"], body["parent_id"], body["level"], body["name"]) == (1, 0, 0, "Root Catalog")
    assert [c["id"] for c in body["children_data"]] == [2]
    assert len(body["children_data"][0]["children_data"]) == 2


def test_a_root_and_a_depth_cut_the_tree(admin, tree):
    body = admin.get("V1/categories", {"rootCategoryId": tree["women"], "depth": 1}).json()
    assert body["id"] == tree["women"]
    assert [c["id"] for c in body["children_data"]] == [tree["tops"]]
    assert body["children_data"][0]["children_data"] == []
    two = admin.get("V1/categories", {"rootCategoryId": 1, "depth": 1}).json()
    assert [c["id"] for c in two["children_data"]] == [2]
    assert two["children_data"][0]["children_data"] == []
    alone = admin.get("V1/categories", {"depth": 0}).json()
    assert alone["id"] == 2 and alone["children_data"] == []


@pytest.mark.parametrize("root", ["999", "abc", "0"])
def test_an_unknown_root_is_404(admin, root):
    response = admin.get("V1/categories", {"rootCategoryId": root})
    assert response.status_code == 404
    assert response.json() == {
        "message": "No such entity with %fieldName = %fieldValue",
        "parameters": {"fieldName": "id", "fieldValue": root},
    }


def test_a_depth_that_is_no_number_is_400(admin):
    response = admin.get("V1/categories", {"depth": "deep"})
    assert response.status_code == 400
    assert response.json()["parameters"] == {"value": "deep", "type": "int"}


def test_the_tree_costs_four_queries_whatever_its_size(tree, django_assert_num_queries):
    ctx = CallContext(store=Store.objects.get(pk=1), user=None)
    with django_assert_num_queries(4):  # the store's root, the root, the subtree, the counts
        body = CategoryManagement.get_tree(ctx)
    assert body["children_data"][1]["children_data"][0]["product_count"] == 2


def test_reading_the_tree_needs_the_category_read_permission(api, make_integration):
    _i, reader = make_integration("tree-reader", ["catalog.view_category"])
    assert api.get("V1/categories", token=reader).status_code == 200
    _i, other = make_integration("block-reader", ["catalog.view_block"])
    response = api.get("V1/categories", token=other)
    assert response.status_code == 403
    assert response.json()["parameters"] == {"resources": "catalog.view_category"}


def test_creating_a_category_still_posts_to_the_same_path(admin):
    response = admin.post("V1/categories", {"category": {"name": "New"}})
    assert response.status_code == 200 and response.json()["parent_id"] == 2
    assert admin.get("async/V1/categories").status_code in (404, 405)


@pytest.mark.parametrize("depth", ["-3", "99999999999999999999999"])
def test_a_negative_or_huge_depth_is_cut_to_the_tree(admin, tree, depth):
    body = admin.get("V1/categories", {"depth": depth}).json()
    assert body["id"] == 2
    assert bool(body["children_data"]) is (not depth.startswith("-"))
