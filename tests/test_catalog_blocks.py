"""CMS blocks through the REST API."""

from __future__ import annotations

import pytest

from catalog.models import Block

pytestmark = pytest.mark.django_db

NOT_FOUND = 'The CMS block with the "%1" ID doesn\'t exist.'
DUPLICATE = "A block identifier with the same properties already exists in the selected store."


@pytest.fixture
def admin(api, admin_token):
    return api.as_admin(admin_token)


def block(identifier="footer", **fields):
    return {
        "block": {"identifier": identifier, "title": "Footer", "content": "<p>Hi</p>", **fields}
    }


def create(admin, body):
    response = admin.post("V1/cmsBlock", body)
    assert response.status_code == 200, response.content
    return response.json()


def test_post_creates_a_block_in_magentos_shape(admin):
    body = create(admin, block(active=False))

    assert set(body) == {
        "id",
        "identifier",
        "title",
        "content",
        "active",
        "creation_time",
        "update_time",
    }
    assert (body["identifier"], body["title"], body["content"], body["active"]) == (
        "footer",
        "Footer",
        "<p>Hi</p>",
        False,
    )


def test_get_put_and_delete_a_block(admin):
    created = create(admin, block())

    read = admin.get(f"V1/cmsBlock/{created['id']}")
    updated = admin.put(
        f"V1/cmsBlock/{created['id']}", {"block": {"title": "New title", "active": "0"}}
    )
    deleted = admin.delete(f"V1/cmsBlock/{created['id']}")

    assert read.status_code == 200 and read.json() == created
    assert updated.status_code == 200
    assert (updated.json()["title"], updated.json()["content"], updated.json()["active"]) == (
        "New title",
        "<p>Hi</p>",
        False,
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
        (
            {"block": {"identifier": "x", "title": "t", "active": "sometimes"}},
            {"value": "sometimes", "type": "bool"},
        ),
        (
            {"block": {"identifier": "x", "title": "t", "store_ids": [1]}},
            {
                "fieldName": "store_ids",
                "accessorMethod": "getStoreIds",
                "className": "Magento\\Cms\\Api\\Data\\BlockInterface",
            },
        ),
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

    body = admin.get(
        "V1/cmsBlock/search",
        {
            "searchCriteria[filter_groups][0][filters][0][field]": "identifier",
            "searchCriteria[filter_groups][0][filters][0][value]": "header",
            "searchCriteria[filter_groups][0][filters][1][field]": "identifier",
            "searchCriteria[filter_groups][0][filters][1][value]": "sidebar",
            "searchCriteria[sortOrders][0][field]": "identifier",
        },
    ).json()

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


@pytest.mark.parametrize("store_id", [0, [0], [1, 2], "1"])
def test_a_block_sent_with_its_stores_is_accepted_as_magento_clients_send_it(admin, store_id):
    body = create(admin, block(store_id=store_id))

    assert body["identifier"] == "footer"
    assert "store_id" not in body
    assert Block.objects.count() == 1
