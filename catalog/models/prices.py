"""Tier prices, as Magento's `catalog_product_entity_tier_price` stores them.

Base prices, special prices and costs are product attributes (Magento's EAV
`price`, `special_price`, `special_from_date`, `special_to_date`, `cost`): their
default (store 0) value lives on the product (`Product.price`, the others in
`Product.custom_attributes`), a store view's own value in `ProductStoreValue`, so
the product API and the price APIs read and write the same values. Only tier
prices need a table of their own.
"""

from __future__ import annotations

from django.db import models

from catalog.models.products import Product
from store.models import Website

ALL_WEBSITES_ID = 0  # website 0 (`admin`): the tier price applies on every website

# Magento's default customer groups (`customer_group`), by id. "ALL GROUPS" is not a
# group: a tier price for all groups has `all_groups` set and group id 0.
CUSTOMER_GROUPS = {0: "NOT LOGGED IN", 1: "General", 2: "Wholesale", 3: "Retailer"}
ALL_GROUPS = "all groups"


class TierPrice(models.Model):
    """A quantity price of a product for a customer group (or all) on a website (or all).

    A `fixed` tier price stores its price in `value` (and no `percentage_value`);
    a `discount` one its percentage in `percentage_value` (and 0 in `value`), as
    Magento stores them.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="tier_prices")
    website = models.ForeignKey(Website, on_delete=models.CASCADE, related_name="+")
    all_groups = models.BooleanField(default=False)
    customer_group_id = models.PositiveIntegerField(default=0)
    qty = models.DecimalField(max_digits=12, decimal_places=4, default=1)
    value = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    percentage_value = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "all_groups", "customer_group_id", "qty", "website"],
                name="catalog_tier_price_uniq",
            )
        ]

    def __str__(self) -> str:
        group = ALL_GROUPS if self.all_groups else CUSTOMER_GROUPS.get(self.customer_group_id)
        return f"{self.product_id} x{self.qty} {group}@{self.website_id}"
