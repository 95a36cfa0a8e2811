"""Hostile input suite: schemathesis against the project's own OpenAPI schema.

Every operation of `/rest/schema/` (sync, async, bulk and status routes, 59 today)
gets `MAX_EXAMPLES` requests generated from its schema by schemathesis, with a fixed
seed (`derandomize=True`), sent through Django's test client with an admin token.
Each answer must be below 500, and every 4xx must be Magento's error shape: a JSON
object with a string `message` and, if present, `parameters` as a list or object.

Bound: `MAX_EXAMPLES` per operation, no shrinking phase, no example database; the
whole file runs in well under two minutes on two cores. Run it alone with
`pytest -q -n0 tests/test_suite_hostile_schema.py`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import schemathesis
from django.core.serializers.json import DjangoJSONEncoder
from drf_spectacular.settings import spectacular_settings
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import DataGenerationMethod

MAX_EXAMPLES = 15
STORES = ("default", "all")
METHODS = ("get", "post", "put", "patch", "delete")


def _schema_dict() -> dict[str, Any]:
    generator = spectacular_settings.DEFAULT_GENERATOR_CLASS()
    raw = generator.get_schema(request=None, public=True)
    schema = json.loads(json.dumps(raw, cls=DjangoJSONEncoder))
    # A random store code is a 404 before anything else runs: generate real ones.
    for item in schema["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") == "path" and parameter.get("name") == "store":
                    parameter["schema"] = {"type": "string", "enum": list(STORES)}
    return schema


SCHEMA_DICT = _schema_dict()
SCHEMA = schemathesis.from_dict(SCHEMA_DICT)
OPERATIONS = [
    (method.upper(), path)
    for path, item in SCHEMA_DICT["paths"].items()
    for method in item
    if method in METHODS
]


def _kind(path: str) -> str:
    if "/async/bulk/" in path:
        return "bulk"
    if "/async/" in path:
        return "async"
    if "/V1/bulk" in path:
        return "status"
    return "sync"


def assert_magento_answer(response: Any, request: str) -> None:
    """The answer is below 500 and, for a 4xx, Magento's `{message, parameters}` shape."""
    status = response.status_code
    assert status < 500, f"{request} answered {status}: {response.content[:500]!r}"
    if 400 <= status < 500:
        try:
            body = json.loads(response.content)
        except ValueError:
            pytest.fail(
                f"{request} answered {status} with a non-JSON body {response.content[:300]!r}"
            )
        assert isinstance(body, dict), f"{request}: {status} body is not an object: {body!r}"
        assert isinstance(body.get("message"), str), f"{request}: no string message: {body!r}"
        if "parameters" in body:
            assert isinstance(body["parameters"], list | dict), f"{request}: {body!r}"


def _send(client: Any, case: Any, token: str) -> None:
    kwargs = case.as_requests_kwargs(base_url="http://testserver")
    kwargs.pop("timeout", None)
    kwargs.pop("verify", None)
    headers = dict(kwargs.pop("headers", None) or {})
    headers["Authorization"] = f"Bearer {token}"
    prepared = requests.Request(headers=headers, **kwargs).prepare()
    url = prepared.url or ""
    path = url[len("http://testserver") :]
    raw = prepared.body or b""
    body: bytes = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)  # type: ignore[arg-type]
    header_map = {k: v for k, v in prepared.headers.items() if k.lower() != "content-type"}
    header_map.pop("Content-Length", None)
    given_type = prepared.headers.get("Content-Type", "application/json")
    content_type = given_type.decode("latin-1") if isinstance(given_type, bytes) else given_type
    method = str(prepared.method)
    response = client.generic(method, path, body, content_type=content_type, headers=header_map)
    request = f"{method} {path} body={body[:300]!r} content-type={content_type}"
    assert_magento_answer(response, request)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    OPERATIONS,
    ids=[f"{_kind(p)}:{m} {p.removeprefix('/rest/{store}')}" for m, p in OPERATIONS],
)
def test_operation_answers_below_500_in_magento_shape(client, admin_token, method, path):
    client.raise_request_exception = False
    operation = SCHEMA[path][method]

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    # Cases valid by the schema and cases that break it (negative), half and half.
    @given(
        case=operation.as_strategy(data_generation_method=DataGenerationMethod.positive)
        | operation.as_strategy(data_generation_method=DataGenerationMethod.negative)
    )
    def check(case: Any) -> None:
        _send(client, case, admin_token)

    check()


def test_schema_covers_every_kind_of_route():
    kinds = {_kind(path) for _, path in OPERATIONS}
    assert kinds == {"sync", "async", "bulk", "status"}
