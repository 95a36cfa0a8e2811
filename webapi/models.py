"""Integrations (non-human API clients) and access tokens.

A token is shown once, when issued; only its SHA-256 is stored, with a short
prefix for people to tell tokens apart. An integration acts through a Django user
of its own (`integration:<name>`, no password, not staff) that holds exactly the
permissions given to the integration.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

USER_TYPE_INTEGRATION = 1
USER_TYPE_ADMIN = 2
USER_TYPE_CUSTOMER = 3
USER_TYPE_GUEST = 4


class Integration(models.Model):
    name = models.CharField(max_length=100, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="integration"
    )
    is_active = models.BooleanField(
        default=True, help_text="An inactive integration's tokens are refused."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AccessTokenQuerySet(models.QuerySet):
    def usable(self) -> AccessTokenQuerySet:
        """Return tokens that are neither revoked nor expired."""
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class AccessToken(models.Model):
    USER_TYPES = [(USER_TYPE_INTEGRATION, "integration"), (USER_TYPE_ADMIN, "admin")]

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens"
    )
    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, null=True, blank=True, related_name="tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False)
    user_type = models.PositiveSmallIntegerField(choices=USER_TYPES)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = AccessTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.get_user_type_display()})"

    def is_usable(self, now=None) -> bool:
        """Return True if the token is neither revoked nor expired."""
        now = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now


class SignInFailure(models.Model):
    """Recent failed sign-ins per username (Magento's oauth_token_request_log), counted
    for every way of signing in: the admin token route, `/accounts/login/` and
    `/admin/login/` (`webapi.signin.ThrottledModelBackend`).

    An attempt is counted before its password is checked; the one reaching
    WEBAPI["TOKEN_MAX_FAILURES"] locks the username until `locked_until`. A successful
    sign-in deletes the row. A username is at most as long as an account's (longer
    ones are refused unrecorded), and rows neither locked nor updated within
    WEBAPI["TOKEN_LOCK_SECONDS"] are deleted (`webapi.actions.delete_old_sign_in_failures`).
    """

    username = models.CharField(max_length=150, unique=True)
    failures = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["updated_at"], name="rest_signin_updated")]

    def __str__(self) -> str:
        return f"{self.username}: {self.failures} failure(s)"
