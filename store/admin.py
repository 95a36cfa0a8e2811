"""Django admin for websites, store groups and store views."""

from __future__ import annotations

from django.contrib import admin

from store.models import Store, StoreGroup, Website


@admin.register(Website)
class WebsiteAdmin(admin.ModelAdmin):
    list_display = ("id", "code", "name", "default_group")


@admin.register(StoreGroup)
class StoreGroupAdmin(admin.ModelAdmin):
    list_display = ("id", "code", "name", "website", "root_category_id", "default_store")
    list_filter = ("website",)


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("id", "code", "name", "website", "group", "is_active")
    list_filter = ("website", "group", "is_active")
