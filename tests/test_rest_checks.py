"""Route declarations are checked by `manage.py check` (webapi.E0xx) and found whatever
the app order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from webapi.checks import check_routes
from webapi.routes import Route

ROOT = Path(__file__).resolve().parent.parent


def _noop(ctx, params, data):
    return True


def _route(
    method="POST",
    path="/V1/test-checks/widgets",
    service="webapi.actions.issue_admin_token",
    permission="rest.change_integration",
    **options,
) -> Route:
    return Route(method, path, service, _noop, permission, **options)


def _ids(routes) -> list[str]:
    return [error.id for error in check_routes(routes=routes)]


def test_the_projects_own_routes_pass_the_checks():
    assert check_routes() == []


def test_a_route_whose_service_does_not_resolve_is_a_check_error():
    errors = check_routes(routes=[_route(service="catalog.services.NoSuchRepository.save")])
    assert [e.id for e in errors] == ["webapi.E001"]
    assert "catalog.services.NoSuchRepository.save" in errors[0].msg


def test_a_route_whose_service_is_not_callable_is_a_check_error():
    assert _ids([_route(service="webapi.routes.WRITE_METHODS")]) == ["webapi.E001"]


def test_a_service_in_a_module_that_does_not_exist_is_a_check_error():
    assert _ids([_route(service="nowhere.at.all")]) == ["webapi.E001"]


def test_two_routes_with_one_topic_are_a_check_error():
    first = _route(
        method="POST", path="/V1/test-checks/widgets", service="webapi.actions.create_integration"
    )
    second = _route(
        method="POST", path="/V1/test-checks/gadgets", service="webapi.actions.create_integration"
    )
    errors = check_routes(routes=[first, second])
    assert [e.id for e in errors] == ["webapi.E002"]
    assert "POST /V1/test-checks/widgets, POST /V1/test-checks/gadgets" in errors[0].msg


def test_routes_sharing_a_topic_are_fine_when_one_is_not_asynchronous():
    first = _route(path="/V1/test-checks/widgets", service="webapi.actions.create_integration")
    second = _route(
        path="/V1/test-checks/gadgets",
        service="webapi.actions.create_integration",
        async_enabled=False,
    )
    assert _ids([first, second]) == []


def test_a_permission_django_does_not_know_is_a_check_error():
    assert _ids([_route(permission="catalog.change_prodcut")]) == ["webapi.E003"]
    assert _ids([_route(permission="operations.view_all_bulks")]) == []
    assert _ids([_route(permission=None)]) == []


def test_async_topics_are_declared_whatever_the_order_of_installed_apps():
    code = (
        "import django; django.setup(); from queues import registry; "
        "print(sorted(registry.topics)); "
        "from django.core.management import call_command; call_command('check')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.fixtures.settings_apps_reversed"},
    )
    assert result.returncode == 0, result.stderr
    assert "async.catalog.services.productrepository.save.post" in result.stdout
    assert "async.catalog.services.blockrepository.delete_by_id.delete" in result.stdout
    assert "System check identified no issues" in result.stdout + result.stderr
