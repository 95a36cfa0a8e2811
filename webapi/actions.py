"""Writes of the REST layer: tokens and integrations.

Views, the management command and the admin call these; none holds logic itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone

from webapi.conf import webapi_settings
from webapi.exceptions import (
    SIGN_IN_INCORRECT,
    AuthenticationException,
    InputException,
    NoSuchEntityException,
)
from webapi.models import (
    USER_TYPE_ADMIN,
    USER_TYPE_INTEGRATION,
    AccessToken,
    Integration,
    SignInFailure,
)
from webapi.tokens import PREFIX_LENGTH, generate_token, hash_token

INTEGRATION_USERNAME_PREFIX = "integration:"


def _store_token(
    user, user_type: int, *, integration: Integration | None, expires_at: datetime | None
) -> str:
    token = generate_token()
    AccessToken.objects.create(
        user=user,
        integration=integration,
        token_hash=hash_token(token),
        prefix=token[:PREFIX_LENGTH],
        user_type=user_type,
        expires_at=expires_at,
    )
    return token


def issue_admin_token(username: str, password: str) -> str:
    """Return a new admin token for an active staff user with these credentials.

    The token expires after `WEBAPI["TOKEN_LIFETIME_HOURS"]`. Any failure (unknown
    user, wrong password, inactive or non-staff user, a username locked after too
    many failures) raises the same AuthenticationException, so the answer tells
    nothing about which it was. Runs outside a transaction (each write commits on
    its own) so that a failure is counted although the call fails.
    """
    now = timezone.now()
    if SignInFailure.objects.filter(username=username, locked_until__gt=now).exists():
        raise AuthenticationException(SIGN_IN_INCORRECT)
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active or not user.is_staff:
        _count_sign_in_failure(username, now)
        raise AuthenticationException(SIGN_IN_INCORRECT)
    SignInFailure.objects.filter(username=username).delete()
    expires_at = now + timedelta(hours=webapi_settings.TOKEN_LIFETIME_HOURS)
    return _store_token(user, USER_TYPE_ADMIN, integration=None, expires_at=expires_at)


def _count_sign_in_failure(username: str, now: datetime) -> None:
    """Count a failed admin token request; lock the username at the limit."""
    with transaction.atomic():
        record, _ = SignInFailure.objects.select_for_update().get_or_create(username=username)
        if record.locked_until is not None and record.locked_until <= now:
            record.failures = 0  # an expired lock starts a fresh count
        record.failures += 1
        record.locked_until = None
        if record.failures >= webapi_settings.TOKEN_MAX_FAILURES:
            record.locked_until = now + timedelta(seconds=webapi_settings.TOKEN_LOCK_SECONDS)
        record.updated_at = now
        record.save()


def resolve_permissions(names: Iterable[str]) -> list[Permission]:
    """Return the Permission rows for `app_label.codename` names.

    Raise InputException naming the first one that does not exist.
    """
    found: list[Permission] = []
    for name in dict.fromkeys(names):
        app_label, _, codename = name.partition(".")
        perm = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if not codename or perm is None:
            raise InputException('The permission "%1" does not exist.', [name])
        found.append(perm)
    return found


@transaction.atomic
def create_integration(name: str, permissions: Iterable[str] = ()) -> Integration:
    """Create an integration, its user and its permissions.

    Raise InputException if the name is taken or empty, or a permission is unknown.
    """
    name = name.strip()
    if not name:
        raise InputException(
            '"%fieldName" is required. Enter and try again.', {"fieldName": "name"}
        )
    if Integration.objects.filter(name=name).exists():
        raise InputException('An integration named "%1" already exists.', [name])
    perms = resolve_permissions(permissions)
    user_model = get_user_model()
    username = f"{INTEGRATION_USERNAME_PREFIX}{name}"[
        : user_model._meta.get_field("username").max_length
    ]
    user = user_model(username=username, is_staff=False, is_active=True)
    user.set_unusable_password()
    user.save()
    user.user_permissions.set(perms)
    return Integration.objects.create(name=name, user=user)


def get_integration(name: str) -> Integration:
    try:
        return Integration.objects.select_related("user").get(name=name)
    except Integration.DoesNotExist:
        raise NoSuchEntityException('The integration "%1" does not exist.', [name]) from None


@transaction.atomic
def set_integration_permissions(integration: Integration, permissions: Iterable[str]) -> None:
    """Replace the integration's permissions with exactly these."""
    integration.user.user_permissions.set(resolve_permissions(permissions))


def integration_permissions(integration: Integration) -> list[str]:
    """Return the integration's permissions as sorted `app_label.codename` names."""
    rows = integration.user.user_permissions.select_related("content_type")
    return sorted(f"{p.content_type.app_label}.{p.codename}" for p in rows)


def issue_integration_token(integration: Integration, expires_at: datetime | None = None) -> str:
    """Return a new token for the integration; it never expires unless `expires_at` is given."""
    if not integration.is_active:
        raise InputException('The integration "%1" is inactive.', [integration.name])
    return _store_token(
        integration.user, USER_TYPE_INTEGRATION, integration=integration, expires_at=expires_at
    )


def revoke_token(token: AccessToken) -> None:
    """Revoke one token (idempotent: a revoked token keeps its first revocation time)."""
    AccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def revoke_integration_tokens(integration: Integration) -> int:
    """Revoke every unrevoked token of the integration; return how many."""
    return integration.tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
