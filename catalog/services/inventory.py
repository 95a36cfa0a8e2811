"""Stock: CatalogInventory's `StockRegistryInterface` and MSI's source and source-item
services (`SourceRepositoryInterface`, `SourceItemRepositoryInterface`,
`SourceItemsSaveInterface`, `SourceItemsDeleteInterface`, `GetProductSalableQtyInterface`).

One quantity, two APIs: a product's legacy stock item (stock 1) and its source item
of the `default` source are written together, whichever API the change came
through (Magento's legacy synchronisation, done here in the same transaction):

- saving the legacy stock item (product save, PUT stockItems) sets the default
  source item's quantity to `qty` and its status to the resulting `is_in_stock`;
- saving the default source item sets the legacy `qty`, and `is_in_stock` from its
  status; deleting it leaves the legacy item at 0, out of stock.

Either way, Magento's rule decides the legacy stock status: a product whose stock is
managed and whose quantity is at or below `min_qty` without backorders is out of
stock (`stock_status_changed_auto` 1); one taken out that way comes back in stock
when its quantity does, unless the client says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import F
from django.utils import timezone

from catalog.models import (
    DEFAULT_SOURCE_CODE,
    DEFAULT_STOCK_ID,
    QTY_PRODUCT_TYPES,
    Product,
    Source,
    SourceItem,
    StockItem,
)
from catalog.serializers.inventory import (
    SOURCE_ITEM,
    SOURCE_ITEM_KEY,
    STOCK_ITEM,
    STOCK_ITEM_WRITABLE,
    effective,
    render_source,
    render_source_item,
    render_stock_item,
    render_stock_status,
    validation_failed,
)
from catalog.serializers.render import decimal_out
from catalog.services.base import clean, search, writes
from webapi.exceptions import (
    CouldNotSaveException,
    InputException,
    NoSuchEntityException,
)

if TYPE_CHECKING:
    from webapi.routes import CallContext

PRODUCT_SKU_NOT_FOUND = 'Product with SKU "%1" does not exist'
PRODUCT_NOT_FOUND = (
    "The product that was requested doesn't exist. Verify the product and try again."
)
SOURCE_NOT_FOUND = 'Source with code "%value" does not exist.'
STOCK_NOT_FOUND = 'Stock with id "%value" does not exist.'
INPUT_EMPTY = "Input data is empty"
COULD_NOT_SAVE = "Could not save Source Item"
SKU_NOT_FOUND = 'Product with requested "%field": "%value" was was not found.'
NO_SOURCE_ITEMS = "Can't check requested quantity for products without Source Items support."

SOURCE_SEARCH_FIELDS = {
    "source_code": "source_code",
    "name": "name",
    "enabled": "enabled",
    "description": "description",
    "country_id": "country_id",
    "region_id": "region_id",
    "region": "region",
    "city": "city",
    "postcode": "postcode",
}
SOURCE_ITEM_SEARCH_FIELDS = {
    "sku": "product__sku",
    "source_code": "source_id",
    "quantity": "quantity",
    "status": "status",
}


# -- the legacy stock item and its synchronisation ------------------------------------------


def _verify_stock(item: StockItem) -> bool:
    """Magento's `StockStateProvider::verifyStock`: may the product be in stock?"""
    if item.qty is None:
        return False
    return bool(effective(item, "backorders")) or item.qty > Decimal(effective(item, "min_qty"))


def _settle(item: StockItem, product_type: str, *, in_stock_given: bool) -> None:
    """Apply Magento's stock item repository rules before saving `item`."""
    if product_type not in QTY_PRODUCT_TYPES:
        item.qty = Decimal(0)
        return
    manage = effective(item, "manage_stock")
    if manage and not _verify_stock(item):
        item.is_in_stock = False
        item.stock_status_changed_auto = 1
    else:
        if item.stock_status_changed_auto and not in_stock_given:
            item.is_in_stock = True  # taken out automatically, back with its quantity
        item.stock_status_changed_auto = 0
    notify = Decimal(effective(item, "notify_stock_qty"))
    low = manage and item.qty is not None and item.qty < notify
    item.low_stock_date = timezone.now() if low else None


def save_stock_item(
    product: Product, data: dict[str, Any] | None, *, new: bool = False
) -> StockItem:
    """Create or update `product`'s legacy stock item from cleaned STOCK_ITEM data and
    mirror it to its `default` source item. Return the saved stock item.

    `new`: the product was just inserted (no stock item to look for: two INSERTs, no
    SELECT, for bulk imports). Assumes `product` is saved and, for an update, locked
    by the caller.
    """
    if new:
        item, source_item = new_stock_rows(product, data)
        item.save(force_insert=True)
        if source_item is not None:
            source_item.save(force_insert=True)
        return item
    found = StockItem.objects.filter(product=product).first()
    created = found is None
    item = StockItem(product=product, stock_id=DEFAULT_STOCK_ID) if found is None else found
    _apply_stock_data(item, data or {}, product.type_id, created=created)
    item.save()
    product.stock_item = item  # type: ignore[misc]  # the reverse one-to-one cache
    if product.type_id in QTY_PRODUCT_TYPES:
        SourceItem.objects.update_or_create(
            product=product, source_id=DEFAULT_SOURCE_CODE, defaults=_source_values(item)
        )
    return item


def new_stock_rows(
    product: Product, data: dict[str, Any] | None
) -> tuple[StockItem, SourceItem | None]:
    """Return the unsaved stock item of a product just inserted, from cleaned STOCK_ITEM
    data, and its `default` source item (None for a type without quantity).

    What `save_stock_item(product, data, new=True)` saves; a caller creating many
    products saves the rows of all of them with one `bulk_create` per model.
    """
    item = StockItem(product=product, stock_id=DEFAULT_STOCK_ID)
    _apply_stock_data(item, data or {}, product.type_id, created=True)
    product.stock_item = item  # type: ignore[misc]  # the reverse one-to-one cache
    if product.type_id not in QTY_PRODUCT_TYPES:
        return item, None
    return item, SourceItem(product=product, source_id=DEFAULT_SOURCE_CODE, **_source_values(item))


def _apply_stock_data(
    item: StockItem, data: dict[str, Any], product_type: str, *, created: bool
) -> None:
    for field in STOCK_ITEM_WRITABLE:
        if field in data:
            value = data[field]
            if field == "use_config_min_sale_qty":
                value = int(value)
            setattr(item, field, value)
    in_stock_given = "is_in_stock" in data
    if created and not in_stock_given:
        # A new item is in stock if it has quantity, out of stock otherwise.
        item.is_in_stock = item.qty is not None and item.qty > 0
    _settle(item, product_type, in_stock_given=in_stock_given)


def _source_values(item: StockItem) -> dict[str, Any]:
    return {"quantity": item.qty or 0, "status": int(item.is_in_stock)}


def _from_default_source(product: Product, quantity: Decimal | None, status: int) -> None:
    """Mirror a change of `product`'s default source item to its legacy stock item."""
    item = StockItem.objects.select_for_update().filter(product=product).first()
    if item is None:
        item = StockItem(product=product, stock_id=DEFAULT_STOCK_ID)
    item.qty = Decimal(0) if quantity is None else quantity
    item.is_in_stock = bool(status)
    _settle(item, product.type_id, in_stock_given=True)
    item.save()


def _product(sku: str, *, lock: bool = False) -> Product:
    products = Product.objects.select_for_update() if lock else Product.objects
    product = products.filter(sku=sku).first()
    if product is None:
        raise NoSuchEntityException(PRODUCT_SKU_NOT_FOUND, [sku])
    return product


def _stock_item_of(product: Product) -> StockItem:
    item = StockItem.objects.filter(product=product).first()
    if item is None:  # a product made outside the service layer: Magento's defaults
        item = StockItem(product=product, stock_id=DEFAULT_STOCK_ID, qty=Decimal(0))
    return item


class StockRegistry:
    """The legacy stock of a product (`catalog.services.StockRegistry`)."""

    @classmethod
    def get_stock_item_by_sku(cls, ctx: CallContext, product_sku: str) -> dict[str, Any]:
        """Return the product's stock item (StockItemInterface)."""
        return render_stock_item(_stock_item_of(_product(product_sku)))

    @classmethod
    @writes
    def update_stock_item_by_sku(
        cls, ctx: CallContext, product_sku: str, stock_item: Any, item_id: Any = None
    ) -> int:
        """Merge `stock_item` into the product's stock item and return its item id.

        `item_id` (the URL's) is ignored, as Magento ignores it: the SKU names the item.
        """
        data = clean(STOCK_ITEM, stock_item)
        product = _product(product_sku, lock=True)
        return save_stock_item(product, data).item_id

    @classmethod
    def get_stock_status_by_sku(cls, ctx: CallContext, product_sku: str) -> dict[str, Any]:
        """Return the product's stock status in the default stock (StockStatusInterface)."""
        return render_stock_status(_stock_item_of(_product(product_sku)))


# -- MSI ----------------------------------------------------------------------------------


class SourceRepository:
    """Sources (`catalog.services.SourceRepository`)."""

    @classmethod
    def get(cls, ctx: CallContext, source_code: str) -> dict[str, Any]:
        source = Source.objects.filter(source_code=source_code).first()
        if source is None:
            raise NoSuchEntityException(SOURCE_NOT_FOUND, {"value": source_code})
        return render_source(source)

    @classmethod
    def get_list(cls, ctx: CallContext, query_params: Any) -> dict[str, Any]:
        def render(sources: list[Source]) -> list[dict[str, Any]]:
            return [render_source(s) for s in sources]

        return search(Source.objects.all(), query_params, SOURCE_SEARCH_FIELDS, render)


class SourceItemRepository:
    """Source items (`catalog.services.SourceItemRepository`)."""

    @classmethod
    def get_list(cls, ctx: CallContext, query_params: Any) -> dict[str, Any]:
        def render(items: list[SourceItem]) -> list[dict[str, Any]]:
            return [render_source_item(i, i.sku) for i in items]  # type: ignore[attr-defined]

        queryset = SourceItem.objects.annotate(sku=F("product__sku"))
        return search(queryset, query_params, SOURCE_ITEM_SEARCH_FIELDS, render)


def _products_by_sku(skus: Iterable[str]) -> dict[str, Product]:
    return {p.sku: p for p in Product.objects.select_for_update().filter(sku__in=set(skus))}


class SourceItemsSave:
    """Save source items (`catalog.services.SourceItemsSave`)."""

    @classmethod
    @writes
    def execute(cls, ctx: CallContext, source_items: Any) -> list[Any]:
        """Create or update each (sku, source) item; all or nothing, as Magento.

        Answers `[]`: Magento's method returns nothing, which its REST layer renders
        as an empty array.
        """
        if not isinstance(source_items, list) or not source_items:
            raise InputException(INPUT_EMPTY)
        items = [clean(SOURCE_ITEM, item) for item in source_items]
        products = _products_by_sku(i["sku"] for i in items)
        for item in items:
            if item["sku"] not in products:
                raise validation_failed(SKU_NOT_FOUND, {"field": "sku", "value": item["sku"]})
        codes = {i["source_code"] for i in items}
        known = set(Source.objects.filter(source_code__in=codes).values_list("pk", flat=True))
        if codes - known:
            raise CouldNotSaveException(COULD_NOT_SAVE)
        for item in items:
            product = products[item["sku"]]
            SourceItem.objects.update_or_create(
                product=product,
                source_id=item["source_code"],
                defaults={"quantity": item["quantity"], "status": item["status"]},
            )
            if item["source_code"] == DEFAULT_SOURCE_CODE:
                _from_default_source(product, item["quantity"], item["status"])
        return []


class SourceItemsDelete:
    """Delete source items (`catalog.services.SourceItemsDelete`)."""

    @classmethod
    @writes
    def execute(cls, ctx: CallContext, source_items: Any) -> list[Any]:
        """Delete each (sku, source) item that exists; unknown ones are ignored, as Magento.

        Deleting a product's default source item leaves its legacy stock at 0, out of
        stock. Answers `[]`, as `SourceItemsSave.execute`.
        """
        if not isinstance(source_items, list) or not source_items:
            raise InputException(INPUT_EMPTY)
        items = [clean(SOURCE_ITEM_KEY, item) for item in source_items]
        products = _products_by_sku(i.get("sku", "") for i in items)
        for item in items:
            product = products.get(item.get("sku", ""))
            if product is None:
                continue
            code = item.get("source_code", "")
            deleted, _ = SourceItem.objects.filter(product=product, source_id=code).delete()
            if deleted and code == DEFAULT_SOURCE_CODE:
                _from_default_source(product, Decimal(0), 0)
        return []


class GetProductSalableQty:
    """Salable quantity (`catalog.services.GetProductSalableQty`)."""

    @classmethod
    def execute(cls, ctx: CallContext, sku: str, stock_id: Any) -> float | int:
        """Return the quantity that can be sold from stock `stock_id` (only stock 1, the
        default stock, exists): the legacy quantity above `min_qty` while in stock, else 0.
        """
        product = Product.objects.filter(sku=sku).first()
        if product is None:
            raise NoSuchEntityException(PRODUCT_NOT_FOUND)
        if str(stock_id).strip() != str(DEFAULT_STOCK_ID):
            raise NoSuchEntityException(STOCK_NOT_FOUND, {"value": stock_id})
        if product.type_id not in QTY_PRODUCT_TYPES:
            raise InputException(NO_SOURCE_ITEMS)
        item = _stock_item_of(product)
        in_stock = item.is_in_stock or not effective(item, "manage_stock")
        if not in_stock:
            return 0
        salable = (item.qty or Decimal(0)) - Decimal(effective(item, "min_qty"))
        return decimal_out(salable)
