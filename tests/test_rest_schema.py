"""The OpenAPI schema at /rest/schema/ describes every declared route and its async variants."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from tests.fixtures.webapi import temporary_route
from webapi.routes import Route

pytestmark = pytest.mark.django_db


class WidgetBody(serializers.Serializer):
    class WidgetFields(serializers.Serializer):
        name = serializers.CharField()
        size = serializers.IntegerField(required=False)

    widget = WidgetFields()


def _noop(ctx, params, data):
    return True


@pytest.fixture
def widget_routes():
    declared = (
        Route(
            "PUT",
            "/V1/test-schema/widgets/:widgetId",
            "tests.schema.WidgetRepository.save",
            _noop,
            "rest.change_integration",
            WidgetBody,
            summary="Save a widget",
        ),
        Route(
            "GET",
            "/V1/test-schema/widgets/search",
            "tests.schema.WidgetRepository.get_list",
            _noop,
            "rest.view_integration",
            search=True,
        ),
        Route(
            "GET",
            "/V1/test-schema/widgets/list-sizes",
            "tests.schema.WidgetRepository.list_sizes",
            _noop,
            "rest.view_integration",
        ),
        Route(
            "DELETE",
            "/V1/test-schema/widgets/:widgetId",
            "tests.schema.WidgetRepository.delete",
            _noop,
            "rest.delete_integration",
            async_enabled=False,
        ),
    )
    with temporary_route(*declared):
        yield


@pytest.fixture
def schema(client, widget_routes):
    response = client.get("/rest/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_schema_lists_the_admin_token_route_without_security(schema):
    operation = schema["paths"]["/rest/{store}/V1/integration/admin/token"]["post"]
    assert operation["security"] == []
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/AdminTokenRequest"}
    assert set(schema["components"]["schemas"]["AdminTokenRequest"]["properties"]) == {
        "username",
        "password",
    }


def test_schema_has_each_route_with_parameters_body_and_bearer_security(schema):
    operation = schema["paths"]["/rest/{store}/V1/test-schema/widgets/{widgetId}"]["put"]
    assert [p["name"] for p in operation["parameters"]] == ["store", "widgetId", "fields"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert "rest.change_integration" in operation["description"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert "widget" in body["properties"]
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }


def test_search_routes_document_search_criteria(schema):
    operation = schema["paths"]["/rest/{store}/V1/test-schema/widgets/search"]["get"]
    assert "searchCriteria" in [p["name"] for p in operation["parameters"]]


def test_search_parameters_are_declared_not_guessed_from_the_path(schema):
    operation = schema["paths"]["/rest/{store}/V1/test-schema/widgets/list-sizes"]["get"]
    assert "searchCriteria" not in [p["name"] for p in operation["parameters"]]


def test_async_variant_has_the_topic_and_a_202_bulk_answer(schema):
    operation = schema["paths"]["/rest/{store}/async/V1/test-schema/widgets/{widgetId}"]["put"]
    assert "async.tests.schema.widgetrepository.save.put" in operation["description"]
    assert operation["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AsyncResponse"
    }
    answer = schema["components"]["schemas"]["AsyncResponse"]
    assert set(answer["required"]) == {"bulk_uuid", "request_items", "errors"}


def test_bulk_variant_takes_an_array_with_url_parameters_inside_each_item(schema):
    operation = schema["paths"]["/rest/{store}/async/bulk/V1/test-schema/widgets/byWidgetId"]["put"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["type"] == "array"
    item_parts = body["items"]["allOf"]
    assert {"type": "object", "properties": {"widgetId": {"type": "string"}}} in item_parts
    assert [p["name"] for p in operation["parameters"]] == ["store"]
    assert "async.tests.schema.widgetrepository.save.put" in operation["description"]


def test_routes_without_async_have_no_async_variants(schema):
    assert "delete" in schema["paths"]["/rest/{store}/V1/test-schema/widgets/{widgetId}"]
    assert "delete" not in schema["paths"]["/rest/{store}/async/V1/test-schema/widgets/{widgetId}"]
    assert not any(
        "/async/" in path and "/test-schema/widgets/search" in path for path in schema["paths"]
    )


def test_swagger_ui_is_served(client):
    response = client.get("/rest/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
    # The UI's assets come from this server, so the docs work without internet access.
    assert (
        b"/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in response.content
    )
    assert b"cdn.jsdelivr.net" not in response.content


def test_every_declared_route_and_async_variant_is_in_the_schema(schema):
    from webapi.routes import routes
    from webapi.schema import openapi_path

    paths = schema["paths"]
    for route in routes:
        assert route.method.lower() in paths[f"/rest/{{store}}{openapi_path(route.path)}"]
    for route in routes.async_routes():
        method = route.method.lower()
        assert method in paths[f"/rest/{{store}}/async{openapi_path(route.path)}"]
        assert method in paths[f"/rest/{{store}}/async/bulk{route.bulk_path}"]
        assert (
            route.topic
            in paths[f"/rest/{{store}}/async/bulk{route.bulk_path}"][method]["description"]
        )
