"""Bulk items: where their URL parameters travel, their hash, their stored form.

The `:param` → `byParam` rule (Magento's): for `/V1/cmsBlock/:blockId` the bulk path
is `/V1/cmsBlock/byBlockId` and each item carries `blockId`. An item may carry the
parameter

1. at the top level as written in the path (`{"blockId": 1}`),
2. at the top level in snake_case (`{"block_id": 1}`, as in the seed article), or
3. inside the wrapped entity, as real clients send it: under its own name
   (`{"product": {"sku": "A"}}` for `:sku`), its snake_case name, or with the
   entity's name dropped (`{"customer": {"id": 5}}` for `:customerId`).

An operation's `serialized_data` keeps Magento's shape: `{"entity_id": null,
"entity_link": "", "meta_information": "<the item as JSON>"}`, the item carrying the
URL parameters at its top level (a single async call's URL parameters are added
there), so that one rule reads parameters back at run time.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from operations.exceptions import MissingParameter

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def snake(name: str) -> str:
    """Return `blockId` as `block_id`."""
    return _CAMEL.sub("_", name).lower()


def canonical_json(value: Any) -> str:
    """Return `value` as JSON with sorted keys and no spaces (what `data_hash` hashes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def data_hash(item: Any, item_json: str | None = None) -> str:
    """Return the sha256 hex digest of the item's canonical JSON (`item_json` if given)."""
    text = canonical_json(item) if item_json is None else item_json
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _lookup(mapping: Mapping[str, Any], names: Sequence[str]) -> tuple[bool, Any]:
    for name in names:
        if name in mapping and mapping[name] is not None and mapping[name] != "":
            return True, mapping[name]
    return False, None


def _entity_names(param: str, entity: str) -> list[str]:
    names = [param, snake(param)]
    if param.startswith(entity) and len(param) > len(entity):
        rest = param[len(entity)]
        rest = rest.lower() + param[len(entity) + 1 :]
        names += [rest, snake(rest)]
    return names


def item_params(item: Mapping[str, Any], names: Sequence[str]) -> dict[str, str]:
    """Return the URL parameters `names` carried by a bulk item, as strings.

    Raise `MissingParameter` naming the first parameter the item does not carry.
    """
    params: dict[str, str] = {}
    for name in names:
        found, value = _lookup(item, (name, snake(name)))
        if not found:
            for entity, inner in item.items():
                if isinstance(inner, Mapping):
                    found, value = _lookup(inner, _entity_names(name, entity))
                    if found:
                        break
        if not found or isinstance(value, Mapping | list):
            raise MissingParameter(name)
        params[name] = _as_param(value)
    return params


def _as_param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def item_body(item: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """Return the item without the top-level keys that carry URL parameters (the body)."""
    drop = {n for name in names for n in (name, snake(name))}
    return {k: v for k, v in item.items() if k not in drop}


def with_params(item: Mapping[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
    """Return the item with a single async call's URL parameters added at its top level."""
    merged = dict(item)
    for name, value in params.items():
        merged.setdefault(name, value)
    return merged


def serialize_item(item: Any, item_json: str | None = None) -> str:
    """Return an operation's `serialized_data` for an item (Magento's shape).

    `item_json`, when the caller already has the item as JSON, is used as is.
    """
    return json.dumps(
        {
            "entity_id": None,
            "entity_link": "",
            "meta_information": item_json
            if item_json is not None
            else json.dumps(item, ensure_ascii=False),
        },
        ensure_ascii=False,
    )


def deserialize_item(serialized_data: str) -> Any:
    """Return the item stored in an operation's `serialized_data`."""
    outer = json.loads(serialized_data)
    if isinstance(outer, dict) and "meta_information" in outer:
        return json.loads(outer["meta_information"])
    return outer


SECRET_KEYS = frozenset({"password", "password_hash", "current_password", "new_password"})
REDACTED = "******"


def redact_secrets(serialized_data: str) -> str:
    """Return `serialized_data` with every secret value (a customer's password) masked.

    Called once an operation is complete or has failed for good: its payload stays as
    the audit trail, but a password has no business being kept (and shown in
    detailed-status) after use. The encrypted secrets (`operations.secrets`) go too.
    """
    if not has_secret_key(serialized_data):
        return serialized_data
    item = _redact(deserialize_item(serialized_data))
    return serialize_item(item, canonical_json(item))


# The key of `serialized_data`'s outer object holding the item's secrets, encrypted
# (`operations.secrets`); the item itself carries them masked.
ENCRYPTED_SECRETS = "encrypted_secrets"
_SECRET_HINT = re.compile("password", re.IGNORECASE)


def has_secret_key(text: str) -> bool:
    """Return whether JSON `text` may hold a secret key (cheap, linear: every secret key
    contains "password")."""
    return _SECRET_HINT.search(text) is not None


SecretPath = list[str | int]


def mask_secrets(value: Any) -> tuple[Any, list[tuple[SecretPath, Any]]]:
    """Return a copy of `value` with the secret keys' values masked, and each masked
    value with its path (keys and list indices from the top)."""
    found: list[tuple[SecretPath, Any]] = []
    return _redact(value, found), found


def _redact(value: Any, found: list[tuple[SecretPath, Any]] | None = None) -> Any:
    """Return a copy of `value` with the secret keys' values masked, at any depth
    (appending each masked value and its path to `found` if given).

    Iterative, with a stack of (original, copy, path) triples: no recursion, so no
    nesting can make masking (and so completing an operation) fail.
    """
    if not isinstance(value, dict | list):
        return value
    root: Any = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any, SecretPath]] = [(value, root, [])]
    while stack:
        source, target, path = stack.pop()
        if isinstance(source, dict):
            for key, child in source.items():
                if isinstance(key, str) and key.lower() in SECRET_KEYS:
                    target[key] = REDACTED
                    if found is not None:
                        found.append(([*path, key], child))
                else:
                    target[key] = _shell(child, stack, path, key)
        else:
            target.extend(_shell(child, stack, path, i) for i, child in enumerate(source))
    return root


def _shell(
    value: Any, stack: list[tuple[Any, Any, SecretPath]], path: SecretPath, step: str | int
) -> Any:
    """Return `value` itself if it is a scalar, else an empty copy to fill (queued on `stack`)."""
    if isinstance(value, dict | list):
        copy: Any = {} if isinstance(value, dict) else []
        stack.append((value, copy, [*path, step]))
        return copy
    return value
