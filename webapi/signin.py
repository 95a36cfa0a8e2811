"""One sign-in throttle for every way a person signs in.

`ThrottledModelBackend` (settings.AUTHENTICATION_BACKENDS) is Django's ModelBackend
with Magento's authentication lock in front of it: every `authenticate()` call (the
admin token route `POST /V1/integration/admin/token`, the dashboard's
`/accounts/login/`, the admin's `/admin/login/`) reserves an attempt for the
username before the password is checked (`webapi.actions.reserve_sign_in_attempt`)
and a success clears the count, so a username locked on one is locked on all.

`SignInForm` and `AdminSignInForm` are Django's two sign-in forms, saying that the
username is locked for now instead of "wrong password" while it is.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from webapi import actions

LOCKED_MESSAGE = (
    "Too many failed sign-ins for this username: it is locked for %(minutes)s more "
    "minute(s). Please wait and try again later."
)


class ThrottledModelBackend(ModelBackend):
    """ModelBackend, refusing a locked username and counting each attempt first."""

    def authenticate(
        self, request, username: str | None = None, password: str | None = None, **kwargs: Any
    ):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        if len(username) > actions.username_max_length():
            return None  # no account has such a name: nothing to check or to record
        if not actions.reserve_sign_in_attempt(username):
            # Stops authenticate() at once (no other backend is asked) and sends
            # user_login_failed, as any refusal does.
            raise PermissionDenied("locked")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            actions.clear_sign_in_failures(username)
        return user


class _LockMessage:
    """Replace the form's "wrong credentials" error with the lock's while it lasts."""

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            username = self.cleaned_data.get("username")  # type: ignore[attr-defined]
            until = actions.sign_in_locked_until(username) if username else None
            if until is None:
                raise
            minutes = max(1, -(-int((until - timezone.now()).total_seconds()) // 60))
            raise forms.ValidationError(
                LOCKED_MESSAGE, code="locked", params={"minutes": minutes}
            ) from None


class SignInForm(_LockMessage, AuthenticationForm):
    """The dashboard's sign-in form (`/accounts/login/`)."""


class AdminSignInForm(_LockMessage, AdminAuthenticationForm):
    """The admin's sign-in form (`/admin/login/`)."""
