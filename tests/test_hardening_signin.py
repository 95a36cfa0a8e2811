"""Issue 12, defects 1, 3, 4 and 8: the admin's actions and permission grants, and one
sign-in throttle (atomic under concurrency, shared by every sign-in page, bounded)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.fixtures.webapi import ADMIN_PASSWORD
from webapi import actions
from webapi.models import AccessToken, Integration, SignInFailure

SIGN_IN_INCORRECT = (
    "The account sign-in was incorrect or your account is disabled temporarily. "
    "Please wait and try again later."
)
LOCKED = "Too many failed sign-ins for this username: it is locked for"
INTEGRATIONS = "/admin/rest/integration/"
TOKENS = "/admin/rest/accesstoken/"
STRONG = ["catalog.change_customer", "operations.view_all_bulks"]


def _staff(username: str, perms=(), *, password: str = ADMIN_PASSWORD):
    user = get_user_model().objects.create_user(username=username, password=password, is_staff=True)
    user.user_permissions.set(actions.resolve_permissions(perms))
    return user


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _token(username: str, password: str, client: Client | None = None):
    return (client or Client()).post(
        "/rest/V1/integration/admin/token",
        {"username": username, "password": password},
        content_type="application/json",
    )


# --- defect 1: every admin action declares its permission ----------------------------


def test_every_admin_action_declares_the_permission_it_needs(rf, admin_user):
    request = rf.get("/")
    request.user = admin_user
    undeclared = [
        f"{model._meta.label}: {name}"
        for model, model_admin in admin.site._registry.items()
        for func, name, _ in model_admin._get_base_actions()
        if not getattr(func, "allowed_permissions", ())
    ]
    assert undeclared == []


@pytest.fixture
def strong_integration(db):
    integration = actions.create_integration("erp", STRONG)
    actions.issue_integration_token(integration)
    return integration


@pytest.mark.django_db
def test_a_view_only_staff_user_is_offered_no_action_and_cannot_post_one(strong_integration):
    viewer = _signed_in(_staff("viewer", ["rest.view_integration", "rest.view_accesstoken"]))
    integrations = viewer.get(INTEGRATIONS)
    tokens = viewer.get(TOKENS)
    assert integrations.status_code == tokens.status_code == 200
    for page in (integrations, tokens):
        html = page.content.decode()
        assert 'name="action"' not in html
        assert "Issue a new token" not in html and "Revoke all" not in html
        assert "Revoke selected" not in html

    before = AccessToken.objects.count()
    token = AccessToken.objects.get()
    for url, action, pk in [
        (INTEGRATIONS, "issue_token", strong_integration.pk),
        (INTEGRATIONS, "revoke_tokens", strong_integration.pk),
        (TOKENS, "revoke", token.pk),
    ]:
        answer = viewer.post(url, {"action": action, "_selected_action": [pk]}, follow=True)
        html = answer.content.decode()
        assert "Token for erp" not in html and "token(s)." not in html
    assert AccessToken.objects.count() == before
    assert AccessToken.objects.usable().count() == before  # nothing revoked


@pytest.mark.django_db
def test_issuing_needs_add_accesstoken_and_every_permission_of_the_integration(
    strong_integration,
):
    lacking = _signed_in(_staff("lacking", ["rest.view_integration", "rest.add_accesstoken"]))
    html = lacking.get(INTEGRATIONS).content.decode()
    assert 'value="issue_token"' in html and 'value="revoke_tokens"' not in html
    answer = lacking.post(
        INTEGRATIONS,
        {"action": "issue_token", "_selected_action": [strong_integration.pk]},
        follow=True,
    )
    assert "No token for erp: it holds permissions you do not hold" in answer.content.decode()
    assert AccessToken.objects.count() == 1

    holder = _signed_in(
        _staff("holder", ["rest.view_integration", "rest.add_accesstoken", *STRONG])
    )
    answer = holder.post(
        INTEGRATIONS,
        {"action": "issue_token", "_selected_action": [strong_integration.pk]},
        follow=True,
    )
    assert "Token for erp:" in answer.content.decode()
    assert AccessToken.objects.count() == 2


@pytest.mark.django_db
def test_revoking_needs_change_accesstoken(strong_integration):
    revoker = _signed_in(
        _staff(
            "revoker",
            ["rest.view_integration", "rest.view_accesstoken", "rest.change_accesstoken"],
        )
    )
    answer = revoker.post(
        INTEGRATIONS,
        {"action": "revoke_tokens", "_selected_action": [strong_integration.pk]},
        follow=True,
    )
    assert "Revoked 1 token(s)." in answer.content.decode()
    assert AccessToken.objects.usable().count() == 0


def _change(client: Client, integration: Integration, perms: list[str]):
    ids = [p.pk for p in actions.resolve_permissions(perms)]
    return client.post(
        f"{INTEGRATIONS}{integration.pk}/change/",
        {"name": integration.name, "is_active": "on", "permissions": ids},
    )


@pytest.mark.django_db
def test_a_change_only_user_grants_only_permissions_they_hold(strong_integration):
    editor = _signed_in(
        _staff(
            "editor", ["rest.view_integration", "rest.change_integration", "catalog.view_product"]
        )
    )
    form = editor.get(f"{INTEGRATIONS}{strong_integration.pk}/change/").content.decode()
    assert "It also keeps permissions you do not hold" in form

    refused = _change(
        editor, strong_integration, ["catalog.view_product", "catalog.delete_product"]
    )
    assert refused.status_code == 200  # the form again, with its error
    assert "Select a valid choice" in refused.content.decode()
    assert actions.integration_permissions(strong_integration) == sorted(STRONG)

    granted = _change(editor, strong_integration, ["catalog.view_product"])
    assert granted.status_code == 302
    # What the editor lacks stays as it was; what they hold they could grant.
    assert actions.integration_permissions(strong_integration) == sorted(
        [*STRONG, "catalog.view_product"]
    )

    adder = _signed_in(
        _staff("adder", ["rest.view_integration", "rest.add_integration", "catalog.view_product"])
    )
    ids = [p.pk for p in actions.resolve_permissions(["operations.view_all_bulks"])]
    added = adder.post(
        f"{INTEGRATIONS}add/", {"name": "pim", "is_active": "on", "permissions": ids}
    )
    assert added.status_code == 200 and "Select a valid choice" in added.content.decode()
    assert not Integration.objects.filter(name="pim").exists()


@pytest.mark.django_db
def test_a_superuser_may_grant_any_permission(admin_user, strong_integration):
    superuser = _signed_in(admin_user)
    assert _change(superuser, strong_integration, ["catalog.delete_product"]).status_code == 302
    assert actions.integration_permissions(strong_integration) == ["catalog.delete_product"]


# --- defect 3: the limit holds under concurrency ---------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_wrong_passwords_check_at_most_the_limit_then_lock(settings):
    settings.WEBAPI = {**settings.WEBAPI, "TOKEN_MAX_FAILURES": 6, "TOKEN_LOCK_SECONDS": 600}
    _staff("target")
    checks = []
    real = ModelBackend.authenticate

    def slow_check(self, request, username=None, password=None, **kwargs):
        checks.append(username)
        time.sleep(0.05)  # a real hasher is slower still: the window the race needs
        return real(self, request, username=username, password=password, **kwargs)

    parallel = 30
    barrier = threading.Barrier(parallel)
    statuses: list[int] = []

    def attempt() -> None:
        try:
            client = Client()
            barrier.wait()
            statuses.append(_token("target", "wrong", client).status_code)
        finally:
            connection.close()

    with mock.patch.object(ModelBackend, "authenticate", slow_check):
        threads = [threading.Thread(target=attempt) for _ in range(parallel)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert statuses == [401] * parallel
        assert len(checks) <= 6
        assert SignInFailure.objects.get(username="target").failures == len(checks)

        right = _token("target", ADMIN_PASSWORD)
    assert right.status_code == 401
    assert right.json() == {"message": SIGN_IN_INCORRECT, "parameters": []}
    assert len(checks) <= 6  # the right password was not even checked
    assert not AccessToken.objects.exists()


@pytest.mark.django_db
def test_the_attempt_reaching_the_limit_still_succeeds_with_the_right_password(settings):
    settings.WEBAPI = {**settings.WEBAPI, "TOKEN_MAX_FAILURES": 3}
    _staff("target")
    assert _token("target", "wrong").status_code == 401
    assert _token("target", "wrong").status_code == 401
    assert _token("target", ADMIN_PASSWORD).status_code == 200
    assert not SignInFailure.objects.exists()


# --- defect 4: one throttle for the token route and both sign-in pages ----------------


def _page_sign_in(url: str, username: str, password: str):
    return Client().post(url, {"username": username, "password": password})


def _signed_in_by(response) -> bool:
    return "_auth_user_id" in response.client.session


PAGES = ["/accounts/login/", "/admin/login/"]


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_a_username_locked_on_the_token_route_is_locked_on_the_sign_in_pages(settings, page):
    settings.WEBAPI = {**settings.WEBAPI, "TOKEN_MAX_FAILURES": 3, "TOKEN_LOCK_SECONDS": 600}
    _staff("target")
    for _ in range(3):
        assert _token("target", "wrong").status_code == 401

    answer = _page_sign_in(page, "target", ADMIN_PASSWORD)

    assert answer.status_code == 200
    assert not _signed_in_by(answer)
    assert LOCKED in answer.content.decode()
    assert "10 more minute(s)" in answer.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_failures_on_a_sign_in_page_lock_the_token_route_and_the_other_page(settings, page):
    settings.WEBAPI = {**settings.WEBAPI, "TOKEN_MAX_FAILURES": 3, "TOKEN_LOCK_SECONDS": 600}
    _staff("target")
    first = _page_sign_in(page, "target", "wrong")
    assert first.status_code == 200 and LOCKED not in first.content.decode()
    _page_sign_in(page, "target", "wrong")
    third = _page_sign_in(page, "target", "wrong")
    assert LOCKED in third.content.decode()

    token = _token("target", ADMIN_PASSWORD)
    assert token.status_code == 401 and token.json()["message"] == SIGN_IN_INCORRECT
    (other,) = [p for p in PAGES if p != page]
    answer = _page_sign_in(other, "target", ADMIN_PASSWORD)
    assert not _signed_in_by(answer) and LOCKED in answer.content.decode()
    assert not AccessToken.objects.exists()


@pytest.mark.django_db
def test_failures_add_up_across_the_entry_points_and_a_success_clears_them(settings):
    settings.WEBAPI = {**settings.WEBAPI, "TOKEN_MAX_FAILURES": 4}
    _staff("target")
    _token("target", "wrong")
    _page_sign_in("/accounts/login/", "target", "wrong")
    _page_sign_in("/admin/login/", "target", "wrong")
    assert SignInFailure.objects.get(username="target").failures == 3

    answer = _page_sign_in("/accounts/login/", "target", ADMIN_PASSWORD)
    assert answer.status_code == 302 and _signed_in_by(answer)
    assert not SignInFailure.objects.exists()


# --- defect 8: bounded rows, cleaned up ------------------------------------------------


@pytest.mark.django_db
def test_a_huge_username_is_refused_and_nothing_is_recorded():
    huge = "u" * (5 * 1024 * 1024)
    answer = _token(huge, "x")
    assert answer.status_code == 400
    assert answer.json() == {
        "message": '"%fieldName" can have at most %max characters.',
        "parameters": {"fieldName": "username", "max": 150},
    }
    assert _token("u" * 151, "x").status_code == 400
    for page in PAGES:
        # Past DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB) Django refuses the form itself.
        too_big = Client(raise_request_exception=False).post(page, {"username": huge})
        assert too_big.status_code == 400
        long = _page_sign_in(page, "u" * 151, "x")
        assert long.status_code == 200 and not _signed_in_by(long)
    assert not SignInFailure.objects.exists()

    assert _token("u" * 150, "x").status_code == 401  # the longest possible: counted
    assert SignInFailure.objects.get().username == "u" * 150


def _row(username: str, *, age: timedelta, failures: int = 1, locked_for=None):
    now = timezone.now()
    return SignInFailure.objects.create(
        username=username,
        failures=failures,
        updated_at=now - age,
        locked_until=None if locked_for is None else now + locked_for,
    )


@pytest.mark.django_db
def test_old_rows_are_deleted_by_the_command_and_when_a_new_username_fails(settings):
    settings.WEBAPI = {**settings.WEBAPI, "TOKEN_LOCK_SECONDS": 600}
    _row("old", age=timedelta(hours=1))
    _row("old-lock", age=timedelta(hours=1), failures=6, locked_for=-timedelta(minutes=50))
    _row("recent", age=timedelta(minutes=5))
    _row("locked", age=timedelta(minutes=5), failures=6, locked_for=timedelta(minutes=5))

    out = StringIO()
    call_command("webapi_cleanup", stdout=out)
    assert out.getvalue().strip() == "Deleted 2 sign-in failure row(s)."
    assert set(SignInFailure.objects.values_list("username", flat=True)) == {"recent", "locked"}

    _row("old", age=timedelta(hours=1))
    _token("newcomer", "wrong")
    assert set(SignInFailure.objects.values_list("username", flat=True)) == {
        "recent",
        "locked",
        "newcomer",
    }


@pytest.mark.django_db
def test_failures_older_than_the_lock_time_are_forgotten(settings):
    settings.WEBAPI = {**settings.WEBAPI, "TOKEN_MAX_FAILURES": 3, "TOKEN_LOCK_SECONDS": 600}
    _staff("target")
    _row("target", age=timedelta(hours=1), failures=2)
    assert _token("target", "wrong").status_code == 401
    row = SignInFailure.objects.get(username="target")
    assert row.failures == 1 and row.locked_until is None
