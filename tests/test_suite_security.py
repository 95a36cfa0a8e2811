"""Security suite: a permission matrix generated from the project's own route and page lists.

- Every API route of the registry (`webapi.routes`), synchronous and its `async/` and
  `async/bulk/` variants: without a token 401, with a token holding every other route
  permission but not this route's 403, both in Magento's shape and before the body is
  validated (bodies are `{}`). Routes declared with `permission=None` are anonymous.
- Every dashboard URL (`dashboard.urls.urlpatterns`): anonymous visitors are sent to sign
  in (GET) and refused (POST); a signed-in user without permissions is refused (403, or
  405 for a GET on a POST-only action), never 200 or 500, and nothing changes; every POST
  without a CSRF token is refused even for a superuser.
- Another user's bulk: 404 through the status API, absent from the bulk log, the failures
  page and the websocket stream.
- Websocket connections without a session are refused (4401).
- Every Django admin action (as offered to a superuser) is neither offered to nor run for
  a staff user who may only view every model.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import get_deleted_objects
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.forms.models import model_to_dict
from django.test import Client, RequestFactory
from django.urls import reverse

from catalog.models import Block, Product
from config.asgi import application
from dashboard import urls as dashboard_urls
from operations.actions import execute_operations
from operations.models import Bulk, Operation, OperationStatus
from tests.fixtures.dashboard import OPERATOR, VIEWER, customer, make_bulk
from tests.fixtures.dashboard import PASSWORD as DASHBOARD_PASSWORD
from tests.fixtures.sockets import ORIGIN, connect, received, run
from tests.fixtures.webapi import ADMIN_PASSWORD
from webapi import actions as webapi_actions
from webapi.exceptions import CONSUMER_NOT_AUTHORIZED
from webapi.models import SignInFailure
from webapi.routes import discover

pytestmark = pytest.mark.django_db

# --- the API matrix --------------------------------------------------------------------

_ROUTES = list(discover())
_PERMISSIONS = sorted({r.permission for r in _ROUTES if r.permission})
_VALUES = {"sku": "x", "bulkUuid": str(uuid.UUID(int=1)), "status": "1"}


def _fill(route) -> str:
    path = route.path
    for name in route.param_names:
        path = path.replace(f":{name}", _VALUES.get(name, "1"))
    return path


def _api_cases():
    cases = []
    for route in _ROUTES:
        if route.permission is None:
            continue  # anonymous (the admin token route): nothing to refuse
        cases.append(
            pytest.param(
                route.method,
                f"/rest{_fill(route)}",
                route.permission,
                id=f"sync {route.method} {route.path}",
            )
        )
        if route.async_enabled and route.method != "GET":
            cases.append(
                pytest.param(
                    route.method,
                    f"/rest/async{_fill(route)}",
                    route.permission,
                    id=f"async {route.method} {route.path}",
                )
            )
            cases.append(
                pytest.param(
                    route.method,
                    f"/rest/async/bulk{route.bulk_path}",
                    route.permission,
                    id=f"bulk {route.method} {route.bulk_path}",
                )
            )
    return cases


API_CASES = _api_cases()
ANONYMOUS_ROUTES = [r for r in _ROUTES if r.permission is None]


def _refusal(permission: str) -> dict:
    return {"message": CONSUMER_NOT_AUTHORIZED, "parameters": {"resources": permission}}


def test_the_matrix_covers_every_declared_route_and_only_the_token_route_is_anonymous():
    protected = [r for r in _ROUTES if r.permission]
    writes = [r for r in protected if r.async_enabled and r.method != "GET"]
    assert len(API_CASES) == len(protected) + 2 * len(writes)
    # A new anonymous route must be reviewed (and added here) on purpose.
    assert [(r.method, r.path) for r in ANONYMOUS_ROUTES] == [
        ("POST", "/V1/integration/admin/token")
    ]


@pytest.mark.parametrize("route", ANONYMOUS_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_an_anonymous_route_validates_its_body_without_a_token(api, route):
    response = api.request(route.method, f"/rest{_fill(route)}", {})
    assert response.status_code == 400
    assert set(response.json()) >= {"message", "parameters"}


@pytest.mark.parametrize(("method", "url", "permission"), API_CASES)
def test_a_route_without_a_token_is_401(api, method, url, permission):
    response = api.request(method, url, {})
    assert response.status_code == 401, response.content
    assert response.json() == _refusal(permission)


@pytest.mark.parametrize(("method", "url", "permission"), API_CASES)
def test_a_route_with_every_permission_but_its_own_is_403(
    api, make_integration, method, url, permission
):
    _integration, token = make_integration(perms=[p for p in _PERMISSIONS if p != permission])
    response = api.request(method, url, {}, token=token)
    assert response.status_code == 403, response.content
    assert response.json() == _refusal(permission)


# --- the dashboard matrix --------------------------------------------------------------

DASHBOARD_NAMES = [p.name for p in dashboard_urls.urlpatterns]
_CONVERTED = {p.name: set(p.pattern.converters) for p in dashboard_urls.urlpatterns}


@pytest.fixture
def target(signed_in):
    """A bulk of another user with a complete and a failed operation (a duplicate email)."""
    _client, owner = signed_in(OPERATOR)
    bulk = make_bulk(owner, [customer(1), customer(1)])
    return bulk, bulk.operations.exclude(status=OperationStatus.COMPLETE).get()


def _url(name: str, target) -> str:
    bulk, operation = target
    values = {"bulk_uuid": bulk.uuid, "operation_id": operation.pk}
    return reverse(f"dashboard:{name}", kwargs={k: values[k] for k in _CONVERTED[name]})


def _state(target) -> list:
    bulk, _operation = target
    rows = [model_to_dict(Bulk.objects.get(pk=bulk.pk))]
    rows += [model_to_dict(op) for op in Operation.objects.filter(bulk=bulk).order_by("pk")]
    return rows


def _is_sign_in(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(
        reverse(settings.LOGIN_URL)
    )


@pytest.mark.parametrize("name", DASHBOARD_NAMES)
def test_an_anonymous_visitor_is_sent_to_sign_in_and_cannot_post(name, target):
    client = Client(raise_request_exception=False)
    url = _url(name, target)
    before = _state(target)
    got = client.get(url)
    assert _is_sign_in(got) or got.status_code == 405, (got.status_code, got.get("Location"))
    posted = client.post(url, {"all": "1", "operation": [target[1].pk]})
    assert _is_sign_in(posted), (posted.status_code, posted.get("Location"))
    assert _state(target) == before


@pytest.mark.parametrize("name", DASHBOARD_NAMES)
def test_a_user_without_permissions_is_refused_everywhere(name, target, signed_in):
    client, _user = signed_in(())
    url = _url(name, target)
    before = _state(target)
    got = client.get(url, follow=True)
    assert got.status_code in (403, 405), got.status_code
    # The overview sends everyone without the queues permission to the bulk log (which
    # refuses them): follow redirects, the final answer is the refusal.
    posted = client.post(url, {"all": "1", "operation": [target[1].pk]}, follow=True)
    assert posted.status_code == 403, posted.status_code
    assert _state(target) == before


@pytest.mark.parametrize("name", DASHBOARD_NAMES)
def test_every_dashboard_post_without_a_csrf_token_is_refused(name, target, admin_user):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(admin_user)
    before = _state(target)
    response = client.post(_url(name, target), {"all": "1"})
    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert _state(target) == before


# --- another user's bulk ----------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["status", "detailed-status", "operation-status/1"])
def test_another_users_bulk_is_404_through_the_status_api(api, target, limited_user, suffix):
    response = api.get(f"V1/bulk/{target[0].uuid}/{suffix}", token=limited_user(VIEWER))
    assert response.status_code == 404
    assert response.json() == {
        "message": 'Bulk with UUID "%1" does not exist.',
        "parameters": [str(target[0].uuid)],
    }


def test_another_users_bulk_is_absent_from_the_bulk_search(api, target, limited_user):
    search = {"searchCriteria[pageSize]": 50}
    owner_token = webapi_actions.issue_admin_token(target[0].owner.username, DASHBOARD_PASSWORD)
    assert str(target[0].uuid) in api.get("V1/bulk", search, token=owner_token).content.decode()
    response = api.get("V1/bulk", search, token=limited_user(VIEWER))
    assert response.status_code == 200
    assert str(target[0].uuid) not in response.content.decode()


@pytest.mark.parametrize("name", ["bulks", "failures"])
def test_another_users_bulk_is_absent_from_the_dashboard_lists(name, target, signed_in):
    owner = Client(raise_request_exception=False)
    owner.force_login(target[0].owner)
    shown = owner.get(reverse(f"dashboard:{name}"))
    assert shown.status_code == 200
    assert str(target[0].uuid) in shown.content.decode()  # the control: the owner sees it
    client, _user = signed_in(OPERATOR)
    response = client.get(reverse(f"dashboard:{name}"))
    assert response.status_code == 200
    assert str(target[0].uuid) not in response.content.decode()


@pytest.mark.parametrize("name", [n for n in DASHBOARD_NAMES if _CONVERTED[n]])
def test_another_users_bulk_is_404_on_its_dashboard_urls(name, target, signed_in):
    client, _user = signed_in(OPERATOR)
    url = _url(name, target)
    before = _state(target)
    assert client.get(url).status_code in (404, 405)
    assert client.post(url, {"all": "1", "operation": [target[1].pk]}).status_code == 404
    assert _state(target) == before


# --- websockets --------------------------------------------------------------------------


async def _watch(communicator, page: str, bulks=(), operations=(), **extra) -> None:
    message = {"page": page, "bulks": list(bulks), "operations": list(operations), **extra}
    await communicator.send_to(text_data=json.dumps({"watch": message}))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_socket_watching_another_users_bulk_receives_nothing_about_it(signed_in):
    owner_client, owner = signed_in(OPERATOR)
    stranger_client, _stranger = signed_in(OPERATOR)
    bulk = make_bulk(owner, [customer(1), customer(1)], run=False)  # the second one fails
    uuid_, ids = str(bulk.uuid), list(bulk.operations.values_list("pk", flat=True))

    def run_open():
        execute_operations(bulk.operations.filter(status=4).values_list("pk", flat=True))

    async def scenario():
        sockets = {
            name: await connect(client)
            for name, client in [
                ("owner", owner_client),
                ("bulk", stranger_client),
                ("log", stranger_client),
                ("failures", stranger_client),
            ]
        }
        await _watch(sockets["owner"], "bulk", [uuid_], ids)
        await _watch(sockets["bulk"], "bulk", [uuid_], ids)  # asks for it by its uuid
        await _watch(sockets["log"], "bulks", top=True)
        await _watch(sockets["failures"], "failures")
        await asyncio.sleep(0.3)  # the hub takes the watches in a thread
        await database_sync_to_async(run_open)()
        seen = {name: "".join(await received(s, 1.5)) for name, s in sockets.items()}
        for communicator in sockets.values():
            await communicator.disconnect()
        return seen

    seen = run(scenario)
    assert f'data-operation-id="{ids[0]}"' in seen["owner"]  # the stream works: a control
    assert seen["bulk"] == seen["log"] == ""
    for name in ("bulk", "log", "failures"):
        assert uuid_ not in seen[name]
        assert not any(f'data-operation-id="{pk}"' in seen[name] for pk in ids)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([ORIGIN], id="no cookie"),
        pytest.param(
            [ORIGIN, (b"cookie", f"{settings.SESSION_COOKIE_NAME}=not-a-session".encode())],
            id="unknown session",
        ),
    ],
)
def test_a_socket_without_a_session_is_refused(headers):
    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)
        return await communicator.connect(timeout=5)

    assert run(scenario) == (False, 4401)


# --- Django admin actions ---------------------------------------------------------------


def _superuser_actions():
    factory = RequestFactory()
    superuser = get_user_model()(username="probe", is_superuser=True, is_staff=True, is_active=True)
    cases = []
    for model, model_admin in admin.site._registry.items():
        request = factory.get("/admin/")
        request.user = superuser
        for action in model_admin.get_actions(request):
            cases.append(pytest.param(model, action, id=f"{model._meta.label} {action}"))
    return cases


ADMIN_ACTIONS = _superuser_actions()


def _everything() -> dict[str, str]:
    """Every row of every model the admin shows (repr: JSON and m2m values compare)."""
    return {
        model._meta.label: repr(
            [model_to_dict(obj) | {"pk": obj.pk} for obj in model._default_manager.order_by("pk")]
        )
        for model in admin.site._registry
    }


def _newest(model) -> list[str]:
    """The newest row (the failed operation of `admin_rows`, its newest token...)."""
    return [
        str(pk) for pk in model._default_manager.order_by("-pk").values_list("pk", flat=True)[:1]
    ]


@pytest.fixture
def view_only_client(db):
    user = get_user_model().objects.create_user(
        username="viewer", password=ADMIN_PASSWORD, is_staff=True
    )
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=[f"view_{m._meta.model_name}" for m in admin.site._registry]
        )
    )
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.fixture
def admin_rows(signed_in, make_integration, admin_user):
    """At least one row for every model that has an action."""
    _client, owner = signed_in(OPERATOR)
    make_bulk(owner, [customer(1), customer(1)])  # the second one fails
    make_integration(perms=["catalog.change_customer", "operations.view_all_bulks"])
    webapi_actions.issue_admin_token("admin", ADMIN_PASSWORD)
    SignInFailure.objects.create(username="someone")
    Group.objects.create(name="editors")
    Product.objects.create(sku="x", name="X")
    Block.objects.create(identifier="footer", title="Footer")


def test_admin_actions_are_found():
    names = {action for _model, action in (case.values for case in ADMIN_ACTIONS)}
    assert {"issue_token", "revoke_tokens", "revoke", "retry_selected", "delete_selected"} <= names


@pytest.mark.parametrize(("model", "action"), ADMIN_ACTIONS)
def test_a_view_only_staff_user_is_neither_offered_nor_allowed_an_admin_action(
    model, action, view_only_client, admin_rows
):
    changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    page = view_only_client.get(changelist)
    assert page.status_code == 200
    assert f'value="{action}"' not in page.content.decode()

    pks = _newest(model)
    before = _everything()
    response = view_only_client.post(
        changelist, {"action": action, "_selected_action": pks, "index": "0", "post": "yes"}
    )
    assert response.status_code < 500
    assert _everything() == before


@pytest.mark.parametrize(("model", "action"), ADMIN_ACTIONS)
def test_the_same_post_runs_the_action_for_a_superuser(model, action, admin_user, admin_rows):
    """The control of the test above: its post is one the admin acts on (unless the row
    cannot be deleted: protected by others, or deleting needs more than this admin allows)."""
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    pks = _newest(model)
    request = RequestFactory().post(changelist)
    request.user = admin_user
    _deleted, _counts, perms_needed, protected = get_deleted_objects(
        model._default_manager.filter(pk__in=pks), request, admin.site
    )
    may_delete = admin.site._registry[model].has_delete_permission(request)
    acts = action != "delete_selected" or (may_delete and not (perms_needed or protected))
    before = _everything()
    response = client.post(
        changelist, {"action": action, "_selected_action": pks, "index": "0", "post": "yes"}
    )
    assert response.status_code < 500
    assert (_everything() != before) is acts
