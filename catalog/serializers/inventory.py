"""Stock: request specs and answers of CatalogInventory's stock items and MSI's sources
and source items."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from catalog.models import Source, SourceItem, StockItem
from catalog.serializers.fields import (
    REQUIRED,
    AnyObject,
    AnyValue,
    Bool,
    Int,
    Invalid,
    ListOf,
    Number,
    Obj,
    RequestSerializer,
    Str,
)
from catalog.serializers.render import decimal_out, timestamp

# Magento's configuration defaults (`cataloginventory/item_options/*`): the values a
# stock item answers, and obeys, while its `use_config_*` flag is set.
CONFIG: dict[str, Any] = {
    "min_qty": 0,
    "min_sale_qty": 1,
    "max_sale_qty": 10000,
    "backorders": 0,
    "notify_stock_qty": 1,
    "qty_increments": 0,
    "enable_qty_increments": False,
    "manage_stock": True,
}
# value field → its `use_config_*` flag
CONFIG_FLAGS = {
    "min_qty": "use_config_min_qty",
    "min_sale_qty": "use_config_min_sale_qty",
    "max_sale_qty": "use_config_max_sale_qty",
    "backorders": "use_config_backorders",
    "notify_stock_qty": "use_config_notify_stock_qty",
    "qty_increments": "use_config_qty_increments",
    "enable_qty_increments": "use_config_enable_qty_inc",
    "manage_stock": "use_config_manage_stock",
}

_QUANTITY = {"max_digits": 12, "decimal_places": 4}

STOCK_ITEM = Obj(
    "StockItem",
    {
        # Identifiers and computed values: accepted (clients send back what they
        # read) and ignored, as Magento recomputes them.
        "item_id": Int(),
        "product_id": Int(),
        "stock_id": Int(),
        "website_id": Int(),
        "low_stock_date": AnyValue(nullable=True),
        "stock_status_changed_auto": Int(),
        "qty": Number(nullable=True, **_QUANTITY),
        "is_in_stock": Bool(),
        "is_qty_decimal": Bool(),
        "show_default_notification_message": Bool(),
        "use_config_min_qty": Bool(),
        "min_qty": Number(**_QUANTITY),
        "use_config_min_sale_qty": Bool(help_text="1 or 0 (Magento answers an integer)"),
        "min_sale_qty": Number(min_value=0, **_QUANTITY),
        "use_config_max_sale_qty": Bool(),
        "max_sale_qty": Number(min_value=0, **_QUANTITY),
        "use_config_backorders": Bool(),
        "backorders": Int(choices=(0, 1, 2), help_text="0 no, 1 allow, 2 allow and notify"),
        "use_config_notify_stock_qty": Bool(),
        "notify_stock_qty": Number(**_QUANTITY),
        "use_config_qty_increments": Bool(),
        "qty_increments": Number(min_value=0, **_QUANTITY),
        "use_config_enable_qty_inc": Bool(),
        "enable_qty_increments": Bool(),
        "use_config_manage_stock": Bool(),
        "manage_stock": Bool(),
        "is_decimal_divided": Bool(),
        "extension_attributes": AnyObject(),
    },
    class_name="Magento\\CatalogInventory\\Api\\Data\\StockItemInterface",
)
# Fields a client writes; the others of STOCK_ITEM are ignored on save.
STOCK_ITEM_WRITABLE = tuple(
    k
    for k in STOCK_ITEM.fields
    if k
    not in {
        "item_id",
        "product_id",
        "stock_id",
        "website_id",
        "low_stock_date",
        "stock_status_changed_auto",
        "extension_attributes",
    }
)


class StockItemRequest(RequestSerializer):
    """`{"stockItem": {...}}` for PUT /V1/products/:productSku/stockItems/:itemId."""

    spec = Obj(
        "StockItemBody",
        {"stockItem": STOCK_ITEM.but(required=True), "productSku": Str(), "itemId": Str()},
        strict=False,
    )

    def check_params(self, data: dict[str, Any], params: Mapping[str, str]) -> None:
        # A bulk item names its product in the body (`byProductSku`).
        if not (params.get("productSku") or data.get("productSku")):
            raise Invalid(REQUIRED, {"fieldName": "productSku"}, ("productSku",))


# -- MSI source items -------------------------------------------------------------------

VALIDATION_FAILED = "Validation Failed: "
NOT_EMPTY = '"%field" can not be empty.'
NO_WHITESPACE = '"%field" can not contain whitespaces.'
NUMERIC = '"%field" should be numeric.'
KNOWN_STATUS = '"%field" should a known status.'
_WHITESPACE = re.compile(r"\s")


def validation_failed(message: str, parameters: Mapping[str, Any]) -> Invalid:
    """Return Magento's `ValidationException` for a source item: "Validation Failed: " and
    the first validator's message (Inventory 2.4's SourceItemsSaveHandler)."""
    return Invalid(VALIDATION_FAILED + message, dict(parameters))


def _check_source_item(item: dict[str, Any]) -> None:
    """Magento's source item validators, in their order (sku, source code, quantity, status)."""
    if not str(item.get("sku") or "").strip():
        raise validation_failed(NOT_EMPTY, {"field": "sku"})
    code = str(item.get("source_code") or "")
    if not code.strip():
        raise validation_failed(NOT_EMPTY, {"field": "source_code"})
    if _WHITESPACE.search(code):
        raise validation_failed(NO_WHITESPACE, {"field": "source_code"})
    if item.get("quantity") is None:
        raise validation_failed(NUMERIC, {"field": "quantity"})
    if item.get("status") is None:
        raise validation_failed(NUMERIC, {"field": "status"})
    if item["status"] not in (0, 1):
        raise validation_failed(KNOWN_STATUS, {"field": "status"})


SOURCE_ITEM_KEY = Obj(
    "SourceItemKey",
    {
        "sku": Str(max_length=64),
        "source_code": Str(max_length=255),
        "quantity": Number(**_QUANTITY),
        "status": Int(),
        "extension_attributes": AnyObject(),
    },
    class_name="Magento\\InventoryApi\\Api\\Data\\SourceItemInterface",
)
SOURCE_ITEM = cast(Obj, SOURCE_ITEM_KEY.but(name="SourceItem", validate=_check_source_item))


class SourceItemsRequest(RequestSerializer):
    """`{"sourceItems": [...]}` for POST /V1/inventory/source-items."""

    spec = Obj("SourceItemsBody", {"sourceItems": ListOf(SOURCE_ITEM, required=True)}, strict=False)


class SourceItemsDeleteRequest(RequestSerializer):
    """`{"sourceItems": [...]}` for POST /V1/inventory/source-items-delete (sku and
    source_code identify each item; quantity and status are ignored)."""

    spec = Obj(
        "SourceItemsDeleteBody",
        {"sourceItems": ListOf(SOURCE_ITEM_KEY, required=True)},
        strict=False,
    )


# -- answers ----------------------------------------------------------------------------


def effective(item: StockItem, field: str) -> Any:
    """Return a stock item's value as Magento's getter gives it: the configured default
    while its `use_config_*` flag is set, else the item's own."""
    if getattr(item, CONFIG_FLAGS[field]):
        return CONFIG[field]
    return getattr(item, field)


def _number(value: Any) -> Any:
    return None if value is None else decimal_out(value)


def render_stock_item(item: StockItem) -> dict[str, Any]:
    """Return Magento's StockItemInterface answer."""
    return {
        "item_id": item.item_id,
        "product_id": item.product_id,
        "stock_id": item.stock_id,
        "qty": _number(item.qty),
        "is_in_stock": item.is_in_stock,
        "is_qty_decimal": item.is_qty_decimal,
        "show_default_notification_message": item.show_default_notification_message,
        "use_config_min_qty": item.use_config_min_qty,
        "min_qty": _number(effective(item, "min_qty")),
        "use_config_min_sale_qty": int(item.use_config_min_sale_qty),
        "min_sale_qty": _number(effective(item, "min_sale_qty")),
        "use_config_max_sale_qty": item.use_config_max_sale_qty,
        "max_sale_qty": _number(effective(item, "max_sale_qty")),
        "use_config_backorders": item.use_config_backorders,
        "backorders": int(effective(item, "backorders")),
        "use_config_notify_stock_qty": item.use_config_notify_stock_qty,
        "notify_stock_qty": _number(effective(item, "notify_stock_qty")),
        "use_config_qty_increments": item.use_config_qty_increments,
        "qty_increments": _number(effective(item, "qty_increments")),
        "use_config_enable_qty_inc": item.use_config_enable_qty_inc,
        "enable_qty_increments": bool(effective(item, "enable_qty_increments")),
        "use_config_manage_stock": item.use_config_manage_stock,
        "manage_stock": bool(effective(item, "manage_stock")),
        "low_stock_date": timestamp(item.low_stock_date),
        "is_decimal_divided": item.is_decimal_divided,
        "stock_status_changed_auto": int(item.stock_status_changed_auto),
    }


def render_stock_status(item: StockItem) -> dict[str, Any]:
    """Return Magento's StockStatusInterface answer (the default stock, website 0)."""
    in_stock = item.is_in_stock or not effective(item, "manage_stock")
    return {
        "product_id": item.product_id,
        "website_id": 0,
        "stock_id": item.stock_id,
        "qty": _number(item.qty),
        "stock_status": int(in_stock),
        "stock_item": render_stock_item(item),
    }


_SOURCE_ALWAYS = (
    "source_code",
    "name",
    "enabled",
    "description",
    "latitude",
    "longitude",
    "country_id",
    "postcode",
)
_SOURCE_OPTIONAL = (
    "contact_name",
    "email",
    "region_id",
    "region",
    "city",
    "street",
    "phone",
    "fax",
)


def render_source(source: Source) -> dict[str, Any]:
    """Return Magento's SourceInterface answer (nulls left out, as Magento leaves them)."""
    answer: dict[str, Any] = {}
    for field in (*_SOURCE_ALWAYS, *_SOURCE_OPTIONAL):
        value = getattr(source, field)
        if value is None:
            continue
        if field in ("latitude", "longitude"):
            value = decimal_out(value)
        answer[field] = value
    answer["use_default_carrier_config"] = source.use_default_carrier_config
    answer["carrier_links"] = []
    return answer


def render_source_item(item: SourceItem, sku: str) -> dict[str, Any]:
    """Return Magento's SourceItemInterface answer."""
    return {
        "sku": sku,
        "source_code": item.source_id,
        "quantity": decimal_out(item.quantity),
        "status": int(item.status),
    }
