"""Where a bulk item's URL parameters travel (the `:param` → `byParam` rule) and its hash."""

from __future__ import annotations

import hashlib
import json

import pytest

from operations.exceptions import MissingParameter
from operations.items import (
    data_hash,
    deserialize_item,
    item_body,
    item_params,
    serialize_item,
    snake,
)


@pytest.mark.parametrize(
    ("item", "names", "expected"),
    [
        ({"blockId": 1}, ("blockId",), {"blockId": "1"}),
        ({"block_id": "2"}, ("blockId",), {"blockId": "2"}),
        ({"product": {"sku": "A", "name": "x"}}, ("sku",), {"sku": "A"}),
        ({"customer": {"id": 5, "email": "e@example.com"}}, ("customerId",), {"customerId": "5"}),
        ({"productLink": {"sku": "A", "category_id": 3}}, ("categoryId",), {"categoryId": "3"}),
        ({"categoryId": 3, "sku": "A"}, ("categoryId", "sku"), {"categoryId": "3", "sku": "A"}),
        ({"sku": "TOP", "product": {"sku": "INNER"}}, ("sku",), {"sku": "TOP"}),
    ],
)
def test_a_bulk_item_carries_its_url_parameters_where_clients_put_them(item, names, expected):
    assert item_params(item, names) == expected


@pytest.mark.parametrize(
    "item",
    [{}, {"blockId": ""}, {"blockId": None}, {"blockId": {"id": 1}}, {"block": {"title": "t"}}],
)
def test_an_item_without_a_usable_parameter_names_it(item):
    with pytest.raises(MissingParameter) as info:
        item_params(item, ("blockId",))
    assert info.value.rendered == 'The "blockId" parameter is missing from the item.'


def test_the_body_leaves_out_the_keys_that_carried_parameters():
    assert item_body({"blockId": 1, "block_id": 1, "block": {"title": "t"}}, ("blockId",)) == {
        "block": {"title": "t"}
    }


def test_snake_case_of_camel_case_names():
    assert snake("blockId") == "block_id"
    assert snake("categoryId") == "category_id"
    assert snake("sku") == "sku"


def test_the_data_hash_is_the_sha256_of_the_items_canonical_json():
    item = {"b": 1, "a": {"y": "é", "x": [1, 2]}}
    canonical = '{"a":{"x":[1,2],"y":"é"},"b":1}'
    assert data_hash(item) == hashlib.sha256(canonical.encode()).hexdigest()
    assert data_hash({"a": {"x": [1, 2], "y": "é"}, "b": 1}) == data_hash(item)


def test_serialized_data_keeps_magentos_shape_and_reads_back():
    item = {"product": {"sku": "A"}}
    assert deserialize_item(serialize_item(item)) == item
    assert set(json.loads(serialize_item(item))) == {
        "entity_id",
        "entity_link",
        "meta_information",
    }
