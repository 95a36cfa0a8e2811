"""OpenAPI for the route registry (drf-spectacular).

Every call goes through a catch-all view, so the paths cannot be discovered from
the URLconf: `RegistrySchemaGenerator` writes one operation per declared route
(`/rest/{store}/V1/...`), and for each asynchronous route its
`/rest/{store}/async/V1/...` and `/rest/{store}/async/bulk/V1/<bulk path>`
variants. Request bodies come from each route's `request` serializer, mapped by
drf-spectacular as for any DRF view. Enabled in settings by
`SPECTACULAR_SETTINGS["DEFAULT_GENERATOR_CLASS"]`.
"""

from __future__ import annotations

import inspect
import logging
import re
from typing import Any

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ComponentIdentity, ResolvedComponent, force_instance
from rest_framework.views import APIView

from webapi.routes import Route, discover

logger = logging.getLogger(__name__)

_PARAM = re.compile(r"^:([A-Za-z_][A-Za-z0-9_]*)$")
STORE_PARAMETER = {
    "name": "store",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "default": "default"},
    "description": "Store code: `default` (store 1), `all` (the global admin scope, store 0) "
    "or a store's code. `/rest/V1/...` without a store code is the same as `default`.",
}
SEARCH_PARAMETER = {
    "name": "searchCriteria",
    "in": "query",
    "required": False,
    "style": "deepObject",
    "explode": True,
    "schema": {"type": "object", "additionalProperties": True},
    "description": "Magento searchCriteria: `searchCriteria[filter_groups][G][filters][F]"
    "[field|value|condition_type]`, `searchCriteria[sortOrders][N][field|direction]`, "
    "`searchCriteria[pageSize]`, `searchCriteria[currentPage]` (see docs/api.md).",
}
FIELDS_PARAMETER = {
    "name": "fields",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "Magento's partial answer: the keys to keep, nested in brackets "
    "(`items[sku,name],total_count`; see docs/api.md).",
}
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "message": {"type": "string", "description": "May hold %1 or %name placeholders."},
        "parameters": {
            "oneOf": [
                {"type": "array", "items": {}},
                {"type": "object", "additionalProperties": True},
            ],
            "description": "Values for the placeholders: a list for %1…, an object for %name.",
        },
    },
    "required": ["message", "parameters"],
}
ASYNC_RESPONSE_SCHEMA = {
    "type": "object",
    "properties": {
        "bulk_uuid": {"type": "string", "format": "uuid"},
        "request_items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "data_hash": {"type": "string", "description": "SHA-256 of the item"},
                    "status": {"type": "string", "enum": ["accepted", "rejected"]},
                    "error_message": {"type": "string"},
                },
                "required": ["id", "data_hash", "status"],
            },
        },
        "errors": {"type": "boolean"},
    },
    "required": ["bulk_uuid", "request_items", "errors"],
}


def openapi_path(path: str) -> str:
    """Return a Magento path in OpenAPI form: `/V1/cmsBlock/:blockId` → `/V1/cmsBlock/{blockId}`."""
    return re.sub(r"(?<=/):([A-Za-z_][A-Za-z0-9_]*)", r"{\1}", path)


def _operation_id(prefix: str, route: Route, path: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_")
    return f"{prefix}{route.method.lower()}_{slug}"


def _identity(obj: Any) -> Any:
    return obj if isinstance(obj, ComponentIdentity) or inspect.isclass(obj) else obj.__class__


class RegistryAutoSchema(AutoSchema):
    """AutoSchema that gives same-named, different serializers distinct component names.

    Apps may declare several serializers called `Customer` in different modules;
    drf-spectacular would merge them into one component. The second gets `Customer2`.
    """

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False) -> str:
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        identity = _identity(self.get_serializer_identity(force_instance(serializer), direction))
        candidate, n = name, 1
        # ComponentRegistry has no public lookup by name.
        components = self.registry._components
        while (existing := components.get((candidate, ResolvedComponent.SCHEMA))) is not None:
            if _identity(existing.object) == identity:
                break
            n += 1
            candidate = f"{name}{n}"
        return candidate


class RegistrySchemaGenerator(SchemaGenerator):
    """Add the declared routes to what drf-spectacular finds in the URLconf."""

    def parse(self, input_request, public):
        result = super().parse(input_request, public)
        auto = RegistryAutoSchema()
        auto.registry = self.registry
        auto.view = APIView()
        auto.view.request = input_request
        auto.path = "/rest/"
        auto.path_regex = ""
        auto.path_prefix = ""
        self._error_ref = self._component("WebapiError", ERROR_SCHEMA)
        self._async_ref = self._component("AsyncResponse", ASYNC_RESPONSE_SCHEMA)
        self.registry.register_on_missing(
            ResolvedComponent(
                name="bearerAuth",
                type=ResolvedComponent.SECURITY_SCHEMA,
                object="bearerAuth",
                schema={"type": "http", "scheme": "bearer"},
            )
        )
        routes = discover()
        for route in routes:
            auto.method = route.method
            body = self._body_schema(auto, route)
            path = "/rest/{store}" + openapi_path(route.path)
            result.setdefault(path, {})[route.method.lower()] = self._sync_operation(route, body)
        for route in routes.async_routes():
            auto.method = route.method
            body = self._body_schema(auto, route)
            single = "/rest/{store}/async" + openapi_path(route.path)
            result.setdefault(single, {})[route.method.lower()] = self._async_operation(
                route, body, bulk=False
            )
            bulk = "/rest/{store}/async/bulk" + route.bulk_path
            result.setdefault(bulk, {})[route.method.lower()] = self._async_operation(
                route, self._bulk_item_schema(route, body), bulk=True
            )
        return result

    def _component(self, name: str, schema: dict[str, Any]) -> dict[str, str]:
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
        )
        self.registry.register_on_missing(component)
        return component.ref

    def _body_schema(self, auto: AutoSchema, route: Route) -> dict[str, Any] | None:
        if route.request is None:
            return None
        try:
            component = auto.resolve_serializer(route.request, "request")  # type: ignore[arg-type]
        except Exception:  # a serializer spectacular cannot map must not break the schema
            logger.warning("No OpenAPI schema for %s", route.request, exc_info=True)
            return {"type": "object", "additionalProperties": True}
        return component.ref if component else {"type": "object"}

    def _parameters(self, route: Route, *, with_params: bool = True) -> list[dict[str, Any]]:
        parameters = [STORE_PARAMETER]
        if with_params:
            parameters += [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in route.param_names
            ]
        return parameters

    def _errors(self, *statuses: int) -> dict[str, Any]:
        descriptions = {
            400: "Invalid input or store code",
            401: "No token, or a bad, expired or revoked token",
            403: "The token's user lacks the permission",
            404: "Unknown entity or route",
            413: "Body over the size limit",
        }
        return {
            str(status): {
                "description": descriptions[status],
                "content": {"application/json": {"schema": self._error_ref}},
            }
            for status in statuses
        }

    def _base(self, route: Route, operation_id: str, description: str) -> dict[str, Any]:
        tags = list(route.tags) or [route.path.strip("/").split("/")[1]]
        permission = (
            f"Permission: `{route.permission}`."
            if route.permission
            else "No authentication needed."
        )
        return {
            "operationId": operation_id,
            "summary": route.summary or f"{route.method} {route.path}",
            "description": f"{description}\n\n{permission}\n\nService: `{route.service}`.".strip(),
            "tags": tags,
            "security": [{"bearerAuth": []}] if route.permission else [],
        }

    def _sync_operation(self, route: Route, body: dict[str, Any] | None) -> dict[str, Any]:
        operation = self._base(route, _operation_id("", route, route.path), "")
        parameters = self._parameters(route)
        if route.search:
            parameters.append(SEARCH_PARAMETER)
        parameters.append(FIELDS_PARAMETER)
        operation["parameters"] = parameters
        if body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": body}},
            }
        operation["responses"] = {
            str(route.status): {
                "description": "The service's answer",
                "content": {"application/json": {"schema": {}}},
            },
            **self._errors(400, 401, 403, 404, 413),
        }
        return operation

    def _bulk_item_schema(self, route: Route, body: dict[str, Any] | None) -> dict[str, Any]:
        params = {
            "type": "object",
            "properties": {name: {"type": "string"} for name in route.param_names},
        }
        if body is None:
            item: dict[str, Any] = params
        elif route.param_names:
            item = {"allOf": [body, params]}
        else:
            item = body
        return {"type": "array", "items": item}

    def _async_operation(
        self, route: Route, body: dict[str, Any] | None, *, bulk: bool
    ) -> dict[str, Any]:
        if bulk:
            what = (
                f"Bulk variant of `{route.method} {route.path}`: the body is a JSON array of "
                "synchronous bodies, one operation each"
                + (
                    f"; the URL parameters ({', '.join(route.param_names)}) travel inside each item"
                    if route.param_names
                    else ""
                )
                + "."
            )
            path, prefix = route.bulk_path, "async_bulk_"
        else:
            what = f"Asynchronous variant of `{route.method} {route.path}`: one operation."
            path, prefix = route.path, "async_"
        operation = self._base(
            route,
            _operation_id(prefix, route, path),
            f"{what} Answered 202; the operation runs later from the queue.\n\n"
            f"Topic: `{route.topic}`.",
        )
        operation["summary"] = f"{'Bulk' if bulk else 'Async'}: {operation['summary']}"
        operation["parameters"] = self._parameters(route, with_params=not bulk)
        if body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": body}},
            }
        operation["responses"] = {
            "202": {
                "description": "Accepted: the bulk and its operations",
                "content": {"application/json": {"schema": self._async_ref}},
            },
            **self._errors(400, 401, 403, 404, 413),
        }
        return operation
