"""Service routes: Magento's `webapi.xml`, declared in Python.

A route binds an HTTP method and a Magento path (`/V1/products/:sku`) to a service
method. Apps declare theirs in their own `webapi.py` with `register(Route(...))`;
`discover()` imports those modules once, whatever the order of INSTALLED_APPS
(`WebapiConfig.ready` calls it, and so does anything that derives from the routes
while apps are still getting ready, like the queue declarations of the async
topics). The synchronous dispatcher, the asynchronous and bulk API, the topic names
and the OpenAPI schema all read this one registry, so a route author writes
nothing else. Inconsistent declarations are system check errors (`webapi.checks`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.utils.module_loading import autodiscover_modules

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from rest_framework.serializers import BaseSerializer

    from store.models import Store

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PARAM = re.compile(r"^:([A-Za-z_][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class CallContext:
    """Who calls a service and in which store scope.

    `user` is the acting Django user: a staff user, or the user behind an
    integration. `user_type` follows Magento: 1 integration, 2 admin (4 guest on
    the routes open to anyone). `query` is the request's query string (a
    QueryDict in the synchronous API, empty when an operation runs later).
    `base_url` is the request's own root URL (`https://shop.example.com/`, from its
    scheme and host), empty when an operation runs later: services that answer URLs
    (the store configs) derive them from it.
    """

    store: Store
    user: AbstractBaseUser | None
    user_type: int = 2
    query: Mapping[str, Any] = field(default_factory=dict, compare=False)
    base_url: str = field(default="", compare=False)


# call(ctx, params, data) -> a JSON-serialisable answer
ServiceCall = Callable[[CallContext, Mapping[str, str], Any], Any]
# call_many(ctx, [(params, data), ...]) -> the answers, in order
ServiceCalls = Callable[[CallContext, Sequence[tuple[Mapping[str, str], Any]]], list[Any]]


@dataclass(frozen=True)
class Route:
    """One REST route bound to one service method.

    - `path`: Magento's path, `:name` segments are parameters (`/V1/cmsBlock/:blockId`).
    - `service`: the dotted name of the service method the route calls
      (`catalog.services.BlockRepository.delete_by_id`); it names the async topic,
      and must resolve to a callable (system check `webapi.E001`).
    - `call(ctx, params, data)`: run the service; `params` are the URL parameters as
      strings, `data` is the validated body (`request(data=body).validated_data`),
      or for a GET route without `request` the query string (a QueryDict, also
      `ctx.query`; search routes hand it to `webapi.search.search`), else None.
      Returns the JSON answer. Raise the exceptions of `webapi.exceptions`; the
      caller maps them to HTTP answers.
    - `request`: the serializer that validates the whole JSON body, wrapper key
      included (`{"product": {...}}`). It gets `context={"params": params,
      "ctx": ctx}` and must have no side effects.
    - `permission`: the Django permission (`app_label.codename`) the caller needs;
      None means anonymous (the admin token route only).
    - `async_enabled`: False opts a write route out of `async/` and `async/bulk/`.
    - `search`: the route takes Magento's `searchCriteria` query parameters (the
      OpenAPI schema documents them).
    - `status`: the HTTP status of a successful synchronous answer.
    - `atomic`: False runs `call` outside a transaction, for a service whose writes
      must persist even when it fails (the admin token route counts failed sign-ins).
    - `call_many(ctx, [(params, data), ...])`: optional, several calls in one go with
      the effect of `call` for each in order, returning their answers in order (the
      operation consumer runs a batch of one bulk's operations so). It raises the
      first failure, or `webapi.exceptions.RunSeparately` when it cannot run these
      together; the caller then runs each with `call`.
    """

    method: str
    path: str
    service: str
    call: ServiceCall
    permission: str | None
    request: type[BaseSerializer] | None = None
    async_enabled: bool = True
    search: bool = False
    status: int = 200
    atomic: bool = True
    call_many: ServiceCalls | None = None
    summary: str = ""
    tags: tuple[str, ...] = ()
    segments: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        method = self.method.upper()
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "segments", _split(self.path))
        if method == "GET" and self.async_enabled:
            object.__setattr__(self, "async_enabled", False)

    @property
    def param_names(self) -> tuple[str, ...]:
        """Return the URL parameter names, in path order (`("categoryId", "sku")`)."""
        return tuple(m.group(1) for s in self.segments if (m := _PARAM.match(s)))

    @property
    def topic(self) -> str:
        """Return the async topic: `async.` + service path + `.` + method, lower-cased."""
        return f"async.{self.service}.{self.method}".lower()

    @property
    def bulk_path(self) -> str:
        """Return the path under `async/bulk/`: `:blockId` becomes `byBlockId`."""
        return "/" + "/".join(_by_param(s) for s in self.segments)

    def match(self, segments: tuple[str, ...]) -> dict[str, str] | None:
        """Return the URL parameters if `segments` match this path, else None."""
        if len(segments) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for pattern, value in zip(self.segments, segments, strict=True):
            m = _PARAM.match(pattern)
            if m:
                if value == "":
                    return None
                params[m.group(1)] = value
            elif pattern != value:
                return None
        return params

    def match_bulk(self, segments: tuple[str, ...]) -> bool:
        """Return True if `segments` are this route's bulk path (`/V1/cmsBlock/byBlockId`)."""
        return segments == _split(self.bulk_path)

    @property
    def specificity(self) -> tuple[int, ...]:
        """Literal segments win over parameters (`/V1/customers/search` over `:customerId`)."""
        return tuple(0 if _PARAM.match(s) else 1 for s in self.segments)


def _split(path: str) -> tuple[str, ...]:
    return tuple(s for s in path.strip("/").split("/") if s != "")


def _by_param(segment: str) -> str:
    m = _PARAM.match(segment)
    if not m:
        return segment
    name = m.group(1)
    return "by" + name[0].upper() + name[1:]


def resolve_service(dotted: str) -> Any:
    """Return the object a route's `service` names (`catalog.services.X.save`).

    The longest importable prefix is the module, the rest attributes of it. Raise
    ImportError (or AttributeError) when it names nothing.
    """
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: Any = import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            target = getattr(target, name)
        return target
    raise ImportError(f"no module in {dotted!r}")


class RouteRegistry:
    """All declared routes.

    A duplicate (method, path) pair is rejected loudly. Two asynchronous routes
    with the same topic are accepted here and reported by the system checks
    (`webapi.E002`): their operations could not be told apart.
    """

    def __init__(self) -> None:
        self._routes: list[Route] = []
        self._keys: set[tuple[str, tuple[str, ...]]] = set()

    @staticmethod
    def _key(route: Route) -> tuple[str, tuple[str, ...]]:
        return (route.method, tuple(":" if _PARAM.match(s) else s for s in route.segments))

    def register(self, route: Route) -> Route:
        key = self._key(route)
        if key in self._keys:
            raise ValueError(f"Route {route.method} {route.path} is declared twice")
        self._keys.add(key)
        self._routes.append(route)
        self._routes.sort(key=lambda r: r.specificity, reverse=True)
        return route

    def unregister(self, route: Route) -> None:
        """Remove a route (for tests that declare routes of their own)."""
        self._routes.remove(route)
        self._keys.discard(self._key(route))

    def __iter__(self):
        return iter(list(self._routes))

    def __len__(self) -> int:
        return len(self._routes)

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """Return the route and its parameters for a synchronous call.

        Raise `RouteNotFound` when no route has this path, `MethodNotAllowed`
        (with the allowed methods) when the path exists under other methods. Literal
        segments win over parameters whatever the method: a path that matches a route
        with a literal where another has a parameter only ever reaches the first.
        """
        segments = _split(path)
        return self._find(method, path, self._routes, lambda route: route.match(segments))

    def resolve_async(self, method: str, path: str, *, bulk: bool) -> tuple[Route, dict[str, str]]:
        """Return the write route behind an `async/` (`bulk=False`) or `async/bulk/` path.

        For a single async call the path keeps its `:param` values (returned as
        params); a bulk path uses `byParam` segments and returns no params.
        """
        segments = _split(path)

        def match(route: Route) -> dict[str, str] | None:
            if bulk:
                return {} if route.match_bulk(segments) else None
            return route.match(segments)

        # Every route takes part in deciding the path's shape (a literal GET route
        # shadows a parameter write route as it does in the synchronous API); only
        # the asynchronous ones can be called or offered in a 405.
        return self._find(
            method, path, self._routes, match, usable=lambda route: route.async_enabled
        )

    @staticmethod
    def _find(
        method: str,
        path: str,
        candidates: Iterable[Route],
        match: Callable[[Route], dict[str, str] | None],
        usable: Callable[[Route], bool] = lambda route: True,
    ) -> tuple[Route, dict[str, str]]:
        # Candidates come most specific first. The first path that matches decides the
        # shape: a literal segment is never read as a parameter, under any method
        # (`PUT /V1/products/special-price` is a 405, not an update of SKU
        # "special-price"); other methods of that same path are what a 405 allows.
        allowed: list[str] = []
        shape: tuple[int, ...] | None = None
        for route in candidates:
            if shape is not None and route.specificity != shape:
                continue
            params = match(route)
            if params is None:
                continue
            shape = route.specificity
            if not usable(route):
                continue
            if route.method == method.upper():
                return route, params
            allowed.append(route.method)
        if allowed:
            raise MethodNotAllowed(path, sorted(set(allowed)))
        raise RouteNotFound(path)

    def async_routes(self) -> Iterable[Route]:
        return [r for r in self._routes if r.async_enabled and r.method in WRITE_METHODS]

    def by_topic(self, topic: str) -> Route:
        for route in self._routes:
            if route.async_enabled and route.topic == topic:
                return route
        raise KeyError(topic)


class RouteNotFound(LookupError):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class MethodNotAllowed(LookupError):
    def __init__(self, path: str, allowed: list[str]) -> None:
        super().__init__(path)
        self.path = path
        self.allowed = allowed


routes = RouteRegistry()
_discovered = False


def register(route: Route) -> Route:
    """Declare a route (called from an app's `webapi.py`)."""
    return routes.register(route)


def discover() -> RouteRegistry:
    """Import every installed app's `webapi.py` (once) and return the registry.

    Call it before deriving anything from the routes during start-up; it needs the
    app registry populated (any AppConfig.ready, or later).
    """
    global _discovered
    if not _discovered:
        autodiscover_modules("webapi")
        _discovered = True
    return routes
