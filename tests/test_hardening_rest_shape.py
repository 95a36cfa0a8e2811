"""Issue 12, defect 9: every answer under `/rest/` is JSON in Magento's shape.

With Django's test client: a newline (`%0A`) in a path, a disallowed Host and Django's
own error handlers. Against a real `manage.py serve` with raw sockets: what daphne and
Twisted answered themselves (oversized request lines and headers, a multipart body
Twisted could not parse, malformed requests), while the dashboard keeps its pages.
"""

from __future__ import annotations

import json
import logging
import socket

import pytest
from django.core.exceptions import SuspiciousOperation
from django.test import Client

from config import serve, urls
from tests.test_project import _serving
from webapi.errors import NO_ROUTE
from webapi.middleware import INVALID_HOST

LIMIT = 16 * 1024  # Twisted's limits, kept by config.serve
MALFORMED = "The request is malformed."


def _magento(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"message", "parameters"}
    return body


# -- a newline in a path -------------------------------------------------------------------

NEWLINE_PATHS = [
    "/rest/V1/products%0A",
    "/rest/V1/products%0Afoo",
    "/rest/V1/products/a%0Ab",
    "/rest/%0A/V1/products",
    "/rest/async/V1/products%0A",
    "/rest/async/bulk/V1/products%0D%0A",
    "/rest/schema/%0A",
    "/rest/%0A",
    "/rest",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", NEWLINE_PATHS)
def test_a_newline_in_a_rest_path_is_a_404_in_magentos_shape(api, admin_token, path):
    for token in (admin_token, ""):
        response = api.request("GET", path, token=token)
        assert _magento(response, 404) == {"message": NO_ROUTE, "parameters": []}


@pytest.mark.django_db
def test_the_dashboards_404_page_is_kept(client):
    response = client.get("/dashboard/x%0A")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# -- a disallowed Host -----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/rest/V1/products"),
        ("POST", "/rest/async/bulk/V1/products"),
        ("POST", "/rest/V1/integration/admin/token"),
        ("GET", "/rest/nothing"),
    ],
)
def test_a_disallowed_host_under_rest_is_a_400_in_magentos_shape(
    api, admin_token, caplog, method, path
):
    with caplog.at_level(logging.ERROR, logger="django.security.DisallowedHost"):
        response = api.request(method, path, {"a": 1}, headers={"Host": "evil.example"})

    assert _magento(response, 400) == {"message": INVALID_HOST, "parameters": ["evil.example"]}
    assert response["Content-Length"] == str(len(response.content))
    assert any("evil.example" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db
def test_a_disallowed_host_under_rest_is_refused_before_anything_runs(api, admin_token):
    from catalog.models import Product

    body = {"product": {"sku": "A", "name": "N", "attribute_set_id": 4, "price": 1}}
    response = api.as_admin(admin_token).post("V1/products", body, headers={"Host": "evil.example"})

    assert response.status_code == 400
    assert not Product.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/dashboard/", "/admin/", "/accounts/login/"])
def test_the_html_pages_keep_djangos_400_for_a_disallowed_host(path):
    response = Client(raise_request_exception=False).get(path, headers={"Host": "evil.example"})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


# -- Django's handlers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "args", "status"),
    [
        (urls.handler400, (SuspiciousOperation("x"),), 400),
        (urls.handler403, (SuspiciousOperation("x"),), 403),
        (urls.handler404, (SuspiciousOperation("x"),), 404),
        (urls.handler500, (), 500),
    ],
)
def test_djangos_error_handlers_answer_magentos_shape_under_rest_only(rf, handler, args, status):
    rest = handler(rf.get("/rest/V1/products"), *args)
    page = handler(rf.get("/dashboard/"), *args)

    assert rest.status_code == page.status_code == status
    assert rest["Content-Type"] == "application/json"
    assert set(json.loads(rest.content)) == {"message", "parameters"}
    assert page["Content-Type"].startswith("text/html")


# -- the server: daphne and Twisted ---------------------------------------------------------


@pytest.fixture(scope="module")
def port(tmp_path_factory):
    with _serving(tmp_path_factory.mktemp("rest-shape")) as port:
        yield port


def _raw(port: int, data: bytes, chunk: int = 0) -> bytes:
    """Send `data` (in pieces of `chunk` bytes if given) and read the answer until EOF."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        try:
            if chunk:
                for start in range(0, len(data), chunk):
                    sock.sendall(data[start : start + chunk])
            else:
                sock.sendall(data)
        except OSError:  # the server may close before everything is sent: read its answer
            pass
        answer = b""
        while True:
            try:
                piece = sock.recv(65536)
            except ConnectionResetError:
                break
            if not piece:
                break
            answer += piece
    return answer


def _parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        size, _, rest = body.partition(b"\r\n")
        body = rest[: int(size, 16)]
    return status, headers, body


def _json(answer: bytes, status: int) -> dict:
    got, headers, body = _parse(answer)
    assert got == status, answer[:500]
    assert headers["content-type"] == "application/json"
    document = json.loads(body)
    assert set(document) == {"message", "parameters"}
    return document


def _get(path: bytes, *headers: bytes) -> bytes:
    lines = [b"GET " + path + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close", *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def test_a_request_line_over_16_kib_under_rest_is_a_414_in_magentos_shape(port):
    answer = _raw(port, _get(b"/rest/V1/products?q=" + b"a" * 20_000))

    assert _json(answer, 414) == {"message": serve.URI_TOO_LONG, "parameters": [LIMIT]}


@pytest.mark.parametrize(
    "headers",
    [
        (b"X-Big: " + b"a" * 20_000,),  # one line over the limit
        (b"X-A: " + b"a" * 9_000, b"X-B: " + b"b" * 9_000),  # lines within, total over
    ],
    ids=["one-header", "headers-together"],
)
def test_headers_over_16_kib_under_rest_are_a_431_in_magentos_shape(port, headers):
    answer = _raw(port, _get(b"/rest/V1/products", *headers))

    assert _json(answer, 431) == {"message": serve.HEADERS_TOO_LARGE, "parameters": [LIMIT]}


def test_a_client_still_sending_oversized_headers_reads_the_431(port):
    # 200 KiB of headers in small pieces: the server answers after 16 KiB and drops the rest.
    request = _get(b"/rest/V1/products", *(b"X-%d: %s" % (i, b"a" * 1000) for i in range(200)))

    answer = _raw(port, request, chunk=4096)

    assert _json(answer, 431)["message"] == serve.HEADERS_TOO_LARGE


def test_headers_just_under_the_limit_are_answered_normally(port):
    answer = _raw(port, _get(b"/rest/V1/products", b"X-Big: " + b"a" * 15_000))

    assert _json(answer, 401)["message"] == "The consumer isn't authorized to access %resources."


def test_oversized_headers_elsewhere_are_a_plain_431(port):
    status, headers, body = _parse(_raw(port, _get(b"/dashboard/", b"X-Big: " + b"a" * 20_000)))

    assert status == 431
    assert headers["content-type"].startswith("text/plain")
    assert body == b"The request headers are larger than the limit of 16384 bytes."


def test_malformed_requests_under_rest_are_a_400_in_magentos_shape(port):
    too_many = _get(b"/rest/V1/products", *(b"X-%d: a" % i for i in range(600)))
    non_ascii = _get(b"/rest/V1/\xff")
    bad_header = _get(b"/rest/V1/products", b"no colon here")

    for request in (too_many, non_ascii, bad_header):
        assert _json(_raw(port, request), 400) == {"message": MALFORMED, "parameters": []}


def test_a_multipart_body_twisted_cannot_parse_reaches_the_api(port):
    body = b"not multipart at all"
    request = (
        b"POST /rest/V1/integration/admin/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Connection: close\r\nContent-Type: multipart/form-data; boundary=zz\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    ) + body

    document = _json(_raw(port, request), 400)

    assert document["message"] == "Decoding error: %1"


def test_the_server_answers_a_disallowed_host_and_a_newline_in_magentos_shape(port):
    host = _json(
        _raw(
            port,
            b"GET /rest/V1/products HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
        ),
        400,
    )
    newline = _json(_raw(port, _get(b"/rest/V1/products%0A")), 404)

    assert host == {"message": INVALID_HOST, "parameters": ["evil.example"]}
    assert newline == {"message": NO_ROUTE, "parameters": []}


def test_the_server_keeps_serving_after_refusals(port):
    for _ in range(3):
        _raw(port, _get(b"/rest/V1/products", b"X-Big: " + b"a" * 40_000))

    status, _headers, _body = _parse(_raw(port, _get(b"/accounts/login/")))

    assert status == 200
