"""Django admin for websites and store views."""

from __future__ import annotations

from django.contrib import admin

from store.models import Store, Website


@admin.register(Website)
class WebsiteAdmin(admin.ModelAdmin):
    list_display = ("id", "code", "name")


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("id", "code", "name", "website", "is_active")
    list_filter = ("website", "is_active")
