"""The price APIs: request body specs and answer shapes (Magento's `Api/Data/*PriceInterface`).

Only the types are checked here, as Magento's request decoding checks them (a
wrong type refuses the whole request with 400). Everything else (unknown SKU,
negative price, unknown store or website, dates, duplicates) is a business rule
the service checks item by item: failed items are answered as
`PriceUpdateResultInterface` entries and the others applied.
"""

from __future__ import annotations

from typing import Any

from catalog.serializers.fields import Int, ListOf, Number, Obj, RequestSerializer, Str

_NS = "Magento\\Catalog\\Api\\Data\\"


def _extension(name: str) -> Obj:
    return Obj(f"{name}Extension", {}, class_name=f"{_NS}{name}ExtensionInterface")


# A null or missing value is kept as None: the service reports it per item, as Magento.
BASE_PRICE = Obj(
    "BasePrice",
    {
        "price": Number(nullable=True),
        "store_id": Int(nullable=True),
        "sku": Str(nullable=True),
        "extension_attributes": _extension("BasePrice"),
    },
    class_name=f"{_NS}BasePriceInterface",
)

SPECIAL_PRICE = Obj(
    "SpecialPrice",
    {
        "price": Number(nullable=True),
        "store_id": Int(nullable=True),
        "sku": Str(nullable=True),
        "price_from": Str(nullable=True, help_text="Y-m-d H:i:s"),
        "price_to": Str(nullable=True, help_text="Y-m-d H:i:s"),
        "extension_attributes": _extension("SpecialPrice"),
    },
    class_name=f"{_NS}SpecialPriceInterface",
)

TIER_PRICE = Obj(
    "TierPrice",
    {
        "price": Number(nullable=True),
        "price_type": Str(nullable=True, help_text="fixed or discount (a percentage)"),
        "website_id": Int(nullable=True, help_text="0: all websites"),
        "sku": Str(nullable=True),
        "customer_group": Str(nullable=True, help_text='A group code, or "ALL GROUPS"'),
        "quantity": Number(nullable=True, max_digits=12, decimal_places=4),
        "extension_attributes": _extension("TierPrice"),
    },
    class_name=f"{_NS}TierPriceInterface",
)

COST = Obj(
    "Cost",
    {
        "cost": Number(nullable=True),
        "store_id": Int(nullable=True),
        "sku": Str(nullable=True),
        "extension_attributes": _extension("Cost"),
    },
    class_name=f"{_NS}CostInterface",
)


def _prices(name: str, item: Obj) -> Obj:
    return Obj(name, {"prices": ListOf(item, required=True)}, strict=False)


BASE_PRICES_BODY = _prices("BasePricesBody", BASE_PRICE)
SPECIAL_PRICES_BODY = _prices("SpecialPricesBody", SPECIAL_PRICE)
TIER_PRICES_BODY = _prices("TierPricesBody", TIER_PRICE)
COSTS_BODY = _prices("CostsBody", COST)
SKUS_BODY = Obj("SkusBody", {"skus": ListOf(Str(), required=True)}, strict=False)


class BasePricesRequest(RequestSerializer):
    """`{"prices": [{"price", "store_id", "sku"}]}` for POST /V1/products/base-prices."""

    spec = BASE_PRICES_BODY


class SpecialPricesRequest(RequestSerializer):
    """`{"prices": [{"price", "store_id", "sku", "price_from", "price_to"}]}`."""

    spec = SPECIAL_PRICES_BODY


class TierPricesRequest(RequestSerializer):
    """`{"prices": [{"price", "price_type", "website_id", "sku", "customer_group",
    "quantity"}]}` for the tier price writes."""

    spec = TIER_PRICES_BODY


class CostsRequest(RequestSerializer):
    """`{"prices": [{"cost", "store_id", "sku"}]}` for POST /V1/products/cost(-delete)."""

    spec = COSTS_BODY


class SkusRequest(RequestSerializer):
    """`{"skus": [...]}` for the `-information` routes."""

    spec = SKUS_BODY


def failed_item(message: str, parameters: list[Any]) -> dict[str, Any]:
    """Return one `PriceUpdateResultInterface` answer."""
    return {"message": message, "parameters": parameters}
