"""Stock, as Magento keeps it twice: MSI's sources and source items, and the legacy
CatalogInventory stock item of each product (stock 1, the default stock).

The legacy stock item and the product's source item of the `default` source describe
the same quantity: the service layer (`catalog.services.inventory`) writes both in
the same transaction, whichever API the change came through.
"""

from __future__ import annotations

from django.db import models

from catalog.models.products import Product

DEFAULT_SOURCE_CODE = "default"
DEFAULT_STOCK_ID = 1

# Product types whose quantity is kept per source (Magento's `isQty` types); the others
# (configurable, bundle, grouped) have a legacy stock item but no source items.
QTY_PRODUCT_TYPES = ("simple", "virtual", "downloadable")


class Source(models.Model):
    """A physical place stock is kept in (Magento's `inventory_source`)."""

    source_code = models.CharField(max_length=255, primary_key=True)
    name = models.CharField(max_length=255)
    enabled = models.BooleanField(default=True)
    description = models.TextField(blank=True, null=True)
    latitude = models.DecimalField(max_digits=8, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    country_id = models.CharField(max_length=2)
    region_id = models.PositiveIntegerField(null=True, blank=True)
    region = models.CharField(max_length=255, blank=True, null=True)
    city = models.CharField(max_length=255, blank=True, null=True)
    street = models.CharField(max_length=255, blank=True, null=True)
    postcode = models.CharField(max_length=255)
    contact_name = models.CharField(max_length=255, blank=True, null=True)
    email = models.CharField(max_length=255, blank=True, null=True)
    phone = models.CharField(max_length=255, blank=True, null=True)
    fax = models.CharField(max_length=255, blank=True, null=True)
    use_default_carrier_config = models.BooleanField(default=True)

    class Meta:
        ordering = ["source_code"]

    def __str__(self) -> str:
        return self.source_code


class SourceItem(models.Model):
    """The quantity of one product in one source (`inventory_source_item`)."""

    class Status(models.IntegerChoices):
        OUT_OF_STOCK = 0, "Out of stock"
        IN_STOCK = 1, "In stock"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="source_items")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="items")
    quantity = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    status = models.PositiveSmallIntegerField(choices=Status.choices, default=Status.OUT_OF_STOCK)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "source"], name="catalog_source_item_sku_source_uniq"
            )
        ]
        indexes = [models.Index(fields=["source", "status"], name="catalog_source_item_src_idx")]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.source_id}={self.quantity}"


class StockItem(models.Model):
    """A product's legacy stock item in the default stock (`cataloginventory_stock_item`).

    Each `use_config_*` flag means "take the configured default" (see
    `catalog.services.inventory.CONFIG`); the stored value next to it is kept for
    when the flag is turned off, as Magento keeps it.
    """

    item_id = models.AutoField(primary_key=True)
    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="stock_item")
    stock_id = models.PositiveSmallIntegerField(default=DEFAULT_STOCK_ID)
    qty = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True, default=0)
    is_in_stock = models.BooleanField(default=False)
    is_qty_decimal = models.BooleanField(default=False)
    show_default_notification_message = models.BooleanField(default=False)
    use_config_min_qty = models.BooleanField(default=True)
    min_qty = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    use_config_min_sale_qty = models.PositiveSmallIntegerField(default=1)
    min_sale_qty = models.DecimalField(max_digits=12, decimal_places=4, default=1)
    use_config_max_sale_qty = models.BooleanField(default=True)
    max_sale_qty = models.DecimalField(max_digits=12, decimal_places=4, default=10000)
    use_config_backorders = models.BooleanField(default=True)
    backorders = models.PositiveSmallIntegerField(default=0)
    use_config_notify_stock_qty = models.BooleanField(default=True)
    notify_stock_qty = models.DecimalField(max_digits=12, decimal_places=4, default=1)
    use_config_qty_increments = models.BooleanField(default=True)
    qty_increments = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    use_config_enable_qty_inc = models.BooleanField(default=True)
    enable_qty_increments = models.BooleanField(default=False)
    use_config_manage_stock = models.BooleanField(default=True)
    manage_stock = models.BooleanField(default=True)
    low_stock_date = models.DateTimeField(null=True, blank=True)
    is_decimal_divided = models.BooleanField(default=False)
    stock_status_changed_auto = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["item_id"]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.qty}"
