"""Django admin for integrations (issue and revoke tokens, edit permissions) and tokens
(read-only).

Who may do what (each action declares its permission, so the admin neither offers nor
runs it for anyone else):

- *Issue a new token*: `rest.add_accesstoken`, and only for integrations whose
  permissions the user holds all of (a token acts with them);
- *Revoke all tokens*, *Revoke selected tokens*: `rest.change_accesstoken`;
- an integration's permissions: whoever may change it grants or removes only
  permissions they hold themselves; the others it has stay as they are (a superuser
  holds every permission).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.models import Permission

from webapi import actions
from webapi.exceptions import LocalizedException
from webapi.models import AccessToken, Integration, SignInFailure


def _perm_name(perm: Permission) -> str:
    return f"{perm.content_type.app_label}.{perm.codename}"


def _all_permissions():
    return Permission.objects.select_related("content_type").order_by(
        "content_type__app_label", "codename"
    )


def _held_by(user, perms) -> list[Permission]:
    """Return those of `perms` that `user` holds (all of them for a superuser)."""
    if user.is_active and user.is_superuser:
        return list(perms)
    held = user.get_all_permissions()
    return [perm for perm in perms if _perm_name(perm) in held]


def _lacked_by(user, integration: Integration) -> list[str]:
    """Return the integration's permissions that `user` does not hold."""
    if user.is_active and user.is_superuser:
        return []
    held = user.get_all_permissions()
    return [name for name in actions.integration_permissions(integration) if name not in held]


class IntegrationForm(forms.ModelForm):
    """The integration's name, state and permissions; `editor` (set by the admin) may
    grant or remove only the permissions they hold."""

    editor = None  # the user editing; None: no restriction (code, not people)

    permissions = forms.ModelMultipleChoiceField(
        queryset=_all_permissions(),
        required=False,
        widget=FilteredSelectMultiple("permissions", is_stacked=False),
        help_text=(
            "What the integration's tokens may do "
            "(the route permissions are listed in docs/api.md)."
        ),
    )

    class Meta:
        model = Integration
        fields = ["name", "is_active"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        current = list(self.instance.user.user_permissions.all()) if self.instance.pk else []
        self.kept: list[Permission] = []  # held by the integration, not by the editor
        field = self.fields["permissions"]
        if self.editor is not None and not (self.editor.is_active and self.editor.is_superuser):
            grantable = {perm.pk for perm in _held_by(self.editor, _all_permissions())}
            field.queryset = _all_permissions().filter(pk__in=grantable)
            self.kept = [perm for perm in current if perm.pk not in grantable]
            if self.kept:
                field.help_text += (
                    " It also keeps permissions you do not hold, which you cannot change: "
                    + ", ".join(_perm_name(perm) for perm in self.kept)
                    + "."
                )
            else:
                field.help_text += " You can grant only permissions you hold yourself."
        if self.instance.pk:
            field.initial = [perm for perm in current if perm not in self.kept]

    def permission_names(self) -> list[str]:
        """Return the permissions to save: those chosen and those kept."""
        chosen = list(self.cleaned_data.get("permissions") or [])
        return [_perm_name(perm) for perm in [*chosen, *self.kept]]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if self.instance.pk and name != self.instance.name:
            raise forms.ValidationError("An integration cannot be renamed; create a new one.")
        return name


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    form = IntegrationForm
    list_display = ["name", "is_active", "usable_tokens", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    readonly_fields = ["user", "created_at"]
    actions = ["issue_token", "revoke_tokens"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"editor": request.user})

    def has_issue_token_permission(self, request) -> bool:
        return request.user.has_perm("rest.add_accesstoken")

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("rest.change_accesstoken")

    @admin.display(description="usable tokens")
    def usable_tokens(self, obj: Integration) -> int:
        return obj.tokens.usable().count()

    def save_model(self, request, obj: Integration, form, change: bool) -> None:
        perms = form.permission_names()
        if change:
            obj.save()
            actions.set_integration_permissions(obj, perms)
            return
        created = actions.create_integration(obj.name, perms)
        if not obj.is_active:
            created.is_active = False
            created.save(update_fields=["is_active"])
        obj.pk = created.pk
        obj.user = created.user
        obj.created_at = created.created_at

    def save_related(self, request, form, formsets, change) -> None:
        # Permissions live on the integration's user and were saved in save_model.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @admin.action(description="Issue a new token (shown once)", permissions=["issue_token"])
    def issue_token(self, request, queryset) -> None:
        for integration in queryset:
            lacked = _lacked_by(request.user, integration)
            if lacked:
                self.message_user(
                    request,
                    f"No token for {integration.name}: it holds permissions you do not "
                    f"hold ({', '.join(lacked)}).",
                    messages.ERROR,
                )
                continue
            try:
                token = actions.issue_integration_token(integration)
            except LocalizedException as exc:
                self.message_user(request, exc.rendered, messages.ERROR)
                continue
            self.message_user(
                request,
                f"Token for {integration.name}: {token} — copy it now, it will not be shown again.",
                messages.WARNING,
            )

    @admin.action(description="Revoke all tokens", permissions=["revoke"])
    def revoke_tokens(self, request, queryset) -> None:
        count = sum(actions.revoke_integration_tokens(integration) for integration in queryset)
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "user",
        "integration",
        "user_type",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    list_filter = ["user_type", "integration"]
    search_fields = ["prefix", "user__username", "integration__name"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("rest.change_accesstoken")

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke(self, request, queryset) -> None:
        for token in queryset:
            actions.revoke_token(token)
        self.message_user(request, f"Revoked {len(queryset)} token(s).", messages.SUCCESS)


@admin.register(SignInFailure)
class SignInFailureAdmin(admin.ModelAdmin):
    """Recent failed sign-ins (token route, dashboard, admin); deleting a row unlocks
    its username."""

    list_display = ("username", "failures", "locked_until", "updated_at")
    search_fields = ("username",)
    readonly_fields = ("username", "failures", "locked_until", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False
