"""Check a message body against its topic's schema before it is published.

A small subset of JSON Schema, enough for message contracts: `type` (object, array,
string, integer, number, boolean, null, or a list of them), `required`, `properties`
and `items`. Anything else in the schema is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from queues.exceptions import MessageSchemaError

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list, tuple),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def validate(topic: str, body: Any, schema: Mapping[str, Any] | None) -> None:
    """Raise MessageSchemaError if `body` does not follow `schema`."""
    if schema:
        problem = _problem(body, schema, "body")
        if problem:
            raise MessageSchemaError(f"message for topic {topic!r}: {problem}")


def _problem(value: Any, schema: Mapping[str, Any], where: str) -> str | None:
    expected = schema.get("type")
    if expected is not None:
        names = [expected] if isinstance(expected, str) else list(expected)
        ok = any(
            isinstance(value, _TYPES.get(name, (object,)))
            and not (name in ("integer", "number") and isinstance(value, bool))
            for name in names
        )
        if not ok:
            return f"{where} must be {' or '.join(names)}, got {type(value).__name__}"
    if isinstance(value, dict):
        for key in schema.get("required", ()):
            if key not in value:
                return f"{where} lacks required {key!r}"
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                problem = _problem(value[key], sub, f"{where}.{key}")
                if problem:
                    return problem
    if isinstance(value, list | tuple) and "items" in schema:
        for index, item in enumerate(value):
            problem = _problem(item, schema["items"], f"{where}[{index}]")
            if problem:
                return problem
    return None
