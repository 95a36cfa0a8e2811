"""`manage.py webapi_cleanup`: delete the sign-in failures no longer counted."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from webapi.actions import delete_old_sign_in_failures


class Command(BaseCommand):
    help = (
        "Delete the sign-in failure rows of usernames neither locked nor failed within "
        "WEBAPI['TOKEN_LOCK_SECONDS'] (they are also deleted whenever a new username fails)."
    )

    def handle(self, *args, **options) -> None:
        deleted = delete_old_sign_in_failures()
        self.stdout.write(f"Deleted {deleted} sign-in failure row(s).")
