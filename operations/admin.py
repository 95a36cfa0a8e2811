"""Read-only admin pages for bulks and operations; retrying goes through the actions."""

from __future__ import annotations

from django.contrib import admin, messages

from operations.actions import retry_operations
from operations.exceptions import OperationsError
from operations.models import Bulk, Operation, OperationEvent
from operations.status import visible_bulks, visible_operations


class ReadOnly(admin.ModelAdmin):
    """Rows are written by the API and the consumers only; the admin shows them."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Bulk)
class BulkAdmin(ReadOnly):
    list_display = ("uuid", "owner", "user_type", "description", "created", "operation_count")
    list_filter = ("user_type",)
    search_fields = ("=uuid", "description")
    date_hierarchy = "created"
    list_select_related = ("owner",)
    show_full_result_count = False
    exclude = ("idempotency_response",)

    def get_queryset(self, request):
        # Owner-scoped like the status API: others' bulks only with view_all_bulks.
        return super().get_queryset(request) & visible_bulks(request.user)


class EventInline(admin.TabularInline):
    model = OperationEvent
    fields = ("at", "kind", "actor", "consumer", "message")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Operation)
class OperationAdmin(ReadOnly):
    list_display = (
        "id",
        "bulk",
        "index",
        "topic",
        "status",
        "attempts",
        "error_code",
        "published",
        "finished_at",
    )
    list_filter = ("status", "published", "topic")
    search_fields = ("=bulk__uuid",)
    list_select_related = ("bulk",)
    raw_id_fields = ("bulk",)
    show_full_result_count = False
    inlines = [EventInline]
    actions = ["retry_selected"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # An operation goes with its bulk (the clean-up, or deleting the bulk): deleting
        # it alone would leave the bulk's stored counters wrong.
        return False

    def get_queryset(self, request):
        # Owner-scoped like the status API: others' operations (and their payloads,
        # which may hold secrets such as a new customer's password) only with
        # view_all_bulks.
        return super().get_queryset(request) & visible_operations(request.user)

    @admin.action(description="Retry the selected failed operations", permissions=["retry"])
    def retry_selected(self, request, queryset) -> None:
        try:
            count = retry_operations(queryset.values_list("pk", flat=True), request.user)
        except OperationsError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(
            request, f"{count} operation(s) reopened and queued again.", messages.SUCCESS
        )

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("operations.retry_operations")
