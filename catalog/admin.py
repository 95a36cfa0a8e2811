"""Django admin for the catalog: browse and fix entities by hand.

Edits made here bypass the service layer's Magento rules only where the admin's
own validation (model fields, unique constraints) covers them; tree fields of
categories (`path`, `level`) are read-only so the tree cannot be broken here.
"""

from __future__ import annotations

from django.contrib import admin

from catalog.models import (
    Block,
    Category,
    CategoryProduct,
    Customer,
    Product,
    ProductStoreValue,
    Source,
    SourceItem,
    StockItem,
)


class ProductStoreValueInline(admin.TabularInline):
    model = ProductStoreValue
    extra = 0


class ProductCategoryInline(admin.TabularInline):
    model = CategoryProduct
    extra = 0
    autocomplete_fields = ("category",)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "type_id", "price", "status", "visibility", "updated_at")
    list_filter = ("status", "visibility", "type_id")
    search_fields = ("sku", "name")
    readonly_fields = ("created_at", "updated_at")
    inlines = (ProductStoreValueInline, ProductCategoryInline)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "name",
        "parent",
        "path",
        "level",
        "position",
        "is_active",
        "include_in_menu",
    )
    list_filter = ("is_active", "level")
    search_fields = ("name", "path")
    readonly_fields = ("parent", "path", "level", "created_at", "updated_at")
    ordering = ("path",)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("id", "email", "firstname", "lastname", "website", "group_id", "created_at")
    list_filter = ("website", "group_id")
    search_fields = ("email", "firstname", "lastname")
    # The password hash is never shown nor editable here.
    exclude = ("password_hash",)
    readonly_fields = ("created_at", "updated_at")


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("id", "identifier", "title", "active", "update_time")
    list_filter = ("active",)
    search_fields = ("identifier", "title", "content")
    readonly_fields = ("creation_time", "update_time")


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("source_code", "name", "enabled", "country_id", "postcode")
    list_filter = ("enabled",)
    search_fields = ("source_code", "name")


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Stock is shown here but changed only through the API: a product's stock item and
    its `default` source item are written together by `catalog.services.inventory`."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StockItem)
class StockItemAdmin(_ReadOnlyAdmin):
    list_display = ("item_id", "product", "qty", "is_in_stock", "manage_stock", "backorders")
    list_filter = ("is_in_stock",)
    search_fields = ("product__sku",)


@admin.register(SourceItem)
class SourceItemAdmin(_ReadOnlyAdmin):
    list_display = ("product", "source", "quantity", "status")
    list_filter = ("source", "status")
    search_fields = ("product__sku",)
