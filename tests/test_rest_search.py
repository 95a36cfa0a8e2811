"""Magento's searchCriteria: condition types, OR within a group, AND across groups, sorting, paging.

The mechanics are exercised on Django's own User model (through `search()` and
through a search route declared by the test), so they do not depend on the catalog.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from tests.fixtures.webapi import temporary_route
from webapi.exceptions import InputException
from webapi.routes import Route
from webapi.search import search

pytestmark = pytest.mark.django_db

User = get_user_model()
FIELDS = {
    "id": "id",
    "username": "username",
    "email": "email",
    "is_staff": "is_staff",
    "last_login": "last_login",
    "joined": "date_joined",
    "group": "groups__name",
}


@pytest.fixture
def people(db):
    now = timezone.now()
    made = {}
    for index, (name, email, staff, login) in enumerate(
        [
            ("alice", "alice@example.com", True, now),
            ("bob", "bob@shop.test", False, None),
            ("carol", "carol@example.com", False, now),
            ("dave", "dave@shop.test", True, None),
            ("erin_x", "erin@example.com", False, now),
        ]
    ):
        made[name] = User.objects.create(
            username=name,
            email=email,
            is_staff=staff,
            last_login=login,
            date_joined=now - timedelta(days=10 - index),
        )
    buyers = Group.objects.create(name="buyers")
    sellers = Group.objects.create(name="sellers")
    made["alice"].groups.add(buyers, sellers)
    made["bob"].groups.add(buyers)
    return made


def criteria(*groups, sort=(), page_size=None, current_page=None, camel=False) -> dict[str, str]:
    """Build a searchCriteria query dict: groups of (field, value, condition_type) filters."""
    fg, so, ct = (
        ("filterGroups", "sortOrders", "conditionType")
        if camel
        else ("filter_groups", "sortOrders", "condition_type")
    )
    query: dict[str, str] = {}
    for g, group in enumerate(groups):
        for f, (field, value, condition) in enumerate(group):
            prefix = f"searchCriteria[{fg}][{g}][filters][{f}]"
            query[f"{prefix}[field]"] = field
            if value is not None:
                query[f"{prefix}[value]"] = value
            if condition is not None:
                query[f"{prefix}[{ct}]"] = condition
    for n, (field, direction) in enumerate(sort):
        query[f"searchCriteria[{so}][{n}][field]"] = field
        query[f"searchCriteria[{so}][{n}][direction]"] = direction
    if page_size is not None:
        query["searchCriteria[pageSize]"] = str(page_size)
    if current_page is not None:
        query["searchCriteria[currentPage]"] = str(current_page)
    return query


def names(*groups, **kwargs) -> list[str]:
    page = search(User.objects.all(), criteria(*groups, **kwargs), FIELDS)
    return [u.username for u in page.items]


@pytest.mark.parametrize(
    ("condition", "value", "expected"),
    [
        (None, "bob", ["bob"]),
        ("eq", "bob", ["bob"]),
        ("neq", "bob", ["alice", "carol", "dave", "erin_x"]),
        ("like", "%shop%", ["bob", "dave"]),
        ("like", "CAROL%", ["carol"]),
        ("like", "%.test", ["bob", "dave"]),
        ("like", "a%e@%", ["alice"]),
        ("nlike", "%example%", ["bob", "dave"]),
        ("in", "alice@example.com, dave@shop.test", ["alice", "dave"]),
        ("nin", "alice@example.com,dave@shop.test", ["bob", "carol", "erin_x"]),
    ],
)
def test_text_condition_types(people, condition, value, expected):
    field = "username" if value in ("bob",) else "email"
    assert names([(field, value, condition)]) == expected


def test_like_underscore_matches_one_character_and_can_be_escaped(people):
    assert names([("username", "b_b", "like")]) == ["bob"]
    assert names([("username", "erin\\_%", "like")]) == ["erin_x"]
    assert names([("username", "bo\\_", "like")]) == []


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("gt", ["dave", "erin_x"]),
        ("gteq", ["carol", "dave", "erin_x"]),
        ("moreq", ["carol", "dave", "erin_x"]),
        ("from", ["carol", "dave", "erin_x"]),
        ("lt", ["alice", "bob"]),
        ("lteq", ["alice", "bob", "carol"]),
        ("to", ["alice", "bob", "carol"]),
    ],
)
def test_comparison_condition_types(people, condition, expected):
    assert names([("id", str(people["carol"].id), condition)]) == expected


def test_null_and_notnull(people):
    assert names([("last_login", None, "null")]) == ["bob", "dave"]
    assert names([("last_login", None, "notnull")]) == ["alice", "carol", "erin_x"]


def test_booleans_accept_true_false_and_digits(people):
    assert names([("is_staff", "true", "eq")]) == ["alice", "dave"]
    assert names([("is_staff", "0", "eq")]) == ["bob", "carol", "erin_x"]


def test_dates_compare_with_from_and_to_in_separate_groups(people):
    start = people["bob"].date_joined.isoformat()
    end = people["dave"].date_joined.isoformat()
    assert names([("joined", start, "from")], [("joined", end, "to")]) == ["bob", "carol", "dave"]


def test_filters_in_one_group_are_ored(people):
    assert names([("username", "alice", "eq"), ("username", "dave", "eq")]) == ["alice", "dave"]


def test_groups_are_anded(people):
    assert names([("email", "%example.com", "like")], [("is_staff", "1", "eq")]) == ["alice"]


def test_a_filter_across_a_to_many_relation_returns_each_item_once(people):
    page = search(
        User.objects.all(),
        criteria([("group", "buyers", "eq"), ("group", "sellers", "eq")]),
        FIELDS,
    )
    assert [u.username for u in page.items] == ["alice", "bob"]
    assert page.total_count == 2


def test_sorting_across_a_to_many_relation_returns_each_item_once(people):
    # alice is in buyers and sellers, bob in buyers: ASC sorts by the smallest group name,
    # DESC by the largest; people without a group come first in ASC (NULL) on SQLite,
    # last on PostgreSQL.
    ascending = search(User.objects.all(), criteria(sort=[("group", "ASC")]), FIELDS)
    descending = names([("group", "buyers", "eq")], sort=[("group", "DESC")])

    usernames = [u.username for u in ascending.items]
    assert sorted(usernames) == ["alice", "bob", "carol", "dave", "erin_x"]
    assert ascending.total_count == 5
    assert usernames.index("alice") < usernames.index("bob")  # buyers == buyers, then id
    assert descending == ["alice", "bob"]  # sellers > buyers


def test_sorting_and_filtering_across_a_to_many_relation_count_each_item_once(people):
    page = search(
        User.objects.all(),
        criteria([("group", "buyers", "eq"), ("group", "sellers", "eq")], sort=[("group", "DESC")]),
        FIELDS,
    )
    assert [u.username for u in page.items] == ["alice", "bob"]
    assert page.total_count == 2


def test_camel_case_keys_are_accepted(people):
    assert names([("username", "bob", "eq")], camel=True) == ["bob"]


def test_sorting_by_several_fields(people):
    assert names(sort=[("is_staff", "DESC"), ("username", "desc")]) == [
        "dave",
        "alice",
        "erin_x",
        "carol",
        "bob",
    ]


def test_paging_with_total_count_and_echo(people):
    query = criteria(
        [("is_staff", "0", "eq")], sort=[("username", "ASC")], page_size=2, current_page=2
    )
    page = search(User.objects.all(), query, FIELDS)
    assert [u.username for u in page.items] == ["erin_x"]
    assert page.total_count == 3
    assert page.search_criteria == {
        "filter_groups": [
            {"filters": [{"field": "is_staff", "value": "0", "condition_type": "eq"}]}
        ],
        "sort_orders": [{"field": "username", "direction": "ASC"}],
        "page_size": 2,
        "current_page": 2,
    }


def test_a_page_past_the_end_is_empty(people):
    page = search(User.objects.all(), criteria(page_size=2, current_page=9), FIELDS)
    assert page.items == [] and page.total_count == 5


def test_page_size_is_capped_by_the_setting(people, settings):
    settings.WEBAPI = {**settings.WEBAPI, "SEARCH_MAX_PAGE_SIZE": 3}
    page = search(User.objects.all(), criteria(page_size=100), FIELDS)
    assert len(page.items) == 3 and page.total_count == 5
    assert page.search_criteria["page_size"] == 3
    assert len(search(User.objects.all(), {}, FIELDS).items) == 3


def test_no_criteria_returns_everything_in_id_order(people):
    page = search(User.objects.all(), {}, FIELDS)
    assert [u.username for u in page.items] == ["alice", "bob", "carol", "dave", "erin_x"]
    assert page.search_criteria["filter_groups"] == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (criteria([("password", "x", "eq")]), "can't be searched"),
        (criteria(sort=[("password", "ASC")]), "can't be searched"),
        (criteria([("username", "x", "regex")]), "condition type"),
        (criteria(sort=[("username", "UP")]), "sort direction"),
        (criteria(page_size="ten"), "Invalid value"),
        (criteria(current_page="first"), "Invalid value"),
        (criteria(page_size=-1), "Invalid value"),
        (criteria([("id", "abc", "gt")]), "doesn't fit"),
        (criteria([("is_staff", "maybe", "eq")]), "Invalid value"),
        ({"searchCriteria[filter_groups][0][filters][0][value]": "x"}, "is required"),
        ({"searchCriteria[filter_groups]x": "1"}, "malformed"),
    ],
)
def test_bad_criteria_are_input_errors(people, query, message):
    with pytest.raises(InputException) as raised:
        search(User.objects.all(), query, FIELDS)
    assert message in raised.value.message


def test_unknown_field_error_lists_the_searchable_fields(people):
    with pytest.raises(InputException) as raised:
        search(User.objects.all(), criteria([("password", "x", "eq")]), FIELDS)
    assert raised.value.parameters["fieldName"] == "password"
    assert "username" in raised.value.parameters["fields"]


# --- through HTTP --------------------------------------------------------------------


def _user_search(ctx, params, data):
    page = search(User.objects.all(), data, FIELDS)
    return page.answer(lambda u: {"id": u.id, "username": u.username})


@pytest.fixture
def user_search_route():
    with temporary_route(
        Route("GET", "/V1/test-search/users", "tests.users.search", _user_search, None)
    ):
        yield


def test_a_search_route_answers_items_search_criteria_and_total_count(
    api, people, user_search_route
):
    response = api.get(
        "V1/test-search/users",
        criteria([("email", "%shop.test", "like")], sort=[("username", "DESC")], page_size=1),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["items"] == [{"id": people["dave"].id, "username": "dave"}]
    assert body["total_count"] == 2
    assert body["search_criteria"]["filter_groups"][0]["filters"][0] == {
        "field": "email",
        "value": "%shop.test",
        "condition_type": "like",
    }


def test_a_bad_search_is_400_in_magento_shape(api, people, user_search_route):
    response = api.get("V1/test-search/users", criteria([("password", "x", "eq")]))
    assert response.status_code == 400
    assert response.json()["parameters"]["fieldName"] == "password"
