"""The category tree and its product links."""

from __future__ import annotations

from django.db import models

from catalog.models.products import Product

ROOT_CATEGORY_ID = 1  # Magento's tree root ("Root Catalog"), never shown in a store
DEFAULT_CATEGORY_ID = 2  # the default store's root ("Default Category")


class Category(models.Model):
    """A node of the category tree.

    `path` is the ids from the root down to this node (`"1/2/5"`) and `level` its
    depth (the root is 0), as in Magento; both are maintained by the service layer.
    """

    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    name = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    level = models.PositiveSmallIntegerField(default=0)
    path = models.CharField(max_length=255, blank=True, db_index=True)
    include_in_menu = models.BooleanField(default=True)
    custom_attributes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    products = models.ManyToManyField(Product, through="CategoryProduct", related_name="categories")

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return f"{self.name} ({self.path})"


class CategoryProduct(models.Model):
    """A product assigned to a category, at a position."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="product_links")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="category_links")
    position = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["category", "product"], name="catalog_category_product_uniq"
            )
        ]
        indexes = [models.Index(fields=["product", "category"], name="catalog_cp_product_idx")]

    def __str__(self) -> str:
        return f"{self.category_id}:{self.product_id}@{self.position}"
