"""Hostile `searchCriteria` (issue 12, defects 2 and 6).

- A `like` pattern is evaluated by the database's own LIKE, in time linear in the
  pattern and the value (no backtracking regular expression in Python); patterns and
  values past `WEBAPI["SEARCH_MAX_LIKE_LENGTH"]` / `["SEARCH_MAX_VALUE_LENGTH"]` are a
  400 in Magento's shape.
- The search matrix: the searchable fields of every search route (read from the
  routes registry and from the API's own "can't be searched" answer, so a new route
  or field joins the matrix by itself), one of each kind the search treats alike
  (same model field class, relation, to-many, annotation: `_kinds`) × every condition
  type × every value class answers 200, or 400 in Magento's shape: never a 5xx. One
  request per combination, some 5,000 in all (20 to 40 s per database, spread over five tests).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from operations.models import Bulk
from webapi import search as search_module
from webapi.conf import webapi_settings
from webapi.routes import routes
from webapi.search import CONDITION_TYPES

pytestmark = pytest.mark.django_db

HOSTILE = "%_%_%_%_%_%_%_%#"
HUGE = str(2**63)

# Value classes: each one a single filter value.
VALUES = {
    "int": "1",
    "negative": "-1",
    "2^63": HUGE,
    "-2^63-1": str(-(2**63) - 1),
    "10^30": str(10**30),
    "4301 digits": "9" * 4301,
    "float": "1.5",
    "exponent": "1E+999999999999999999",
    "tiny exponent": "-1E-999999999999999999",
    "not finite": "NaN",
    "empty": "",
    "text": "abc",
    "text with %": "a%b_c\\%",
    "hostile like": HOSTILE,
    "list of huge ints": f"1,{HUGE},{10**30},-{HUGE}0",
}
# null / notnull ignore the value: one request each.
VALUELESS = ("null", "notnull")


def _filter(field: str, value: str, condition: str, group: int = 0) -> dict[str, str]:
    prefix = f"searchCriteria[filter_groups][{group}][filters][0]"
    return {
        f"{prefix}[field]": field,
        f"{prefix}[value]": value,
        f"{prefix}[condition_type]": condition,
    }


def _assert_magento_400(response) -> dict[str, Any]:
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert set(body) >= {"message", "parameters"}
    assert isinstance(body["message"], str) and body["message"]
    return body


@pytest.fixture
def admin(api, admin_token):
    return api.as_admin(admin_token)


@pytest.fixture
def catalog(admin):
    """One row behind every search route, so that each filter is evaluated on data."""
    category = admin.post("V1/categories", {"category": {"name": "Shirts #1"}})
    assert category.status_code == 200, category.content
    category_id = category.json()["id"]
    product = {"sku": "TS-1", "name": "Shirt #", "price": 10, "attribute_set_id": 4}
    assert admin.post("V1/products", {"product": product}).status_code == 200
    link = {"productLink": {"sku": "TS-1", "position": 1, "category_id": category_id}}
    assert admin.post(f"V1/categories/{category_id}/products", link).status_code == 200
    customer = {"email": "a@example.com", "firstname": "A_b", "lastname": "C%d"}
    assert admin.post("V1/customers", {"customer": customer}).status_code == 200
    block = {"identifier": "footer", "title": "Footer #", "content": "x" * 2000}
    assert admin.post("V1/cmsBlock", {"block": block}).status_code == 200
    bulk = admin.post("async/bulk/V1/products", [{"product": {"sku": "B-1", "name": "B #"}}])
    assert bulk.status_code == 202, bulk.content
    assert Bulk.objects.count() == 1


# Every route declared with `search=True` (the registry is filled at import time).
_SEARCH_ROUTES = sorted(route.path.lstrip("/") for route in routes if route.search)


def test_the_matrix_covers_every_search_route():
    assert {"V1/bulk", "V1/products", "V1/categories/list"} <= set(_SEARCH_ROUTES)


def _fields(admin, path: str) -> list[str]:
    """The route's searchable fields, as its own 400 for an unknown field lists them."""
    body = _assert_magento_400(admin.get(path, _filter("no such field", "1", "eq")))
    fields = body["parameters"]["fields"].split(", ")
    assert fields and all(fields)
    return fields


# --- defect 2: like in linear time, bounded --------------------------------------------


@pytest.mark.parametrize("path", ["V1/bulk", "V1/products", "V1/customers/search"])
def test_a_backtracking_like_pattern_answers_at_once(admin, catalog, path):
    field = {"V1/bulk": "topic_name", "V1/products": "sku", "V1/customers/search": "email"}[path]
    # Matched against a long value too: a block's content is 2,000 characters.
    for route, name in ((path, field), ("V1/cmsBlock/search", "content")):
        for condition in ("like", "nlike"):
            started = time.perf_counter()
            response = admin.get(route, _filter(name, HOSTILE + "_%" * 20, condition))
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.content[:300]
            assert elapsed < 0.5, f"{route} {name} {condition}: {elapsed:.2f} s"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("%#", ["TS-1"]),  # `name` is "Shirt #"
        ("shirt _", ["TS-1"]),  # case-insensitive, `_` one character
        ("%_%_%_%_%_%_%#", ["TS-1"]),  # "Shirt #": 6 characters before "#"
        (HOSTILE, []),  # 7 or more
        ("_%_%_%_%_%_%#", ["TS-1"]),
        ("_%_%_%_%_%_%_#", []),
        ("%%%%Shirt%%%", ["TS-1"]),
        ("Shirt\\_#", []),  # `\_` is a literal underscore
        ("Shirt \\#", ["TS-1"]),  # `\#`: the character itself
    ],
)
def test_like_keeps_magento_semantics_on_the_database(admin, catalog, value, expected):
    response = admin.get("V1/products", _filter("name", value, "like"))
    assert response.status_code == 200, response.content
    assert [p["sku"] for p in response.json()["items"]] == expected


def test_like_literal_wildcards_and_backslashes(admin, catalog):
    def lastnames(value: str) -> list[str]:
        response = admin.get("V1/customers/search", _filter("lastname", value, "like"))
        assert response.status_code == 200, response.content
        return [c["lastname"] for c in response.json()["items"]]

    assert lastnames("C\\%d") == ["C%d"]
    assert lastnames("C\\%") == []
    assert lastnames("_\\%_") == ["C%d"]
    assert lastnames("C\\_d") == []
    assert lastnames("C\\\\%") == []  # `\\` is a literal backslash


def test_like_on_a_uuid_matches_its_text(admin, catalog):
    uuid = str(Bulk.objects.get().uuid)
    for value, count in ((uuid, 1), (uuid[:9] + "%", 1), ("%" + uuid[-12:], 1), ("x%", 0)):
        response = admin.get("V1/bulk", _filter("bulk_uuid", value, "like"))
        assert response.status_code == 200, response.content
        assert response.json()["total_count"] == count, value


def test_a_too_long_like_pattern_is_400(admin, catalog):
    bound = webapi_settings.SEARCH_MAX_LIKE_LENGTH
    assert admin.get("V1/bulk", _filter("topic_name", "%" * bound, "like")).status_code == 200
    for condition in ("like", "nlike"):
        body = _assert_magento_400(
            admin.get("V1/bulk", _filter("topic_name", "%" * (bound + 1), condition))
        )
        assert "too long" in body["message"]
        assert body["parameters"]["maxLength"] == bound


def test_a_too_long_filter_value_is_400(admin, catalog):
    bound = webapi_settings.SEARCH_MAX_VALUE_LENGTH
    ids = ",".join(["1"] * (bound // 2))
    assert admin.get("V1/bulk", _filter("id", ids, "in")).status_code == 200
    for condition in ("eq", "in", "gt"):
        body = _assert_magento_400(
            admin.get("V1/bulk", _filter("topic_name", "a" * (bound + 1), condition))
        )
        assert "too long" in body["message"]
        assert body["parameters"]["maxLength"] == bound


def test_the_bounds_follow_the_settings(admin, catalog, settings):
    settings.WEBAPI = {**settings.WEBAPI, "SEARCH_MAX_LIKE_LENGTH": 3}
    assert admin.get("V1/bulk", _filter("topic_name", "%a%", "like")).status_code == 200
    _assert_magento_400(admin.get("V1/bulk", _filter("topic_name", "%ab%", "like")))


# --- defect 6: no 5xx from any field, condition type and value --------------------------


@pytest.mark.parametrize(
    ("path", "field", "condition", "value"),
    [
        ("V1/products", "category_id", "like", "1%"),
        ("V1/products", "category_id", "nlike", "%"),
        ("V1/categories/list", "parent_id", "like", "%"),
        ("V1/customers/search", "website_id", "like", "%1"),
        ("V1/customers/search", "store_id", "nlike", "1"),
        ("V1/bulk", "store_id", "like", "%"),
        ("V1/products", "category_id", "gt", HUGE),
        ("V1/categories/list", "parent_id", "eq", HUGE),
        ("V1/customers/search", "website_id", "lt", HUGE),
        ("V1/bulk", "store_id", "neq", HUGE),
        ("V1/bulk", "id", "in", f"1,{HUGE}"),
        ("V1/customers/search", "group_id", "nin", f"{HUGE},1"),
        ("V1/products", "category_id", "in", HUGE),
    ],
)
def test_the_reported_500s_answer_200(admin, catalog, path, field, condition, value):
    response = admin.get(path, _filter(field, value, condition))
    assert response.status_code == 200, response.content[:300]


@pytest.mark.parametrize(
    ("condition", "value"),
    [
        ("gt", "1E+999999999999999999"),
        ("eq", "-1E-999999999999999999"),
        ("in", "1,1E-999999999999999999"),
    ],
)
def test_a_decimal_no_database_can_compare_with_is_400(admin, catalog, condition, value):
    body = _assert_magento_400(admin.get("V1/products", _filter("price", value, condition)))
    assert body["message"].startswith("Invalid value of")
    assert body["parameters"]["fieldName"] == "price"
    assert admin.get("V1/products", _filter("price", "1E+30", "lt")).json()["total_count"] == 1


def test_like_on_a_foreign_key_matches_its_id(admin, catalog):
    category_id = _category_id(admin)
    for value, expected in ((str(category_id), ["TS-1"]), (f"{category_id}_", [])):
        response = admin.get("V1/products", _filter("category_id", value, "like"))
        assert [p["sku"] for p in response.json()["items"]] == expected
    response = admin.get("V1/products", _filter("category_id", str(category_id), "nlike"))
    assert [p["sku"] for p in response.json()["items"]] == []


def _category_id(admin) -> int:
    items = admin.get("V1/categories/list", _filter("name", "Shirts%", "like")).json()["items"]
    return items[0]["id"]


def test_values_outside_the_integer_range_match_nothing_in_a_list(admin, catalog):
    category_id = _category_id(admin)
    listed = admin.get("V1/products", _filter("category_id", f"{HUGE},{category_id}", "in"))
    assert [p["sku"] for p in listed.json()["items"]] == ["TS-1"]
    excluded = admin.get("V1/products", _filter("category_id", f"{HUGE},{category_id}", "nin"))
    assert excluded.json()["total_count"] == 0  # the only product is in the category
    only_huge = admin.get("V1/bulk", _filter("id", HUGE, "in"))
    assert only_huge.json()["total_count"] == 0
    not_huge = admin.get("V1/bulk", _filter("id", HUGE, "nin"))
    assert not_huge.json()["total_count"] == 1
    assert admin.get("V1/bulk", _filter("store_id", HUGE, "gt")).json()["total_count"] == 0


def _kinds(admin, path: str, monkeypatch) -> dict[tuple[Any, ...], list[str]]:
    """The route's searchable fields grouped by what `webapi.search` filters them as: the
    model field each one ends on (its class, whether it is a relation, across a to-many
    relation, or an annotation). Fields of one kind take the same code path and the same
    column type, so the matrix tries one of each (`id` and `entity_id` are one)."""
    seen: list[tuple[Any, ...]] = []
    real = search_module._target

    def spy(model, lookup):
        target, to_many = real(model, lookup)
        kind = type(target).__name__ if target is not None else "annotation"
        seen.append((lookup, kind, bool(target is not None and target.is_relation), to_many))
        return target, to_many

    kinds: dict[tuple[Any, ...], list[str]] = {}
    with monkeypatch.context() as patched:
        patched.setattr(search_module, "_target", spy)
        for field in _fields(admin, path):
            seen.clear()
            assert admin.get(path, _filter(field, "", "null")).status_code == 200
            (lookup, *kind) = seen[-1]
            kinds.setdefault(tuple(kind), []).append(field)
    return kinds


@pytest.mark.parametrize("path", _SEARCH_ROUTES)
def test_the_search_matrix_answers_200_or_400_in_magento_shape(admin, catalog, path, monkeypatch):
    """Every kind of field of the route × every condition type × every value class, one
    request each: 200, or 400 in Magento's shape."""
    tried, failures = 0, []
    for kind, fields in _kinds(admin, path, monkeypatch).items():
        field = fields[0]
        for condition in CONDITION_TYPES:
            values = {"-": ""} if condition in VALUELESS else VALUES
            for name, value in values.items():
                response = admin.get(path, _filter(field, value, condition))
                tried += 1
                if response.status_code == 200:
                    continue
                body = response.json() if response.status_code == 400 else None
                if not (
                    isinstance(body, dict)
                    and set(body) == {"message", "parameters"}
                    and isinstance(body["message"], str)
                    and body["message"]
                ):
                    failures.append(
                        f"{field} ({kind[0]}) {condition} {name}: {response.status_code} "
                        f"{response.content[:200]!r}"
                    )
    assert not failures, f"{len(failures)} of {tried}:\n" + "\n".join(failures[:40])
