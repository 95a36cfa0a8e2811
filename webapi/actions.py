"""Writes of the REST layer: tokens, integrations and the sign-in throttle.

Views, the management command and the admin call these; none holds logic itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Permission
from django.db import models, transaction
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
    nothing about which it was. The credentials are checked by `authenticate()`,
    whose backend (`webapi.signin.ThrottledModelBackend`) counts failures per
    username for every way of signing in (this route, the dashboard's and the
    admin's sign-in pages). A username longer than any account's is refused at once
    (InputException), with no password check and nothing recorded. Runs outside a
    transaction (each write commits on its own) so that a failure is counted
    although the call fails.
    """
    longest = username_max_length()
    if len(username) > longest:
        raise InputException(
            '"%fieldName" can have at most %max characters.',
            {"fieldName": "username", "max": longest},
        )
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active or not user.is_staff:
        raise AuthenticationException(SIGN_IN_INCORRECT)
    expires_at = timezone.now() + timedelta(hours=webapi_settings.TOKEN_LIFETIME_HOURS)
    return _store_token(user, USER_TYPE_ADMIN, integration=None, expires_at=expires_at)


# --- the sign-in throttle (Magento's authentication lock) -----------------------------
#
# One row per username that failed recently. An attempt is *reserved* before the
# password is checked, by one conditional UPDATE (atomic on every database: PostgreSQL
# re-evaluates it on the latest row version, SQLite runs one writer at a time), so
# however many requests race, at most TOKEN_MAX_FAILURES passwords are checked per
# lock period. A success deletes the row; a failure needs no further write (it was
# counted when reserved). Failures older than TOKEN_LOCK_SECONDS are forgotten, and
# their rows deleted whenever a new username's row is created (and by
# `manage.py webapi_cleanup`), so the table holds only the last period's usernames.


def username_max_length() -> int:
    """Return the longest username an account can have (150 for Django's user)."""
    field = get_user_model()._meta.get_field(get_user_model().USERNAME_FIELD)
    return getattr(field, "max_length", None) or 150


def reserve_sign_in_attempt(username: str) -> bool:
    """Count one sign-in attempt for `username` before its password is checked.

    Return False, counting nothing, if the username is locked. The attempt that
    reaches TOKEN_MAX_FAILURES locks the username for TOKEN_LOCK_SECONDS at once;
    if its password is right, `clear_sign_in_failures` lifts the lock again.
    """
    limit = webapi_settings.TOKEN_MAX_FAILURES
    period = timedelta(seconds=webapi_settings.TOKEN_LOCK_SECONDS)
    for _ in range(5):  # a row deleted between two statements: start again
        now = timezone.now()
        until = now + period
        fresh = models.Q(locked_until__lte=now) | models.Q(
            locked_until__isnull=True, updated_at__lte=now - period
        )
        reserved = (
            SignInFailure.objects.filter(username=username)
            .filter(models.Q(locked_until__isnull=True) | models.Q(locked_until__lte=now))
            .update(
                failures=models.Case(
                    models.When(fresh, then=models.Value(1)), default=models.F("failures") + 1
                ),
                locked_until=models.Case(
                    models.When(fresh, then=models.Value(until if limit <= 1 else None)),
                    models.When(failures__gte=limit - 1, then=models.Value(until)),
                    default=models.Value(None),
                    output_field=models.DateTimeField(),
                ),
                updated_at=now,
            )
        )
        if reserved:
            return True
        if SignInFailure.objects.filter(username=username, locked_until__gt=now).exists():
            return False
        if not SignInFailure.objects.filter(username=username).exists():
            delete_old_sign_in_failures(now)
            SignInFailure.objects.bulk_create(
                [SignInFailure(username=username, failures=0, updated_at=now)],
                ignore_conflicts=True,
            )
    return False  # never reached in practice; refusing is the safe answer


def clear_sign_in_failures(username: str) -> None:
    """Forget the failures of `username` (a successful sign-in)."""
    SignInFailure.objects.filter(username=username).delete()


def sign_in_locked_until(username: str) -> datetime | None:
    """Return when the lock on `username` ends, or None if it is not locked."""
    now = timezone.now()
    row = SignInFailure.objects.filter(username=username, locked_until__gt=now).first()
    return row.locked_until if row is not None else None


def delete_old_sign_in_failures(now: datetime | None = None) -> int:
    """Delete the rows of usernames neither locked nor failed within TOKEN_LOCK_SECONDS;
    return how many (`manage.py webapi_cleanup`)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=webapi_settings.TOKEN_LOCK_SECONDS)
    stale = SignInFailure.objects.filter(updated_at__lte=cutoff).filter(
        models.Q(locked_until__isnull=True) | models.Q(locked_until__lte=now)
    )
    return stale.delete()[0]


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
