"""Magento's `fields` query parameter: a partial answer (Magento's
`Webapi\\Rest\\Response\\FieldsFilter`).

    GET /rest/V1/products?searchCriteria[pageSize]=10&fields=items[sku,name],total_count
    GET /rest/V1/products/A?fields=sku,extension_attributes[stock_item[qty]]

The parameter names the keys to keep, nested in brackets. An object keeps only those
keys (unknown ones are simply absent), in the answer's own order; a list is filtered
item by item; a key naming a scalar keeps it whatever its brackets say.
`custom_attributes[a,b]` keeps the custom attributes whose `attribute_code` is
listed. A parameter holding anything but letters, digits, `_`, `[`, `]` and `,`, or
with unbalanced brackets, makes the answer an empty list `[]`, as on Magento; an
empty parameter filters nothing. Scalar answers (`true`, an id) are never filtered.
"""

from __future__ import annotations

import re
from typing import Any

PARAMETER = "fields"
CUSTOM_ATTRIBUTES = "custom_attributes"
_ALLOWED = re.compile(r"^[A-Za-z0-9_\[\],]+$")

# {"items": {"sku": True, "name": True}, "total_count": True}
Selection = dict[str, Any]


def parse_fields(text: str) -> Selection | None:
    """Return the selection `text` names, or None when it is malformed."""
    if not _ALLOWED.match(text):
        return None
    current: Selection = {}
    stack: list[tuple[Selection, str]] = []
    name = ""
    for char in text:
        if char not in "[],":
            name += char
            continue
        if name:
            current[name] = True
        if char == "[":
            # Magento nests under the name just read (an empty name if there was none).
            stack.append((current, name))
            current = {}
        elif char == "]":
            if not stack:
                return None
            parent, key = stack.pop()
            parent[key] = current
            current = parent
        name = ""
    if stack:
        return None
    if name:
        current[name] = True
    return current


def filter_fields(answer: Any, text: str) -> Any:
    """Return `answer` reduced to the selection `text` (see the module docstring)."""
    if not isinstance(answer, dict | list):
        return answer
    selection = parse_fields(text)
    if selection is None:
        return []
    return _apply(answer, selection)


def _apply(value: Any, selection: Selection) -> Any:
    if isinstance(value, list):
        return [
            _apply(item, selection) if isinstance(item, dict | list) else item for item in value
        ]
    if not isinstance(value, dict):
        return value
    kept: dict[str, Any] = {}
    for key, item in value.items():
        if key not in selection:
            continue
        wanted = selection[key]
        if isinstance(wanted, dict) and key == CUSTOM_ATTRIBUTES and isinstance(item, list):
            kept[key] = [
                a for a in item if isinstance(a, dict) and a.get("attribute_code") in wanted
            ]
        elif isinstance(wanted, dict) and isinstance(item, dict | list):
            kept[key] = _apply(item, wanted)
        else:
            kept[key] = item
    return kept
