"""Django admin for integrations (issue and revoke tokens, edit permissions) and tokens
(read-only)."""

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


class IntegrationForm(forms.ModelForm):
    permissions = forms.ModelMultipleChoiceField(
        queryset=Permission.objects.select_related("content_type").order_by(
            "content_type__app_label", "codename"
        ),
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
        if self.instance.pk:
            self.fields["permissions"].initial = self.instance.user.user_permissions.all()

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

    @admin.display(description="usable tokens")
    def usable_tokens(self, obj: Integration) -> int:
        return obj.tokens.usable().count()

    def save_model(self, request, obj: Integration, form, change: bool) -> None:
        perms = [_perm_name(p) for p in form.cleaned_data.get("permissions", [])]
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

    @admin.action(description="Issue a new token (shown once)")
    def issue_token(self, request, queryset) -> None:
        for integration in queryset:
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

    @admin.action(description="Revoke all tokens")
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

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset) -> None:
        for token in queryset:
            actions.revoke_token(token)
        self.message_user(request, f"Revoked {len(queryset)} token(s).", messages.SUCCESS)


@admin.register(SignInFailure)
class SignInFailureAdmin(admin.ModelAdmin):
    """Failed admin token requests; deleting a row unlocks its username."""

    list_display = ("username", "failures", "locked_until", "updated_at")
    search_fields = ("username",)
    readonly_fields = ("username", "failures", "locked_until", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False
