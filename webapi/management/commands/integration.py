"""Manage integrations (non-human API clients) and their tokens."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from webapi import actions
from webapi.exceptions import LocalizedException
from webapi.models import Integration


class Command(BaseCommand):
    help = (
        "Manage API integrations: create NAME --permission app.codename ..., "
        "token NAME [--expires-in-days N], revoke NAME, list, permissions NAME [--permission ...]."
    )

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        create = sub.add_parser("create", help="Create an integration with its permissions.")
        create.add_argument("name")
        create.add_argument("--permission", action="append", default=[], metavar="APP.CODENAME")
        token = sub.add_parser("token", help="Issue a token (printed once, never stored).")
        token.add_argument("name")
        token.add_argument("--expires-in-days", type=int, default=None, metavar="N")
        revoke = sub.add_parser("revoke", help="Revoke every token of an integration.")
        revoke.add_argument("name")
        sub.add_parser("list", help="List integrations, their permissions and usable tokens.")
        perms = sub.add_parser(
            "permissions", help="Show, or with --permission replace, an integration's permissions."
        )
        perms.add_argument("name")
        perms.add_argument("--permission", action="append", default=None, metavar="APP.CODENAME")

    def handle(self, *args, subcommand: str, **options) -> None:
        try:
            getattr(self, f"do_{subcommand}")(**options)
        except LocalizedException as exc:
            raise CommandError(exc.rendered) from exc

    def do_create(self, name: str, permission: list[str], **_) -> None:
        integration = actions.create_integration(name, permission)
        self.stdout.write(f"Created integration {integration.name} (user {integration.user}).")

    def do_token(self, name: str, expires_in_days: int | None, **_) -> None:
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        expires_at = (
            timezone.now() + timedelta(days=expires_in_days)
            if expires_in_days is not None
            else None
        )
        token = actions.issue_integration_token(actions.get_integration(name), expires_at)
        self.stderr.write("Store this token now: it cannot be shown again.")
        self.stdout.write(token)

    def do_revoke(self, name: str, **_) -> None:
        count = actions.revoke_integration_tokens(actions.get_integration(name))
        self.stdout.write(f"Revoked {count} token(s) of {name}.")

    def do_list(self, **_) -> None:
        integrations = Integration.objects.select_related("user").order_by("name")
        if not integrations:
            self.stdout.write("No integrations.")
        for integration in integrations:
            state = "active" if integration.is_active else "inactive"
            usable = integration.tokens.usable().count()
            perms = ", ".join(actions.integration_permissions(integration)) or "(no permissions)"
            self.stdout.write(f"{integration.name}\t{state}\t{usable} usable token(s)\t{perms}")

    def do_permissions(self, name: str, permission: list[str] | None, **_) -> None:
        integration = actions.get_integration(name)
        if permission is not None:
            actions.set_integration_permissions(integration, permission)
        for perm in actions.integration_permissions(integration):
            self.stdout.write(perm)
