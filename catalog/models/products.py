"""Products and their store-scoped values, as Magento's catalog stores them."""

from __future__ import annotations

from django.db import models

from store.models import Store

# Attributes whose value can differ per store view (Magento's "store view" scope).
# The default (store 0) value lives on the product row itself; a store view's own
# value is a `ProductStoreValue` row that overrides it when reading in that store.
STORE_SCOPED_ATTRIBUTES = ("name",)

PRODUCT_TYPES = ("simple", "virtual", "configurable", "bundle", "grouped", "downloadable")


class Product(models.Model):
    class Status(models.IntegerChoices):
        ENABLED = 1, "Enabled"
        DISABLED = 2, "Disabled"

    class Visibility(models.IntegerChoices):
        NOT_VISIBLE = 1, "Not Visible Individually"
        CATALOG = 2, "Catalog"
        SEARCH = 3, "Search"
        BOTH = 4, "Catalog, Search"

    sku = models.CharField(max_length=64, unique=True)
    # The default (store 0) name; store views may override it (ProductStoreValue).
    name = models.CharField(max_length=255)
    type_id = models.CharField(max_length=32, default="simple")
    attribute_set_id = models.PositiveIntegerField(default=4)
    price = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    status = models.PositiveSmallIntegerField(choices=Status.choices, default=Status.ENABLED)
    visibility = models.PositiveSmallIntegerField(
        choices=Visibility.choices, default=Visibility.BOTH
    )
    weight = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    # [{"attribute_code": "color", "value": "red"}, ...]; merged by code on update.
    custom_attributes = models.JSONField(default=list, blank=True)
    website_ids = models.JSONField(default=list, blank=True)
    # Magento's `url_key` (store-view scoped there, global here): unique, so that two
    # products never answer the same URL; generated from the name when not given.
    url_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["updated_at"], name="catalog_product_updated_idx"),
            models.Index(fields=["name"], name="catalog_product_name_idx"),
            models.Index(fields=["type_id", "status"], name="catalog_product_type_idx"),
        ]

    def __str__(self) -> str:
        return self.sku


class ProductStoreValue(models.Model):
    """A store view's own value of a store-scoped attribute (never store 0)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="store_values")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    attribute_code = models.CharField(max_length=64)
    value = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "store", "attribute_code"],
                name="catalog_product_store_value_uniq",
            )
        ]

    def __str__(self) -> str:
        return f"{self.attribute_code}@{self.store_id}={self.value}"
