"""Authentication and authorization of the REST API: tokens, integrations, permissions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.fixtures.webapi import ADMIN_PASSWORD, temporary_route
from webapi import actions
from webapi.models import AccessToken, SignInFailure
from webapi.routes import Route

pytestmark = pytest.mark.django_db

PERMISSION = "rest.view_integration"
NOT_AUTHORIZED = "The consumer isn't authorized to access %resources."
SIGN_IN_INCORRECT = (
    "The account sign-in was incorrect or your account is disabled temporarily. "
    "Please wait and try again later."
)


def _whoami(ctx, params, data):
    return {"user": ctx.user.get_username(), "user_type": ctx.user_type, "store": ctx.store.code}


@pytest.fixture
def protected_route():
    route = Route(
        method="GET",
        path="/V1/test-auth/whoami",
        service="tests.whoami",
        call=_whoami,
        permission=PERMISSION,
    )
    with temporary_route(route):
        yield route


# --- the admin token endpoint ------------------------------------------------------


def test_admin_token_endpoint_returns_a_bare_string_usable_as_bearer(
    api, admin_user, protected_route
):
    response = api.post(
        "V1/integration/admin/token", {"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    token = response.json()
    assert isinstance(token, str) and len(token) >= 32

    answer = api.get("V1/test-auth/whoami", token=token)
    assert answer.status_code == 200
    assert answer.json() == {"user": "admin", "user_type": 2, "store": "default"}


def test_admin_token_is_stored_hashed_and_expires_after_the_configured_lifetime(
    api, admin_user, settings
):
    settings.WEBAPI = {**settings.WEBAPI, "TOKEN_LIFETIME_HOURS": 2}
    token = api.post(
        "V1/integration/admin/token", {"username": "admin", "password": ADMIN_PASSWORD}
    ).json()
    row = AccessToken.objects.get()
    assert token not in row.token_hash and row.prefix == token[:8]
    lifetime = row.expires_at - row.created_at
    assert timedelta(hours=2) - timedelta(seconds=5) < lifetime <= timedelta(hours=2)


def test_admin_token_with_wrong_password_is_401(api, admin_user):
    response = api.post("V1/integration/admin/token", {"username": "admin", "password": "nope"})
    assert response.status_code == 401
    assert response.json() == {"message": SIGN_IN_INCORRECT, "parameters": []}


def test_admin_token_for_an_unknown_user_is_401(api, db):
    response = api.post("V1/integration/admin/token", {"username": "ghost", "password": "x"})
    assert response.status_code == 401


def test_admin_token_for_an_inactive_user_is_401(api, admin_user):
    admin_user.is_active = False
    admin_user.save()
    response = api.post(
        "V1/integration/admin/token", {"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 401
    assert response.json()["message"] == SIGN_IN_INCORRECT


def test_admin_token_for_a_non_staff_user_is_401(api, db):
    get_user_model().objects.create_user(username="shopper", password=ADMIN_PASSWORD)
    response = api.post(
        "V1/integration/admin/token", {"username": "shopper", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 401
    assert AccessToken.objects.count() == 0


def _sign_in(api, password: str, username: str = "admin"):
    return api.post("V1/integration/admin/token", {"username": username, "password": password})


def test_too_many_failed_sign_ins_lock_the_username_even_for_the_right_password(
    api, admin_user, settings
):
    settings.WEBAPI = {**settings.WEBAPI, "TOKEN_MAX_FAILURES": 3, "TOKEN_LOCK_SECONDS": 600}
    for _ in range(3):
        assert _sign_in(api, "wrong").status_code == 401

    locked = _sign_in(api, ADMIN_PASSWORD)

    assert locked.status_code == 401
    assert locked.json()["message"] == SIGN_IN_INCORRECT
    assert AccessToken.objects.count() == 0
    assert SignInFailure.objects.get(username="admin").locked_until > timezone.now()


def test_a_lock_ends_after_its_time_and_a_good_sign_in_clears_the_count(api, admin_user, settings):
    settings.WEBAPI = {**settings.WEBAPI, "TOKEN_MAX_FAILURES": 2}
    _sign_in(api, "wrong")
    _sign_in(api, "wrong")
    SignInFailure.objects.update(locked_until=timezone.now() - timedelta(seconds=1))

    assert _sign_in(api, ADMIN_PASSWORD).status_code == 200
    assert not SignInFailure.objects.exists()


def test_failures_below_the_limit_do_not_lock(api, admin_user, settings):
    settings.WEBAPI = {**settings.WEBAPI, "TOKEN_MAX_FAILURES": 3}
    _sign_in(api, "wrong")
    _sign_in(api, "wrong")

    assert _sign_in(api, ADMIN_PASSWORD).status_code == 200


def test_a_locked_username_does_not_lock_another(api, admin_user, settings):
    settings.WEBAPI = {**settings.WEBAPI, "TOKEN_MAX_FAILURES": 1}
    _sign_in(api, "wrong", username="someone-else")

    assert _sign_in(api, ADMIN_PASSWORD).status_code == 200


def test_admin_token_without_password_names_the_missing_field(api, admin_user):
    response = api.post("V1/integration/admin/token", {"username": "admin"})
    assert response.status_code == 400
    assert response.json() == {
        "message": '"%fieldName" is required. Enter and try again.',
        "parameters": {"fieldName": "password"},
    }


# --- bearer tokens -------------------------------------------------------------------


def test_no_token_is_401_naming_the_resource(api, protected_route):
    response = api.get("V1/test-auth/whoami")
    assert response.status_code == 401
    assert response.json() == {"message": NOT_AUTHORIZED, "parameters": {"resources": PERMISSION}}
    assert response["WWW-Authenticate"] == "Bearer"


def test_unknown_token_is_401(api, db, protected_route):
    response = api.get("V1/test-auth/whoami", token="not-a-real-token")
    assert response.status_code == 401
    assert response.json()["message"] == NOT_AUTHORIZED


def test_malformed_authorization_header_is_401(api, db, protected_route):
    response = api.get("V1/test-auth/whoami", headers={"Authorization": "Bearer"})
    assert response.status_code == 401


def test_expired_token_is_401(api, admin_token, protected_route):
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api.get("V1/test-auth/whoami", token=admin_token).status_code == 401


def test_revoked_token_is_401(api, admin_token, protected_route):
    actions.revoke_token(AccessToken.objects.get())
    assert api.get("V1/test-auth/whoami", token=admin_token).status_code == 401


def test_token_of_a_user_deactivated_later_is_401(api, admin_user, admin_token, protected_route):
    admin_user.is_active = False
    admin_user.save()
    assert api.get("V1/test-auth/whoami", token=admin_token).status_code == 401


def test_admin_token_of_a_user_no_longer_staff_is_401(
    api, admin_user, admin_token, protected_route
):
    admin_user.is_staff = False
    admin_user.save()
    assert api.get("V1/test-auth/whoami", token=admin_token).status_code == 401


def test_using_a_token_records_when_it_was_last_used(api, admin_token, protected_route):
    assert AccessToken.objects.get().last_used_at is None
    api.get("V1/test-auth/whoami", token=admin_token)
    assert AccessToken.objects.get().last_used_at is not None


def test_a_bad_token_on_an_unknown_route_is_still_404(api, db):
    response = api.get("V1/no/such/route", token="bogus")
    assert response.status_code == 404


# --- permissions ---------------------------------------------------------------------


def test_integration_with_the_permission_is_let_in_as_user_type_1(
    api, make_integration, protected_route
):
    integration, token = make_integration("erp", [PERMISSION])
    response = api.get("V1/test-auth/whoami", token=token)
    assert response.status_code == 200
    assert response.json()["user"] == "integration:erp"
    assert response.json()["user_type"] == 1


def test_integration_without_the_permission_is_403_naming_the_resource(
    api, make_integration, protected_route
):
    _integration, token = make_integration("pim", [])
    response = api.get("V1/test-auth/whoami", token=token)
    assert response.status_code == 403
    assert response.json() == {"message": NOT_AUTHORIZED, "parameters": {"resources": PERMISSION}}


def test_deactivated_integration_is_401(api, make_integration, protected_route):
    integration, token = make_integration("old", [PERMISSION])
    integration.is_active = False
    integration.save()
    assert api.get("V1/test-auth/whoami", token=token).status_code == 401


def test_integration_permissions_can_be_replaced(api, make_integration, protected_route):
    integration, token = make_integration("crm", [])
    assert api.get("V1/test-auth/whoami", token=token).status_code == 403
    actions.set_integration_permissions(integration, [PERMISSION])
    assert api.get("V1/test-auth/whoami", token=token).status_code == 200


def test_revoking_an_integration_revokes_all_its_tokens(api, make_integration, protected_route):
    integration, token = make_integration("feed", [PERMISSION])
    second = actions.issue_integration_token(integration)
    assert actions.revoke_integration_tokens(integration) == 2
    assert api.get("V1/test-auth/whoami", token=token).status_code == 401
    assert api.get("V1/test-auth/whoami", token=second).status_code == 401


def test_integration_token_with_an_expiry_stops_working_after_it(
    api, make_integration, protected_route
):
    integration, _ = make_integration("temp", [PERMISSION])
    token = actions.issue_integration_token(integration, timezone.now() + timedelta(hours=1))
    assert api.get("V1/test-auth/whoami", token=token).status_code == 200
    AccessToken.objects.filter(integration=integration).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert api.get("V1/test-auth/whoami", token=token).status_code == 401


def test_staff_user_without_the_permission_is_403(api, limited_user, protected_route):
    assert api.get("V1/test-auth/whoami", token=limited_user([])).status_code == 403
    assert api.get("V1/test-auth/whoami", token=limited_user([PERMISSION])).status_code == 200


def test_creating_an_integration_with_an_unknown_permission_fails_and_creates_nothing(db):
    from webapi.exceptions import InputException
    from webapi.models import Integration

    with pytest.raises(InputException) as raised:
        actions.create_integration("bad", ["catalog.no_such_permission"])
    assert "catalog.no_such_permission" in str(raised.value)
    assert not Integration.objects.exists()
    assert not get_user_model().objects.filter(username="integration:bad").exists()


def test_integration_user_cannot_sign_in_or_reach_the_admin(make_integration):
    integration, _ = make_integration("bot", [PERMISSION])
    user = integration.user
    assert not user.has_usable_password() and not user.is_staff
