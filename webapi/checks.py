"""System checks over the declared routes (`manage.py check`, tag "webapi").

| id | problem |
|---|---|
| webapi.E001 | a route's `service` names nothing importable, or something not callable |
| webapi.E002 | two asynchronous routes share one topic (their operations could not be told apart) |
| webapi.E003 | a route's permission is not one Django knows (every call would be refused) |
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.contrib.auth import get_permission_codename
from django.core import checks

from webapi.routes import Route, discover, resolve_service


def check_routes(
    app_configs: Any = None, routes: Iterable[Route] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Return the problems of the declared routes (every discovered route by default)."""
    declared = list(discover() if routes is None else routes)
    return [*_services(declared), *_shared_topics(declared), *_permissions(declared)]


def _name(route: Route) -> str:
    return f"{route.method} {route.path}"


def _services(routes: list[Route]) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for route in routes:
        try:
            target = resolve_service(route.service)
        except (ImportError, AttributeError) as exc:
            problem = f"cannot be imported ({exc})"
        else:
            if callable(target):
                continue
            problem = f"is a {type(target).__name__}, not a callable"
        errors.append(
            checks.Error(
                f"route {_name(route)}: its service {route.service!r} {problem}",
                hint="Name the service method the route calls: it names the async topic too.",
                obj=route.service,
                id="webapi.E001",
            )
        )
    return errors


def _shared_topics(routes: list[Route]) -> list[checks.CheckMessage]:
    by_topic: dict[str, list[Route]] = defaultdict(list)
    for route in routes:
        if route.async_enabled:
            by_topic[route.topic].append(route)
    return [
        checks.Error(
            f"routes {', '.join(_name(r) for r in shared)} share the async topic {topic}",
            hint="Give one of them a distinct service, or async_enabled=False.",
            obj=topic,
            id="webapi.E002",
        )
        for topic, shared in sorted(by_topic.items())
        if len(shared) > 1
    ]


def _known_permissions() -> set[str]:
    """Return every `app_label.codename` Django creates, without asking the database."""
    known: set[str] = set()
    for model in apps.get_models():
        opts = model._meta
        known.update(
            f"{opts.app_label}.{get_permission_codename(action, opts)}"
            for action in opts.default_permissions
        )
        known.update(f"{opts.app_label}.{codename}" for codename, _name in opts.permissions)
    return known


def _permissions(routes: list[Route]) -> list[checks.CheckMessage]:
    known = _known_permissions()
    return [
        checks.Error(
            f"route {_name(route)}: the permission {route.permission!r} does not exist",
            hint="Use a model permission as app_label.codename, e.g. catalog.change_product.",
            obj=route.permission,
            id="webapi.E003",
        )
        for route in routes
        if route.permission is not None and route.permission not in known
    ]
