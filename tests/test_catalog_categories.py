"""Categories and their product links through the REST API."""

from __future__ import annotations

import pytest

from catalog.models import Category, CategoryProduct

pytestmark = pytest.mark.django_db

NO_SUCH_ID = "No such entity with %fieldName = %fieldValue"


@pytest.fixture
def admin(api, admin_token):
    return api.as_admin(admin_token)


def create(admin, **fields):
    response = admin.post("V1/categories", {"category": {"name": "Category", **fields}})
    assert response.status_code == 200, response.content
    return response.json()


def test_the_root_and_default_categories_exist_from_the_start(admin):
    root = admin.get("V1/categories/1").json()
    default = admin.get("V1/categories/2").json()

    assert (root["id"], root["parent_id"], root["level"], root["path"]) == (1, 0, 0, "1")
    assert (default["id"], default["parent_id"], default["level"], default["path"]) == (
        2,
        1,
        1,
        "1/2",
    )
    assert default["name"] == "Default Category"
    assert root["children"] == "2"


def test_a_new_category_goes_under_the_default_category(admin):
    body = create(admin, name="Shoes")

    assert body["parent_id"] == 2
    assert body["level"] == 2
    assert body["path"] == f"1/2/{body['id']}"
    assert body["is_active"] is True and body["include_in_menu"] is True
    assert body["children"] == "" and body["children_count"] == 0
    assert set(body) >= {
        "id",
        "parent_id",
        "name",
        "is_active",
        "position",
        "level",
        "children",
        "path",
        "include_in_menu",
        "created_at",
        "updated_at",
    }


def test_children_and_paths_follow_the_tree(admin):
    shoes = create(admin, name="Shoes")
    boots = create(admin, name="Boots", parent_id=shoes["id"], is_active="0", position=7)
    create(admin, name="Winter boots", parent_id=boots["id"])

    read = admin.get(f"V1/categories/{shoes['id']}").json()

    assert boots["path"] == f"1/2/{shoes['id']}/{boots['id']}" and boots["level"] == 3
    assert boots["is_active"] is False and boots["position"] == 7
    assert read["children"] == str(boots["id"])
    assert read["children_count"] == 2  # all descendants, as Magento counts


def test_siblings_get_increasing_positions(admin):
    first = create(admin, name="A")
    second = create(admin, name="B")

    assert second["position"] == first["position"] + 1


def test_put_updates_a_category(admin):
    shoes = create(admin, name="Shoes")

    response = admin.put(
        f"V1/categories/{shoes['id']}", {"category": {"name": "Footwear", "is_active": False}}
    )

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["is_active"]) == ("Footwear", False)
    assert admin.get(f"V1/categories/{shoes['id']}").json()["name"] == "Footwear"


def test_put_accepts_back_what_get_answered(admin):
    shoes = create(admin, name="Shoes")
    read = admin.get(f"V1/categories/{shoes['id']}").json()

    response = admin.put(f"V1/categories/{shoes['id']}", {"category": {**read, "name": "Renamed"}})

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Renamed"


def test_changing_the_parent_moves_the_subtree(admin):
    a = create(admin, name="A")
    b = create(admin, name="B")
    child = create(admin, name="Child", parent_id=a["id"])

    moved = admin.put(f"V1/categories/{a['id']}", {"category": {"parent_id": b["id"]}}).json()

    assert moved["path"] == f"1/2/{b['id']}/{a['id']}" and moved["level"] == 3
    assert (
        admin.get(f"V1/categories/{child['id']}").json()["path"]
        == f"1/2/{b['id']}/{a['id']}/{child['id']}"
    )
    assert admin.get(f"V1/categories/{child['id']}").json()["level"] == 4


def test_a_category_cannot_move_under_its_own_descendant(admin):
    a = create(admin, name="A")
    child = create(admin, name="Child", parent_id=a["id"])

    response = admin.put(f"V1/categories/{a['id']}", {"category": {"parent_id": child["id"]}})

    assert response.status_code == 400
    assert admin.get(f"V1/categories/{a['id']}").json()["parent_id"] == 2


def test_an_unknown_parent_is_404(admin):
    response = admin.post("V1/categories", {"category": {"name": "Orphan", "parent_id": 999}})

    assert response.status_code == 404
    assert response.json() == {
        "message": NO_SUCH_ID,
        "parameters": {"fieldName": "id", "fieldValue": 999},
    }


@pytest.mark.parametrize("category_id", ["999", "abc"])
def test_an_unknown_category_is_404(admin, category_id):
    for response in (
        admin.get(f"V1/categories/{category_id}"),
        admin.put(f"V1/categories/{category_id}", {"category": {"name": "x"}}),
        admin.delete(f"V1/categories/{category_id}"),
        admin.get(f"V1/categories/{category_id}/products"),
    ):
        assert response.status_code == 404, response.content
        assert response.json()["message"] == NO_SUCH_ID


def test_delete_removes_the_subtree_and_answers_true(admin):
    a = create(admin, name="A")
    child = create(admin, name="Child", parent_id=a["id"])

    response = admin.delete(f"V1/categories/{a['id']}")

    assert response.status_code == 200 and response.json() is True
    assert not Category.objects.filter(pk__in=[a["id"], child["id"]]).exists()


@pytest.mark.parametrize("category_id", [1, 2])
def test_the_root_and_default_categories_cannot_be_deleted(admin, category_id):
    response = admin.delete(f"V1/categories/{category_id}")

    assert response.status_code == 400
    assert response.json() == {
        "message": "Cannot delete category with id %1",
        "parameters": [category_id],
    }


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "x"},
        {"category": {"parent_id": 2}},
        {"category": {"name": "x", "parent_id": "two"}},
        {"category": {"name": "x", "is_active": "maybe"}},
        {"category": {"name": "x", "colour": "red"}},
        {"category": ["x"]},
    ],
)
def test_bad_category_bodies_are_400(admin, body):
    response = admin.post("V1/categories", body)

    assert response.status_code == 400, response.content
    assert set(response.json()) >= {"message", "parameters"}
    assert Category.objects.count() == 2


def test_category_search_filters_by_parent_and_answers_total_count(admin):
    a = create(admin, name="Alpha")
    create(admin, name="Beta", parent_id=a["id"])
    create(admin, name="Gamma", parent_id=a["id"])

    body = admin.get(
        "V1/categories/list",
        {
            "searchCriteria[filter_groups][0][filters][0][field]": "parent_id",
            "searchCriteria[filter_groups][0][filters][0][value]": str(a["id"]),
            "searchCriteria[sortOrders][0][field]": "name",
            "searchCriteria[sortOrders][0][direction]": "DESC",
        },
    ).json()

    assert body["total_count"] == 2
    assert [c["name"] for c in body["items"]] == ["Gamma", "Beta"]
    assert "search_criteria" in body


# --- product links --------------------------------------------------------------------


@pytest.fixture
def shirt(admin):
    response = admin.post(
        "all/V1/products", {"product": {"sku": "SHIRT", "name": "Shirt", "price": 10}}
    )
    assert response.status_code == 200
    return response.json()


def test_a_product_link_assigns_a_product_and_answers_true(admin, shirt):
    shoes = create(admin, name="Shoes")

    response = admin.post(
        f"V1/categories/{shoes['id']}/products",
        {"productLink": {"sku": "SHIRT", "position": 4, "category_id": shoes["id"]}},
    )
    assigned = admin.get(f"V1/categories/{shoes['id']}/products")

    assert response.status_code == 200 and response.json() is True
    assert assigned.json() == [{"sku": "SHIRT", "position": 4, "category_id": str(shoes["id"])}]
    product = admin.get("V1/products/SHIRT").json()
    assert product["extension_attributes"]["category_links"] == [
        {"position": 4, "category_id": str(shoes["id"])}
    ]


def test_linking_again_moves_the_product_to_the_new_position(admin, shirt):
    for position in (1, 9):
        admin.post(
            "V1/categories/2/products", {"productLink": {"sku": "SHIRT", "position": position}}
        )

    assert admin.get("V1/categories/2/products").json() == [
        {"sku": "SHIRT", "position": 9, "category_id": "2"}
    ]
    assert CategoryProduct.objects.count() == 1


def test_the_url_category_wins_over_the_body(admin, shirt):
    shoes = create(admin, name="Shoes")

    admin.put(
        f"V1/categories/{shoes['id']}/products", {"productLink": {"sku": "SHIRT", "category_id": 2}}
    )

    assert CategoryProduct.objects.get().category_id == shoes["id"]


def test_linking_an_unknown_product_or_category_is_404(admin, shirt):
    unknown_product = admin.post("V1/categories/2/products", {"productLink": {"sku": "NOPE"}})
    unknown_category = admin.post("V1/categories/999/products", {"productLink": {"sku": "SHIRT"}})

    assert unknown_product.status_code == 404
    assert unknown_product.json()["message"] == (
        "The product that was requested doesn't exist. Verify the product and try again."
    )
    assert unknown_category.status_code == 404


def test_a_link_without_a_sku_is_400(admin):
    response = admin.post("V1/categories/2/products", {"productLink": {"position": 1}})

    assert response.status_code == 400
    assert response.json()["parameters"] == {"fieldName": "sku"}


def test_deleting_a_link_answers_true_then_says_the_product_is_not_there(admin, shirt):
    admin.post("V1/categories/2/products", {"productLink": {"sku": "SHIRT"}})

    first = admin.delete("V1/categories/2/products/SHIRT")
    second = admin.delete("V1/categories/2/products/SHIRT")

    assert first.status_code == 200 and first.json() is True
    assert second.status_code == 400
    assert second.json()["message"] == "The category doesn't contain the specified product."
    assert admin.get("V1/categories/2/products").json() == []


def test_deleting_a_product_removes_its_links(admin, shirt):
    admin.post("V1/categories/2/products", {"productLink": {"sku": "SHIRT"}})

    admin.delete("V1/products/SHIRT")

    assert admin.get("V1/categories/2/products").json() == []


def test_links_need_category_permissions(api, limited_user, shirt):
    product_only = api.as_admin(limited_user(["catalog.change_product", "catalog.view_product"]))
    category_writer = api.as_admin(limited_user(["catalog.change_category"]))
    body = {"productLink": {"sku": "SHIRT"}}

    assert product_only.post("V1/categories/2/products", body).status_code == 403
    assert product_only.get("V1/categories/2/products").status_code == 403
    assert category_writer.post("V1/categories/2/products", body).status_code == 200
    assert category_writer.get("V1/categories/2").status_code == 403


def test_category_routes_need_a_token(api):
    assert api.get("V1/categories/2").status_code == 401
    assert api.post("V1/categories", {"category": {"name": "x"}}).status_code == 401


def test_products_can_be_searched_by_category(admin, shirt):
    shoes = create(admin, name="Shoes")
    admin.post("all/V1/products", {"product": {"sku": "OTHER", "name": "Other"}})
    admin.post(f"V1/categories/{shoes['id']}/products", {"productLink": {"sku": "SHIRT"}})

    body = admin.get(
        "V1/products",
        {
            "searchCriteria[filter_groups][0][filters][0][field]": "category_id",
            "searchCriteria[filter_groups][0][filters][0][value]": str(shoes["id"]),
        },
    ).json()

    assert [p["sku"] for p in body["items"]] == ["SHIRT"] and body["total_count"] == 1
