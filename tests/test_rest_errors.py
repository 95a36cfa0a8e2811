"""The dispatcher's edges: store codes, bodies, and every error in Magento's shape."""

from __future__ import annotations

import json
import logging

import pytest
from rest_framework import serializers

from store.models import Store, Website
from tests.fixtures.webapi import temporary_route
from webapi.exceptions import NoSuchEntityException
from webapi.routes import Route

pytestmark = pytest.mark.django_db

NO_ROUTE = {"message": "Request does not match any route.", "parameters": []}
STORE_NOT_FOUND = "The store that was requested wasn't found. Verify the store and try again."


class EchoItem(serializers.Serializer):
    name = serializers.CharField()
    qty = serializers.IntegerField(required=False)
    tags = serializers.ListField(child=serializers.CharField(), required=False)


class EchoRequest(serializers.Serializer):
    item = EchoItem()


def _echo(ctx, params, data):
    return {"store_id": ctx.store.id, "params": dict(params), "data": data}


def _store(ctx, params, data):
    return {"store_id": ctx.store.id, "code": ctx.store.code}


def _missing(ctx, params, data):
    raise NoSuchEntityException('The entity with "%1" doesn\'t exist.', [params["itemId"]])


def _boom(ctx, params, data):
    raise RuntimeError("secret internals /etc/passwd")


@pytest.fixture(autouse=True)
def test_routes():
    declared = [
        Route("POST", "/V1/test-errors/echo/:itemId", "tests.echo.post", _echo, None, EchoRequest),
        Route("GET", "/V1/test-errors/echo/:itemId", "tests.echo.get", _missing, None),
        Route("GET", "/V1/test-errors/store", "tests.store", _store, None),
        Route("GET", "/V1/test-errors/boom", "tests.boom", _boom, None),
    ]
    with temporary_route(*declared):
        yield


# --- store codes ---------------------------------------------------------------------


def test_no_store_code_means_the_default_store(api):
    assert api.get("V1/test-errors/store").json() == {"store_id": 1, "code": "default"}


def test_store_code_default_is_store_1(api):
    assert api.get("default/V1/test-errors/store").json() == {"store_id": 1, "code": "default"}


def test_store_code_all_is_the_admin_scope_store_0(api):
    assert api.get("all/V1/test-errors/store").json() == {"store_id": 0, "code": "admin"}


def test_a_named_store_is_resolved_by_its_code(api):
    Store.objects.create(id=5, code="fr", name="French", website=Website.objects.get(pk=1))
    assert api.get("fr/V1/test-errors/store").json() == {"store_id": 5, "code": "fr"}


def test_an_unknown_store_code_is_400(api):
    response = api.get("nowhere/V1/test-errors/store")
    assert response.status_code == 400
    assert response.json() == {"message": STORE_NOT_FOUND, "parameters": []}


def test_an_inactive_store_is_unknown(api):
    Store.objects.create(
        id=6, code="closed", name="Closed", website=Website.objects.get(pk=1), is_active=False
    )
    assert api.get("closed/V1/test-errors/store").status_code == 400


def test_the_admin_store_code_itself_is_not_a_url_store_code(api):
    assert api.get("admin/V1/test-errors/store").status_code == 400


# --- routing -------------------------------------------------------------------------


def test_an_unknown_route_is_404_in_magento_shape(api):
    response = api.get("V1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == NO_ROUTE


@pytest.mark.parametrize("path", ["/rest/", "/rest/nonsense", "/rest/V2/products", "/rest/default"])
def test_paths_outside_any_route_are_404_json(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == NO_ROUTE


def test_a_known_path_with_the_wrong_method_is_405_listing_allowed_methods(api):
    response = api.delete("V1/test-errors/echo/7")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert response.json()["parameters"] == {"method": "DELETE", "allowed": "GET, POST"}


def test_a_trailing_slash_is_tolerated(api):
    response = api.post("V1/test-errors/echo/7/", {"item": {"name": "x"}})
    assert response.status_code == 200
    assert response.json()["params"] == {"itemId": "7"}


def test_domain_not_found_is_404_with_its_message_and_parameters(api):
    response = api.get("V1/test-errors/echo/42")
    assert response.status_code == 404
    assert response.json() == {
        "message": 'The entity with "%1" doesn\'t exist.',
        "parameters": ["42"],
    }


def test_an_unexpected_error_is_500_with_a_report_id_and_no_trace(api, caplog):
    with caplog.at_level(logging.ERROR, logger="webapi"):
        response = api.get("V1/test-errors/boom")
    assert response.status_code == 500
    body = response.json()
    assert body["message"].startswith(
        "Internal Error. Details are available in the server log. Report ID: webapi-"
    )
    assert body["parameters"] == []
    assert (
        "passwd" not in response.content.decode() and "Traceback" not in response.content.decode()
    )
    report_id = body["message"].rsplit(" ", 1)[1]
    logged = [r for r in caplog.records if report_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None


def test_an_unexpected_error_reaches_djangos_got_request_exception_signal(api):
    # Error trackers (Sentry and the like) and Django's own error mails listen here.
    from django.core.signals import got_request_exception

    seen = []

    def receiver(sender, request, **kwargs):
        seen.append(request.path)

    got_request_exception.connect(receiver)
    try:
        response = api.get("V1/test-errors/boom")
    finally:
        got_request_exception.disconnect(receiver)
    assert response.status_code == 500
    assert seen == ["/rest/V1/test-errors/boom"]


def test_a_refused_request_is_not_reported_as_an_exception(api):
    from django.core.signals import got_request_exception

    seen = []

    def receiver(sender, request, **kwargs):
        seen.append(request.path)

    got_request_exception.connect(receiver)
    try:
        assert api.get("V1/test-errors/echo/42").status_code == 404
        assert api.get("V1/no-such-thing").status_code == 404
    finally:
        got_request_exception.disconnect(receiver)
    assert seen == []


def test_an_accept_header_asking_for_xml_still_gets_json(api):
    response = api.get("V1/test-errors/store", headers={"Accept": "application/xml"})
    assert response.status_code == 200
    assert response.json()["store_id"] == 1


# --- bodies --------------------------------------------------------------------------


def test_a_valid_body_reaches_the_service_validated(api):
    response = api.post("V1/test-errors/echo/1", {"item": {"name": "x", "qty": "3"}})
    assert response.status_code == 200
    assert response.json()["data"] == {"item": {"name": "x", "qty": 3}}


def test_malformed_json_is_400(api):
    response = api.post("V1/test-errors/echo/1", '{"item": {"name": ')
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Decoding error: %1"
    assert body["parameters"] and isinstance(body["parameters"][0], str)


def test_nan_is_not_json(api):
    assert (
        api.post("V1/test-errors/echo/1", '{"item": {"name": "x", "qty": NaN}}').status_code == 400
    )


def test_an_empty_body_reports_the_missing_wrapper_key(api):
    response = api.post("V1/test-errors/echo/1")
    assert response.status_code == 400
    assert response.json() == {
        "message": '"%fieldName" is required. Enter and try again.',
        "parameters": {"fieldName": "item"},
    }


def test_a_missing_nested_field_is_named_by_its_path(api):
    response = api.post("V1/test-errors/echo/1", {"item": {"qty": 1}})
    assert response.status_code == 400
    assert response.json()["parameters"] == {"fieldName": "item.name"}


def test_a_wrong_type_names_the_field_and_the_problem(api):
    response = api.post("V1/test-errors/echo/1", {"item": {"name": "x", "qty": "many"}})
    assert response.status_code == 400
    assert response.json() == {
        "message": 'Invalid value for "%fieldName": %error',
        "parameters": {"fieldName": "item.qty", "error": "A valid integer is required."},
    }


def test_errors_in_list_items_carry_their_index(api):
    response = api.post("V1/test-errors/echo/1", {"item": {"name": "x", "tags": ["a", None]}})
    assert response.status_code == 400
    assert response.json()["parameters"] == {"fieldName": "item.tags[1]"}


def test_several_errors_are_all_listed_after_the_first(api):
    response = api.post("V1/test-errors/echo/1", {"item": {"qty": "many"}})
    body = response.json()
    assert response.status_code == 400
    assert len(body["errors"]) == 2
    assert {e["parameters"]["fieldName"] for e in body["errors"]} == {"item.name", "item.qty"}


def test_a_body_that_is_not_an_object_is_400(api):
    response = api.post("V1/test-errors/echo/1", [1, 2])
    assert response.status_code == 400
    assert "Expected a dictionary" in response.json()["message"]


def test_a_body_over_the_limit_is_413_by_content_length(api, settings):
    settings.WEBAPI = {**settings.WEBAPI, "MAX_BODY_SIZE": 100}
    response = api.post("V1/test-errors/echo/1", {"item": {"name": "x" * 200}})
    assert response.status_code == 413
    assert response.json() == {
        "message": "The request body is larger than the limit of %1 bytes.",
        "parameters": [100],
    }


def test_a_body_just_at_the_limit_is_accepted(api, settings):
    body = json.dumps({"item": {"name": "x"}})
    settings.WEBAPI = {**settings.WEBAPI, "MAX_BODY_SIZE": len(body)}
    assert api.post("V1/test-errors/echo/1", body).status_code == 200


def test_a_body_without_content_length_is_cut_at_the_limit(rf, settings):
    """A chunked body (no Content-Length) is read only up to the limit + 1 byte."""
    from webapi.exceptions import PayloadTooLarge
    from webapi.views import read_body

    request = rf.post("/rest/V1/x", data=b"y" * 5000, content_type="application/json")
    del request.META["CONTENT_LENGTH"]
    read: list[int] = []
    original = request.read

    def counting_read(n=-1):
        chunk = original(n)
        read.append(len(chunk))
        return chunk

    request.read = counting_read
    with pytest.raises(PayloadTooLarge):
        read_body(request, 100)
    assert sum(read) == 101
