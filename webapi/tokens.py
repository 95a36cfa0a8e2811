"""Token secrets: generate, hash, look up. Only hashes ever reach the database."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from webapi.models import USER_TYPE_ADMIN, AccessToken

PREFIX_LENGTH = 8
# Writing last_used_at on every call would turn every read into a write.
LAST_USED_RESOLUTION_SECONDS = 60


def generate_token() -> str:
    """Return a new random token (43 url-safe characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def find_usable_token(token: str) -> AccessToken | None:
    """Return the usable AccessToken for this secret, or None.

    Unknown, revoked and expired tokens, tokens of inactive users, admin tokens of
    users no longer staff and tokens of inactive integrations are all None. Records
    when the token was last used.
    """
    if not token or len(token) > 512:
        return None
    digest = hash_token(token)
    row = (
        AccessToken.objects.select_related("user", "integration").filter(token_hash=digest).first()
    )
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    now = timezone.now()
    if not row.is_usable(now) or not row.user.is_active:
        return None
    if row.user_type == USER_TYPE_ADMIN and not row.user.is_staff:
        return None  # an admin token stops working when its user is no longer staff
    if row.integration is not None and not row.integration.is_active:
        return None
    if (
        row.last_used_at is None
        or (now - row.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
    ):
        AccessToken.objects.filter(pk=row.pk).update(last_used_at=now)
        row.last_used_at = now
    return row


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="rest-revoke-on-password")
def revoke_admin_tokens_on_password_change(sender, instance, **kwargs) -> None:
    """Revoke a user's admin tokens when their password changes (as Magento does).

    `set_password()` (the admin's password forms, `changepassword`, the password reset
    and change pages) marks the new password until the user is saved; the hash upgrade
    that `check_password()` makes at sign-in does not, and keeps the tokens.
    Integration tokens belong to the integration, not to a person's password.
    """
    if getattr(instance, "_password", None) is None:
        return
    AccessToken.objects.filter(
        user=instance, user_type=USER_TYPE_ADMIN, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
