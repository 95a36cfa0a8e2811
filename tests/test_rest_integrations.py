"""Integrations and their tokens, managed from the command line and from Django's admin."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command

from tests.fixtures.webapi import temporary_route
from webapi import actions
from webapi.models import AccessToken, Integration
from webapi.routes import Route

pytestmark = pytest.mark.django_db

PERMISSION = "rest.view_integration"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("integration", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def protected_route():
    route = Route(
        "GET", "/V1/test-integrations/ping", "tests.ping", lambda c, p, d: "pong", PERMISSION
    )
    with temporary_route(route):
        yield


# --- management command --------------------------------------------------------------


def test_command_creates_an_integration_whose_token_works(api, protected_route):
    run("create", "erp", "--permission", PERMISSION)
    token = run("token", "erp").strip()
    assert api.get("V1/test-integrations/ping", token=token).json() == "pong"
    assert AccessToken.objects.get().expires_at is None


def test_command_token_prints_a_token_that_is_not_stored(db):
    run("create", "pim")
    token = run("token", "pim").strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert not AccessToken.objects.filter(token_hash=token).exists()
    assert AccessToken.objects.get().prefix == token[:8]


def test_command_token_can_expire(db):
    run("create", "temp")
    run("token", "temp", "--expires-in-days", "3")
    row = AccessToken.objects.get()
    assert 2.9 < (row.expires_at - row.created_at).total_seconds() / 86400 <= 3


def test_command_revoke_makes_tokens_401(api, protected_route):
    run("create", "old", "--permission", PERMISSION)
    token = run("token", "old").strip()
    assert "Revoked 1 token(s)" in run("revoke", "old")
    assert api.get("V1/test-integrations/ping", token=token).status_code == 401


def test_command_list_shows_state_tokens_and_permissions(db):
    run("create", "alpha", "--permission", PERMISSION)
    run("token", "alpha")
    run("create", "beta")
    lines = run("list").splitlines()
    assert lines == [
        f"alpha\tactive\t1 usable token(s)\t{PERMISSION}",
        "beta\tactive\t0 usable token(s)\t(no permissions)",
    ]


def test_command_permissions_shows_and_replaces(api, protected_route):
    run("create", "crm")
    token = run("token", "crm").strip()
    assert api.get("V1/test-integrations/ping", token=token).status_code == 403
    assert run("permissions", "crm", "--permission", PERMISSION).split() == [PERMISSION]
    assert run("permissions", "crm").split() == [PERMISSION]
    assert api.get("V1/test-integrations/ping", token=token).status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create", "dup"), 'An integration named "dup" already exists.'),
        (
            ("create", "x", "--permission", "catalog.nope"),
            'The permission "catalog.nope" does not exist.',
        ),
        (("token", "ghost"), 'The integration "ghost" does not exist.'),
        (("revoke", "ghost"), 'The integration "ghost" does not exist.'),
        (("token", "dup", "--expires-in-days", "0"), "at least 1"),
    ],
)
def test_command_errors_are_command_errors(db, args, message):
    run("create", "dup")
    with pytest.raises(CommandError, match=re.escape(message)):
        run(*args)


# --- Django admin --------------------------------------------------------------------


@pytest.fixture
def admin_client_(client, admin_user):
    client.force_login(admin_user)
    return client


def test_admin_creates_an_integration_with_permissions(admin_client_):
    perm = Permission.objects.get(content_type__app_label="rest", codename="view_integration")
    response = admin_client_.post(
        "/admin/rest/integration/add/",
        {"name": "from-admin", "is_active": "on", "permissions": [perm.pk]},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    integration = Integration.objects.get(name="from-admin")
    assert actions.integration_permissions(integration) == [PERMISSION]
    assert integration.user.username == "integration:from-admin"


def test_admin_edits_an_integrations_permissions(admin_client_):
    integration = actions.create_integration("edit-me", [PERMISSION])
    response = admin_client_.post(
        f"/admin/rest/integration/{integration.pk}/change/",
        {"name": "edit-me", "is_active": "on", "permissions": []},
    )
    assert response.status_code == 302
    assert actions.integration_permissions(integration) == []


def test_admin_issue_token_action_shows_the_token_once(admin_client_, api, protected_route):
    integration = actions.create_integration("shown", [PERMISSION])
    response = admin_client_.post(
        "/admin/rest/integration/",
        {"action": "issue_token", "_selected_action": [integration.pk]},
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    token = re.search(r"Token for shown: (\S+)", shown[0]).group(1)
    assert api.get("V1/test-integrations/ping", token=token).json() == "pong"
    assert token not in admin_client_.get("/admin/rest/accesstoken/").content.decode()


def test_admin_revoke_action_revokes_every_token(admin_client_, api, protected_route):
    integration = actions.create_integration("revoked", [PERMISSION])
    token = actions.issue_integration_token(integration)
    admin_client_.post(
        "/admin/rest/integration/",
        {"action": "revoke_tokens", "_selected_action": [integration.pk]},
    )
    assert api.get("V1/test-integrations/ping", token=token).status_code == 401


def test_access_tokens_are_listed_read_only(admin_client_, admin_token):
    row = AccessToken.objects.get()
    listing = admin_client_.get("/admin/rest/accesstoken/")
    assert listing.status_code == 200 and row.prefix in listing.content.decode()
    assert admin_client_.get("/admin/rest/accesstoken/add/").status_code == 403
    detail = admin_client_.get(f"/admin/rest/accesstoken/{row.pk}/change/")
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
