"""The REST layer over the real catalog routes: permissions, store scope and search through HTTP."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def block(identifier: str, active: bool = True) -> dict:
    return {
        "block": {
            "identifier": identifier,
            "title": identifier.title(),
            "content": "<p/>",
            "active": active,
        }
    }


@pytest.fixture
def blocks(api, admin_token):
    made = {}
    for identifier, active in [
        ("footer", True),
        ("header", True),
        ("promo-1", False),
        ("promo-2", True),
    ]:
        response = api.post("V1/cmsBlock", block(identifier, active), token=admin_token)
        assert response.status_code == 200, response.json()
        made[identifier] = response.json()["id"]
    return made


def search_query(*groups, **extra) -> dict[str, str]:
    query = {}
    for g, group in enumerate(groups):
        for f, (field, value, condition) in enumerate(group):
            prefix = f"searchCriteria[filter_groups][{g}][filters][{f}]"
            query |= {
                f"{prefix}[field]": field,
                f"{prefix}[value]": value,
                f"{prefix}[condition_type]": condition,
            }
    return query | {f"searchCriteria[{k}]": str(v) for k, v in extra.items()}


def test_cms_block_search_ors_a_group_and_ands_groups(api, admin_token, blocks):
    query = search_query(
        [("identifier", "promo%", "like"), ("identifier", "footer", "eq")],
        [("active", "1", "eq")],
    )
    response = api.get("V1/cmsBlock/search", query, token=admin_token)
    assert response.status_code == 200
    body = response.json()
    assert sorted(item["identifier"] for item in body["items"]) == ["footer", "promo-2"]
    assert body["total_count"] == 2


def test_cms_block_search_pages_and_sorts(api, admin_token, blocks):
    query = {
        "searchCriteria[sortOrders][0][field]": "identifier",
        "searchCriteria[sortOrders][0][direction]": "DESC",
        "searchCriteria[pageSize]": "3",
        "searchCriteria[currentPage]": "2",
    }
    body = api.get("V1/cmsBlock/search", query, token=admin_token).json()
    assert [item["identifier"] for item in body["items"]] == ["footer"]
    assert body["total_count"] == 4
    assert (
        body["search_criteria"]["page_size"] == 3 and body["search_criteria"]["current_page"] == 2
    )


def test_cms_block_search_on_an_unknown_field_is_400(api, admin_token, blocks):
    response = api.get(
        "V1/cmsBlock/search", search_query([("colour", "red", "eq")]), token=admin_token
    )
    assert response.status_code == 400
    assert response.json()["parameters"]["fieldName"] == "colour"


def test_a_reading_integration_can_read_but_not_write(api, make_integration, blocks):
    _integration, token = make_integration("reader", ["catalog.view_block"])
    assert api.get(f"V1/cmsBlock/{blocks['footer']}", token=token).status_code == 200
    response = api.post("V1/cmsBlock", block("sneaky"), token=token)
    assert response.status_code == 403
    assert response.json()["parameters"] == {"resources": "catalog.change_block"}


def test_a_writing_staff_user_can_create_in_the_all_store_scope(api, limited_user):
    token = limited_user(["catalog.change_block"])
    response = api.post("all/V1/cmsBlock", block("global"), token=token)
    assert response.status_code == 200
    assert response.json()["identifier"] == "global"


def test_catalog_routes_refuse_anonymous_callers(api, db):
    assert api.get("V1/products/ANY").status_code == 401
    assert api.post("V1/products", {"product": {"sku": "X"}}).status_code == 401
