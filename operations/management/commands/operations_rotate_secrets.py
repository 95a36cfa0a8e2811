"""`manage.py operations_rotate_secrets`: re-encrypt open operations' secrets with the
newest key of OPERATIONS_SECRET_KEYS (so that older keys can be dropped)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from operations.actions.secrets import rotate_secrets


class Command(BaseCommand):
    help = (
        "Re-encrypt the secret fields operations still keep (open or failed) "
        "with the first key of OPERATIONS_SECRET_KEYS. Exits 1 if some could not "
        "be decrypted with any configured key."
    )

    def handle(self, *args, **options) -> None:
        rotated, unreadable = rotate_secrets()
        self.stdout.write(f"Re-encrypted the secrets of {rotated} operation(s).")
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} operation(s) could not be decrypted with any configured "
                f"key (keep their key in OPERATIONS_SECRET_KEYS): {unreadable[:20]}"
            )
