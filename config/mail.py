"""Whether this server sends mail, for the password reset pages."""

from __future__ import annotations

from django.conf import settings

# Backends that deliver nothing to anyone's mailbox: the log, nowhere, files.
NO_MAIL_BACKENDS = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
    }
)


def sends_mail() -> bool:
    """Return False when mails only reach the server's log (no EMAIL_URL set)."""
    return settings.EMAIL_BACKEND not in NO_MAIL_BACKENDS


def mail(request) -> dict[str, bool]:
    """Template context: `sends_mail`."""
    return {"sends_mail": sends_mail()}
