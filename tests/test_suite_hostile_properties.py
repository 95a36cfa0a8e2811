"""Hostile input suite: property-based tests (hypothesis), bounded and derandomized.

- The `:param` → `byParam` conversion of bulk paths (`Route.bulk_path`) and the
  items' parameters (`operations.items.item_params`): Magento's rule for any name.
- Topic matching (`queues.routing.matches`) against a reference implementation of
  RabbitMQ's topic exchange written here: `*` one word, `#` zero or more words.
- `searchCriteria` parsing: random query strings raise nothing but the project's
  400 exceptions (`LocalizedException`, answered in Magento's shape).
- The search matrix of defect 6 at random: field × condition × value through
  `GET /V1/products` and `GET /V1/bulk` answer 200 or a Magento-shaped 400.
- Poison messages on every declared queue: for each queue of the project's registry
  (read at import, before a test swaps in its own), a copy of that queue, its
  bindings and its consumer (settings and `on_dead_letter` kept) under unique names,
  on the db transport and on RabbitMQ (skipped when absent, failed under
  REQUIRE_SERVICES=1), receives an undecodable message, a message whose handler
  raises, then a good one: the first two are dead-lettered with their reason, the
  good one is processed (the consumer keeps going).

Every test has a small `max_examples`, `deadline=None` and `derandomize=True`, so CI
runs the same examples each time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import string
import time
from typing import Any

import pika
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from operations.exceptions import MissingParameter
from operations.items import item_params, snake
from queues import dead_letters, publish, registry, routing
from queues.conf import queue_settings
from queues.consumer import ConsumerRuntime
from queues.declarations import Binding, Exchange, Publisher, Queue
from queues.models import QueueMessage
from queues.routing import matches
from webapi.exceptions import LocalizedException
from webapi.routes import Route, routes
from webapi.search import CONDITION_TYPES, parse_search_criteria

BOUNDED = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
SMALL = settings(BOUNDED, max_examples=25)

identifiers = st.from_regex(r"\A[a-z][A-Za-z0-9]{0,12}\Z", fullmatch=True)
scalars = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=12),
)


def _noop(ctx, params, data):
    return True


# -- byParam -----------------------------------------------------------------------
@BOUNDED
@given(prefix=st.lists(identifiers, min_size=1, max_size=3), name=identifiers)
def test_bulk_path_turns_each_param_into_by_param(prefix, name):
    route = Route("PUT", "/V1/" + "/".join(prefix) + f"/:{name}", "x.y.save", _noop, "rest.x")
    expected = "/V1/" + "/".join(prefix) + "/by" + name[0].upper() + name[1:]
    assert route.bulk_path == expected
    assert route.param_names == (name,)
    assert route.match_bulk(tuple(expected.strip("/").split("/")))


@BOUNDED
@given(name=identifiers, value=scalars, where=st.sampled_from(["top", "snake", "entity"]))
def test_item_params_find_the_param_where_magento_clients_put_it(name, value, where):
    if where == "top":
        item: dict[str, Any] = {name: value, "other": 1}
    elif where == "snake":
        item = {snake(name): value}
    else:
        item = {"entity": {name: value, "x": [1]}}
    assert item_params(item, (name,)) == {name: str(value)}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@BOUNDED
@given(item=st.dictionaries(st.text(max_size=8), json_values, max_size=4), name=identifiers)
def test_item_params_raise_only_missing_parameter(item, name):
    try:
        params = item_params(item, (name,))
    except MissingParameter:
        return
    assert isinstance(params[name], str)


def test_every_declared_async_route_resolves_by_its_bulk_path():
    for route in routes:
        if not route.async_enabled:
            continue
        found, params = routes.resolve_async(route.method, route.bulk_path, bulk=True)
        assert (found.method, found.path, params) == (route.method, route.path, {})


# -- topic matching ----------------------------------------------------------------
def rabbitmq_topic_match(pattern: str, key: str) -> bool:
    """RabbitMQ's topic matching, written from its documentation, by plain recursion.

    Words are separated by dots; an empty string has no words. `*` is exactly one
    word, `#` zero or more words, any other word matches itself.
    """
    p = pattern.split(".") if pattern else []
    k = key.split(".") if key else []

    def go(i: int, j: int) -> bool:
        if i == len(p):
            return j == len(k)
        if p[i] == "#":
            return any(go(i + 1, jj) for jj in range(j, len(k) + 1))
        if j == len(k):
            return False
        return (p[i] == "*" or p[i] == k[j]) and go(i + 1, j + 1)

    return go(0, 0)


words = st.sampled_from(["a", "b", "async", ""])
pattern_words = st.sampled_from(["a", "b", "async", "", "*", "#"])


@settings(BOUNDED, max_examples=300)
@given(
    pattern=st.lists(pattern_words, max_size=6).map(".".join),
    key=st.lists(words, max_size=6).map(".".join),
)
def test_topic_matching_agrees_with_rabbitmq(pattern, key):
    assert matches(pattern, key) is rabbitmq_topic_match(pattern, key)


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("async.#", "async", True),
        ("async.#", "async.a.b", True),
        ("*.b", "a.b", True),
        ("*.b", "b", False),
        ("#", "", True),
        ("*", "", False),
        ("#.#", "a", True),
        ("a.*.#", "a", False),
        ("a..b", "a..b", True),
        ("a.*.b", "a..b", True),
    ],
)
def test_topic_matching_known_cases(pattern, key, expected):
    assert matches(pattern, key) is expected
    assert rabbitmq_topic_match(pattern, key) is expected


# -- searchCriteria parsing --------------------------------------------------------
key_parts = st.sampled_from(
    [
        "filter_groups",
        "filterGroups",
        "filters",
        "field",
        "value",
        "condition_type",
        "conditionType",
        "sort_orders",
        "sortOrders",
        "direction",
        "page_size",
        "pageSize",
        "current_page",
        "currentPage",
        "0",
        "1",
        "-1",
        "",
        "[",
        "]",
    ]
)
raw_keys = st.lists(key_parts, min_size=0, max_size=6).map(
    lambda parts: "searchCriteria" + "".join(f"[{p}]" for p in parts)
) | st.text(max_size=20).map(lambda t: "searchCriteria" + t)
raw_values = st.sampled_from(
    ["", "0", "1", "-1", "eq", "like", "in", "ASC", "desc", "name", "%", "1e400", "9" * 5000]
) | st.text(max_size=10)


@settings(BOUNDED, max_examples=300)
@given(query=st.dictionaries(raw_keys, raw_values, max_size=6))
def test_search_criteria_parsing_raises_only_400_exceptions(query):
    with contextlib.suppress(LocalizedException):
        parse_search_criteria(query)


# Found by this suite, not fixed yet: an index that `str.isdigit()` accepts but `int()`
# refuses (a superscript digit, or more than 4,300 digits) used to raise ValueError in
# `webapi.search._ordered` (a 500); such a key is now a name like any other.
NUMERIC_LOOKING_KEYS = [
    "searchCriteria[filter_groups][\u00b2][filters][0][field]",
    "searchCriteria[filter_groups][0][filters][\u00b2][field]",
    "searchCriteria[sort_orders][\u00b2][field]",
    "searchCriteria[filter_groups][" + "9" * 5000 + "][filters][0][field]",
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "key", NUMERIC_LOOKING_KEYS, ids=["group ²", "filter ²", "sort ²", "5000 digits"]
)
def test_a_search_index_that_only_looks_numeric_answers_without_a_500(api, admin_token, key):
    response = api.get("V1/products", {key: "sku"}, token=admin_token)
    assert response.status_code in (200, 400), response.content[:300]
    if response.status_code == 400:
        assert isinstance(json.loads(response.content).get("message"), str)


# -- search matrix at random (defect 6) ---------------------------------------------
FIELDS = {
    "V1/products": ["sku", "name", "price", "status", "type_id", "created_at", "entity_id", "nope"],
    "V1/bulk": ["uuid", "description", "created_at", "user_id", "operation_count", "nope"],
}
values = st.sampled_from(
    ["1", "-1", str(2**63), "9" * 4301, "1.5", "1E+999999999999999999", "NaN", "", "abc"]
    + ["a%b_c\\%", "%_%_%_%_%#", f"1,{2**63},-3", "2026-01-01 00:00:00"]
) | st.text(max_size=8)


@pytest.mark.django_db
def test_random_search_triples_answer_200_or_magento_400(api, admin_token):
    @SMALL
    @given(
        route=st.sampled_from(sorted(FIELDS)),
        data=st.data(),
    )
    def check(route, data):
        field = data.draw(st.sampled_from(FIELDS[route]))
        condition = data.draw(st.sampled_from(CONDITION_TYPES))
        value = data.draw(values)
        prefix = "searchCriteria[filter_groups][0][filters][0]"
        params = {
            f"{prefix}[field]": field,
            f"{prefix}[value]": value,
            f"{prefix}[condition_type]": condition,
        }
        response = api.get(route, params, token=admin_token)
        request = f"GET /rest/{route} {params!r}"
        assert response.status_code in (200, 400), f"{request}: {response.status_code}"
        if response.status_code == 400:
            body = json.loads(response.content)
            assert isinstance(body.get("message"), str), f"{request}: {body!r}"

    check()


# -- poison messages on every declared queue -----------------------------------------
MAX_TRIALS = 2
REAL_QUEUES = {
    name: {
        "queue": queue,
        "bindings": [b for b in registry.bindings.values() if b.queue == name],
        "consumers": [c for c in registry.consumers.values() if c.queue == name],
        "topics": list(registry.topics),
    }
    for name, queue in registry.queues.items()
}


class PoisonHandler:
    """Raises on a body marked `poison`, remembers the good ones."""

    def __init__(self) -> None:
        self.good: list[int] = []

    def __call__(self, envelope) -> None:
        if envelope.body.get("hostile") == "poison":
            raise RuntimeError("this message poisons its handler")
        self.good.append(envelope.body["n"])


def _topic_for(bindings: list[Binding], topics: list[str]) -> str:
    for binding in bindings:
        for topic in topics:
            if routing.matches(binding.topic, topic):
                return topic
        return binding.topic.replace("#", "hostile").replace("*", "hostile")
    raise AssertionError("a declared queue without a binding")


def test_every_declared_queue_has_a_consumer():
    assert REAL_QUEUES
    for name, real in REAL_QUEUES.items():
        assert real["consumers"], f"queue {name} has no consumer"
        assert real["bindings"], f"queue {name} has no binding"


@pytest.mark.django_db
@pytest.mark.parametrize("queue_name", sorted(REAL_QUEUES))
def test_poison_messages_are_dead_lettered_and_the_consumer_keeps_going(
    queue_name, transport_kind, make_transport, unique
):
    real = REAL_QUEUES[queue_name]
    handler = PoisonHandler()
    exchange = unique("ex")
    queue = Queue(unique("q"), connection=transport_kind, arguments=real["queue"].arguments)
    consumer = dataclasses.replace(
        real["consumers"][0],
        name=unique("c"),
        queue=queue.name,
        connection="default",
        handler=handler,
        batch_handler=None,
    )
    registry.declare(
        Exchange(exchange, connection=transport_kind),
        queue,
        *[
            Binding(id=unique(f"b{i}"), exchange=exchange, topic=b.topic, queue=queue.name)
            for i, b in enumerate(real["bindings"])
        ],
        Publisher(topic="#", connection=transport_kind, exchange=exchange),
        consumer,
    )
    make_transport().setup(registry.topology(transport_kind))
    topic = _topic_for(real["bindings"], real["topics"])

    if transport_kind == "db":
        QueueMessage.objects.create(queue=queue.name, topic=topic, message_id="", body=[1, 2])
    else:
        connection = pika.BlockingConnection(pika.URLParameters(queue_settings.AMQP_URL))
        connection.channel().basic_publish(
            "", queue.name, b"\xff\xfe not json", pika.BasicProperties(delivery_mode=2)
        )
        connection.close()
    publish(topic, {"hostile": "poison", "n": 0}, {})
    publish(topic, {"hostile": "good", "n": 1}, {})

    runtime = ConsumerRuntime(consumer, max_idle_time=1.0, sleep=0.1, max_trials=MAX_TRIALS)
    result = runtime.run()

    assert handler.good == [1]
    assert (result.dead, result.processed) == (2, 1)
    deadline = time.monotonic() + 5
    while dead_letters.count(queue.name) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    letters = dead_letters.list_dead(queue.name).letters
    reasons = sorted(letter.reason for letter in letters)
    assert len(letters) == 2, reasons
    assert any("undecodable" in r for r in reasons), reasons
    assert any("this message poisons its handler" in r for r in reasons), reasons
