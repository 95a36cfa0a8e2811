"""The price APIs ERPs use for mass price updates (Magento's "efficient price API").

`BasePriceStorage`, `SpecialPriceStorage`, `TierPriceStorage` and `CostStorage`
follow Magento's `Api/*StorageInterface`: a write takes a list of prices, checks
each one, applies the valid ones and returns the failed ones as
`PriceUpdateResultInterface` answers (`{"message", "parameters"}`), with
Magento's own messages; `get(skus)` answers the prices of the valid SKUs and
silently leaves the others out.

Where the values live (so that the product API reads the same values):
- base price: `Product.price` (store 0); in website price scope a store view's
  own price is a `ProductStoreValue` (`price`);
- special price and its dates: the `special_price`, `special_from_date` and
  `special_to_date` attributes, in `Product.custom_attributes` for store 0 and in
  `ProductStoreValue` rows for a store view (Magento's EAV values);
- cost: the `cost` attribute, the same way;
- tier prices: `TierPrice` rows.

Price scope follows Magento's `catalog/price/scope`: the setting
`CATALOG_PRICE_SCOPE` (0 global, Magento's default; 1 website). Global: base
prices are stored for store 0 whatever `store_id` says, special prices only for
store 0 and tier prices only for website 0 (others are failed items). Website:
a base price set in a store view applies to every store view of its website.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from catalog.models import (
    ALL_GROUPS,
    ALL_WEBSITES_ID,
    CUSTOMER_GROUPS,
    Product,
    ProductStoreValue,
    TierPrice,
)
from catalog.serializers.prices import (
    BASE_PRICE,
    COST,
    SPECIAL_PRICE,
    TIER_PRICE,
    failed_item,
)
from catalog.serializers.render import decimal_out
from catalog.services.base import writes
from store.models import ADMIN_STORE_ID, Store, Website
from webapi.exceptions import InputException

if TYPE_CHECKING:
    from catalog.serializers.fields import Obj
    from webapi.routes import CallContext

PRICE_SCOPE_GLOBAL, PRICE_SCOPE_WEBSITE = 0, 1

# Magento's messages (Catalog/Model/Product/Price/*Storage.php, Validation/*).
INVALID_FORMAT = "Invalid input data format. Expected an array of prices."
INVALID_ATTRIBUTE = "Invalid attribute %fieldName = %fieldValue."
STORE_NOT_FOUND = "Requested store is not found. Row ID: SKU = %SKU, Store ID: %storeId."
INVALID_COST = "Invalid attribute Cost = %cost. Row ID: SKU = %SKU, Store ID: %storeId."
_SPECIAL_ROW = "Row ID: SKU = %SKU, Store ID: %storeId, Price From: %priceFrom, Price To: %priceTo."
SPECIAL_NO_PRODUCT = (
    "The product that was requested doesn't exist. Verify the product and try again. "
    + _SPECIAL_ROW
)
SPECIAL_NOT_GLOBAL = "Could not change non global Price when price scope is global. " + _SPECIAL_ROW
SPECIAL_NO_STORE = "Requested store is not found. " + _SPECIAL_ROW
SPECIAL_INVALID_PRICE = "Invalid attribute Price = %price. " + _SPECIAL_ROW
# Magento names the date's label but quotes the Price To value, for either date.
SPECIAL_INVALID_DATE = "Invalid attribute %label = %priceTo. " + _SPECIAL_ROW
_TIER_ROW = (
    "Row ID: SKU = %SKU, Website ID: %websiteId, Customer Group: %customerGroup, Quantity: %qty."
)
TIER_INVALID_SKU = "Invalid attribute SKU = %SKU. " + _TIER_ROW
TIER_INVALID_PRICE = "Invalid attribute Price = %price. " + _TIER_ROW
TIER_INVALID_PRICE_TYPE = "Invalid attribute Price Type = %priceType. " + _TIER_ROW
TIER_INVALID_QUANTITY = "Invalid attribute Quantity = %qty. " + _TIER_ROW
TIER_INVALID_WEBSITE = "Invalid attribute Website ID = %websiteId. " + _TIER_ROW
TIER_DUPLICATE = (
    "We found a duplicate website, tier price, customer group and quantity: "
    "Customer Group = %customerGroup, Website ID = %websiteId, Quantity = %qty. " + _TIER_ROW
)
TIER_NO_GROUP = "No such entity with Customer Group = %customerGroup. " + _TIER_ROW

# The product types each API prices (Magento's `allowedProductTypes`); a SKU of another
# type is an invalid SKU, like an unknown one.
PRICED_TYPES = frozenset({"simple", "virtual", "bundle", "downloadable"})
COST_TYPES = frozenset({"simple", "virtual", "downloadable"})
# Types whose quantities may be fractional (Magento's `canUseQtyDecimals`).
DECIMAL_QTY_TYPES = frozenset({"simple", "virtual", "downloadable"})
FIXED, DISCOUNT = "fixed", "discount"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

SPECIAL_CODE, SPECIAL_FROM, SPECIAL_TO, COST_CODE, PRICE_CODE = (
    "special_price",
    "special_from_date",
    "special_to_date",
    "cost",
    "price",
)


def price_scope() -> int:
    """Return Magento's `catalog/price/scope`: 0 global (the default), 1 website."""
    return int(getattr(settings, "CATALOG_PRICE_SCOPE", PRICE_SCOPE_GLOBAL))


# --- Magento's phrase rendering and validation result ------------------------------------


def php_string(value: Any) -> str:
    """Return `value` as PHP prints it into a message (null is empty, 10.0 is "10")."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, Decimal | float):
        return str(decimal_out(value))
    return str(value)


def render_phrase(template: str, arguments: Mapping[str, Any]) -> str:
    """Return `template` with `%key` placeholders replaced, as Magento's `__()` (PHP strtr).

    Longer keys win over their prefixes (`%SKU` and `%S`), and replaced text is
    never replaced again.
    """
    if not arguments:
        return template
    pairs = {f"%{key}": php_string(value) for key, value in arguments.items()}
    pattern = re.compile("|".join(re.escape(k) for k in sorted(pairs, key=len, reverse=True)))
    return pattern.sub(lambda m: pairs[m.group(0)], template)


class ValidationResult:
    """Magento's `Validation\\Result`: the failed rows and their messages, in order."""

    def __init__(self) -> None:
        self._failed: dict[int, list[dict[str, Any]]] = {}

    def add(
        self,
        row: int,
        template: str,
        parameters: Mapping[str, Any],
        *,
        rendered: bool = False,
    ) -> None:
        """Record a failure of `row`. `rendered`: the message shows the values (Magento
        renders some messages with their parameters, leaves others as templates)."""
        message = render_phrase(template, parameters) if rendered else template
        values = [None if v is None else php_string(v) for v in parameters.values()]
        self._failed.setdefault(row, []).append(failed_item(message, values))

    @property
    def failed_rows(self) -> set[int]:
        return set(self._failed)

    def failed_items(self) -> list[dict[str, Any]]:
        return [item for items in self._failed.values() for item in items]


# --- shared look-ups -----------------------------------------------------------------------


def _clean_prices(spec: Obj, prices: Any) -> list[dict[str, Any]]:
    """Return the cleaned price list (the route's serializer has already done this)."""
    if not isinstance(prices, list | tuple):
        raise InputException(INVALID_FORMAT)
    return [spec.clean(price, "prices") for price in prices]


def _products(
    skus: Iterable[Any], allowed: frozenset[str], *, lock: bool = False
) -> dict[str, Product]:
    """Return the products of these SKUs whose type the API prices, by SKU."""
    wanted = {s for s in skus if isinstance(s, str) and s}
    if not wanted:
        return {}
    queryset = Product.objects.filter(sku__in=wanted, type_id__in=allowed).order_by("id")
    if lock:
        queryset = queryset.select_for_update()
    return {p.sku: p for p in queryset}


def _existing_stores(store_ids: Iterable[Any]) -> dict[int, Store]:
    wanted = {s for s in store_ids if isinstance(s, int)}
    return {s.pk: s for s in Store.objects.filter(id__in=wanted)} if wanted else {}


def _valid_skus(skus: Any, allowed: frozenset[str]) -> dict[str, Product]:
    if not isinstance(skus, list | tuple):
        raise InputException(INVALID_FORMAT)
    return _products(skus, allowed)


def _custom_value(product: Product, code: str) -> Any:
    for attribute in product.custom_attributes or ():
        if isinstance(attribute, dict) and attribute.get("attribute_code") == code:
            return attribute.get("value")
    return None


def _as_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def decimal_text(value: Decimal) -> str:
    """Return a decimal attribute's stored text, as Magento's `decimal(20,6)` (`5.000000`)."""
    return f"{value.quantize(Decimal('0.000001')):f}"


class _AttributeValues:
    """Store-scoped attribute values of some products, written as Magento's EAV rows.

    Store 0's value is the product's own custom attribute; a store view's value a
    `ProductStoreValue` row. Changes are collected and written in a few queries.
    """

    def __init__(self, products: Iterable[Product]) -> None:
        self.products = {p.pk: p for p in products}
        self._changed: set[int] = set()
        self._upserts: dict[tuple[int, int, str], str] = {}
        self._deletes: set[tuple[int, int, str]] = set()

    def set(self, product: Product, store_id: int, code: str, value: str) -> None:
        if store_id == ADMIN_STORE_ID:
            attributes = [
                a
                for a in (product.custom_attributes or [])
                if not (isinstance(a, dict) and a.get("attribute_code") == code)
            ]
            attributes.append({"attribute_code": code, "value": value})
            product.custom_attributes = attributes
        else:
            self._deletes.discard((product.pk, store_id, code))
            self._upserts[(product.pk, store_id, code)] = value
        self._changed.add(product.pk)  # saved, or at least its updated_at

    def delete(self, product: Product, store_id: int | None, code: str) -> None:
        """Delete the value in one store, or in every store (`store_id` None)."""
        if store_id is None or store_id == ADMIN_STORE_ID:
            before = product.custom_attributes or []
            after = [
                a for a in before if not (isinstance(a, dict) and a.get("attribute_code") == code)
            ]
            if len(after) != len(before):
                product.custom_attributes = after
        if store_id is None:
            self._deletes.add((product.pk, -1, code))
        elif store_id != ADMIN_STORE_ID:
            self._upserts.pop((product.pk, store_id, code), None)
            self._deletes.add((product.pk, store_id, code))
        self._changed.add(product.pk)  # its updated_at

    def save(self, *, touch: Iterable[int] = ()) -> None:
        now = timezone.now()
        changed = self._changed | set(touch)
        if changed:
            rows = [self.products[pk] for pk in sorted(changed)]
            for product in rows:
                product.updated_at = now
            Product.objects.bulk_update(rows, ["custom_attributes", "price", "updated_at"])
        if self._deletes:
            condition = Q()
            for product_id, store_id, code in self._deletes:
                row = Q(product_id=product_id, attribute_code=code)
                if store_id != -1:
                    row &= Q(store_id=store_id)
                condition |= row
            ProductStoreValue.objects.filter(condition).delete()
        if self._upserts:
            ProductStoreValue.objects.bulk_create(
                [
                    ProductStoreValue(
                        product_id=product_id, store_id=store_id, attribute_code=code, value=value
                    )
                    for (product_id, store_id, code), value in sorted(self._upserts.items())
                ],
                update_conflicts=True,
                unique_fields=["product", "store", "attribute_code"],
                update_fields=["value"],
            )


def _store_values(
    products: Iterable[Product], codes: Sequence[str]
) -> dict[int, dict[int, dict[str, str]]]:
    """Return {product id: {store id: {code: value}}} of the store views' own values."""
    values: dict[int, dict[int, dict[str, str]]] = {}
    rows = ProductStoreValue.objects.filter(
        product__in=[p.pk for p in products], attribute_code__in=codes
    ).order_by("product_id", "store_id")
    for product_id, store_id, code, value in rows.values_list(
        "product_id", "store_id", "attribute_code", "value"
    ):
        values.setdefault(product_id, {}).setdefault(store_id, {})[code] = value
    return values


# --- base prices ---------------------------------------------------------------------------


class BasePriceStorage:
    """Base prices (`catalog.services.BasePriceStorage`, Magento's BasePriceStorageInterface)."""

    @classmethod
    def get(cls, ctx: CallContext, skus: Any) -> list[dict[str, Any]]:
        """Return the base prices of these SKUs, one per store that has one."""
        products = _valid_skus(skus, PRICED_TYPES)
        own = _store_values(products.values(), [PRICE_CODE])
        answer: list[dict[str, Any]] = []
        for product in products.values():
            if product.price is not None:
                answer.append(
                    {"price": decimal_out(product.price), "store_id": 0, "sku": product.sku}
                )
            for store_id, values in own.get(product.pk, {}).items():
                price = _as_decimal(values.get(PRICE_CODE))
                if price is not None:
                    answer.append(
                        {"price": decimal_out(price), "store_id": store_id, "sku": product.sku}
                    )
        return answer

    @classmethod
    @writes
    def update(cls, ctx: CallContext, prices: Any) -> list[dict[str, Any]]:
        """Set the base prices; return the failed items (the others are applied)."""
        prices = _clean_prices(BASE_PRICE, prices)
        products = _products((p.get("sku") for p in prices), PRICED_TYPES, lock=True)
        stores = _existing_stores(p.get("store_id") for p in prices)
        result = ValidationResult()
        for row, item in enumerate(prices):
            sku, price, store_id = item.get("sku"), item.get("price"), item.get("store_id")
            if not sku or sku not in products:
                result.add(row, INVALID_ATTRIBUTE, {"fieldName": "SKU", "fieldValue": sku})
            if price is None or price < 0:
                result.add(row, INVALID_ATTRIBUTE, {"fieldName": "Price", "fieldValue": price})
            if store_id not in stores:
                result.add(row, STORE_NOT_FOUND, {"SKU": sku, "storeId": store_id}, rendered=True)
        values = _AttributeValues(products.values())
        touched: set[int] = set()
        website_scope = price_scope() == PRICE_SCOPE_WEBSITE
        siblings: dict[int, list[int]] = {}
        for row, item in enumerate(prices):
            if row in result.failed_rows:
                continue
            product, store_id = products[item["sku"]], item["store_id"]
            if not website_scope or store_id == ADMIN_STORE_ID:
                product.price = item["price"]
                touched.add(product.pk)
                continue
            website_id = stores[store_id].website_id
            if website_id not in siblings:
                siblings[website_id] = list(
                    Store.objects.filter(website_id=website_id).values_list("id", flat=True)
                )
            for sibling in siblings[website_id]:
                values.set(product, sibling, PRICE_CODE, decimal_text(item["price"]))
            touched.add(product.pk)
        values.save(touch=touched)
        return result.failed_items()


# --- special prices ------------------------------------------------------------------------


def _is_date(value: str) -> bool:
    """Magento's `isCorrectDateValue`: exactly `Y-m-d H:i:s`, and a real date."""
    try:
        return dt.datetime.strptime(value, DATE_FORMAT).strftime(DATE_FORMAT) == value
    except (TypeError, ValueError):
        return False


class SpecialPriceStorage:
    """Special prices (`catalog.services.SpecialPriceStorage`, SpecialPriceStorageInterface).

    One special price per product and store view, with optional from/to dates
    (Magento Open Source's model; Adobe Commerce's scheduled updates are not kept).
    """

    @classmethod
    def get(cls, ctx: CallContext, skus: Any) -> list[dict[str, Any]]:
        """Return the special prices of these SKUs, one per store that has one."""
        products = _valid_skus(skus, PRICED_TYPES)
        own = _store_values(products.values(), [SPECIAL_CODE, SPECIAL_FROM, SPECIAL_TO])
        answer: list[dict[str, Any]] = []
        for product in products.values():
            rows = [
                (
                    ADMIN_STORE_ID,
                    {
                        c: _custom_value(product, c)
                        for c in (SPECIAL_CODE, SPECIAL_FROM, SPECIAL_TO)
                    },
                ),
                *own.get(product.pk, {}).items(),
            ]
            for store_id, values in rows:
                price = _as_decimal(values.get(SPECIAL_CODE))
                if price is None:
                    continue
                entry: dict[str, Any] = {
                    "price": decimal_out(price),
                    "store_id": store_id,
                    "sku": product.sku,
                }
                if values.get(SPECIAL_FROM):
                    entry["price_from"] = str(values[SPECIAL_FROM])
                if values.get(SPECIAL_TO):
                    entry["price_to"] = str(values[SPECIAL_TO])
                answer.append(entry)
        return answer

    @classmethod
    @writes
    def update(cls, ctx: CallContext, prices: Any) -> list[dict[str, Any]]:
        """Set the special prices (and the dates given); return the failed items."""
        prices, products, result = cls._validate(prices)
        values = _AttributeValues(products.values())
        for row, item in enumerate(prices):
            if row in result.failed_rows:
                continue
            product, store_id = products[item["sku"]], item["store_id"]
            values.set(product, store_id, SPECIAL_CODE, decimal_text(item["price"]))
            # As Magento: a date left out keeps the stored one.
            if item.get("price_from"):
                values.set(product, store_id, SPECIAL_FROM, item["price_from"])
            if item.get("price_to"):
                values.set(product, store_id, SPECIAL_TO, item["price_to"])
        values.save()
        return result.failed_items()

    @classmethod
    @writes
    def delete(cls, ctx: CallContext, prices: Any) -> list[dict[str, Any]]:
        """Delete the special price (and its dates) of each valid item's product and store."""
        prices, products, result = cls._validate(prices)
        values = _AttributeValues(products.values())
        for row, item in enumerate(prices):
            if row in result.failed_rows:
                continue
            product, store_id = products[item["sku"]], item["store_id"]
            for code in (SPECIAL_CODE, SPECIAL_FROM, SPECIAL_TO):
                values.delete(product, store_id, code)
        values.save()
        return result.failed_items()

    @classmethod
    def _validate(
        cls, prices: Any
    ) -> tuple[list[dict[str, Any]], dict[str, Product], ValidationResult]:
        prices = _clean_prices(SPECIAL_PRICE, prices)
        products = _products((p.get("sku") for p in prices), PRICED_TYPES, lock=True)
        stores = _existing_stores(p.get("store_id") for p in prices)
        is_global = price_scope() == PRICE_SCOPE_GLOBAL
        result = ValidationResult()
        for row, item in enumerate(prices):
            sku, store_id = item.get("sku"), item.get("store_id")
            row_info = {
                "SKU": sku,
                "storeId": store_id,
                "priceFrom": item.get("price_from"),
                "priceTo": item.get("price_to"),
            }

            def fail(template: str, first: Mapping[str, Any] | None = None) -> None:
                result.add(row, template, {**(first or {}), **row_info}, rendered=True)  # noqa: B023

            if not sku or sku not in products:
                fail(SPECIAL_NO_PRODUCT)
            if is_global and store_id != ADMIN_STORE_ID:
                fail(SPECIAL_NOT_GLOBAL)
            if store_id not in stores:
                fail(SPECIAL_NO_STORE)
            price = item.get("price")
            if price is None or price < 0:
                fail(SPECIAL_INVALID_PRICE, {"price": price})
            for label, key in (("Price From", "price_from"), ("Price To", "price_to")):
                if item.get(key) and not _is_date(item[key]):
                    fail(SPECIAL_INVALID_DATE, {"label": label})
        return prices, products, result


# --- tier prices ---------------------------------------------------------------------------


def _group_ids() -> dict[str, int]:
    """Return {lower-cased customer group code: id} (codes match case-insensitively)."""
    return {code.lower(): group_id for group_id, code in CUSTOMER_GROUPS.items()}


def _is_all_groups(group: Any) -> bool:
    return isinstance(group, str) and group.lower() == ALL_GROUPS


def _row_info(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "SKU": item.get("sku"),
        "websiteId": item.get("website_id"),
        "customerGroup": item.get("customer_group"),
        "qty": item.get("quantity"),
    }


def render_tier_price(price: TierPrice, sku: str) -> dict[str, Any]:
    """Return Magento's `TierPriceInterface` answer for a stored tier price."""
    discount = price.percentage_value is not None
    group = (
        ALL_GROUPS
        if price.all_groups
        else CUSTOMER_GROUPS.get(price.customer_group_id, str(price.customer_group_id))
    )
    return {
        "price": decimal_out(price.percentage_value if discount else price.value),  # type: ignore[arg-type]
        "price_type": DISCOUNT if discount else FIXED,
        "website_id": price.website_id,
        "sku": sku,
        "customer_group": group,
        "quantity": decimal_out(price.qty),
    }


class TierPriceStorage:
    """Tier prices (`catalog.services.TierPriceStorage`, Magento's TierPriceStorageInterface)."""

    @classmethod
    def get(cls, ctx: CallContext, skus: Any) -> list[dict[str, Any]]:
        """Return every tier price of these SKUs."""
        products = _valid_skus(skus, PRICED_TYPES)
        by_id = {p.pk: p.sku for p in products.values()}
        rows = TierPrice.objects.filter(product_id__in=by_id).order_by("product_id", "id")
        return [render_tier_price(row, by_id[row.product_id]) for row in rows]

    @classmethod
    @writes
    def update(cls, ctx: CallContext, prices: Any) -> list[dict[str, Any]]:
        """Add or update tier prices; return the failed items (the others are applied).

        A new price for website 0 clashes with a stored one for another website with
        the same group and quantity (and the other way round), as in Magento.
        """
        prices, products, result = cls._validate(prices, check_existing=True)
        rows = cls._rows(prices, products, result)
        TierPrice.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["product", "all_groups", "customer_group_id", "qty", "website"],
            update_fields=["value", "percentage_value"],
        )
        _touch({row.product_id for row in rows})
        return result.failed_items()

    @classmethod
    @writes
    def replace(cls, ctx: CallContext, prices: Any) -> list[dict[str, Any]]:
        """Replace all tier prices of the products of the valid items by those items."""
        prices, products, result = cls._validate(prices)
        rows = cls._rows(prices, products, result)
        affected = {row.product_id for row in rows}
        TierPrice.objects.filter(product_id__in=affected).delete()
        TierPrice.objects.bulk_create(rows)
        _touch(affected)
        return result.failed_items()

    @classmethod
    @writes
    def delete(cls, ctx: CallContext, prices: Any) -> list[dict[str, Any]]:
        """Delete the stored tier prices equal to the valid items (price included)."""
        prices, products, result = cls._validate(prices)
        wanted = cls._rows(prices, products, result)
        if wanted:
            condition = Q()
            for row in wanted:
                match = Q(
                    product_id=row.product_id,
                    website_id=row.website_id,
                    all_groups=row.all_groups,
                    customer_group_id=row.customer_group_id,
                    qty=row.qty,
                )
                if row.percentage_value is not None:
                    match &= Q(percentage_value=row.percentage_value)
                else:
                    match &= Q(value=row.value, percentage_value__isnull=True)
                condition |= match
            TierPrice.objects.filter(condition).delete()
            _touch({row.product_id for row in wanted})
        return result.failed_items()

    @classmethod
    def _rows(
        cls,
        prices: list[dict[str, Any]],
        products: dict[str, Product],
        result: ValidationResult,
    ) -> list[TierPrice]:
        """Return the valid items as unsaved rows (a later duplicate replaces an earlier one)."""
        groups = _group_ids()
        rows: dict[tuple[Any, ...], TierPrice] = {}
        for row, item in enumerate(prices):
            if row in result.failed_rows:
                continue
            all_groups = _is_all_groups(item["customer_group"])
            discount = item["price_type"] == DISCOUNT
            tier = TierPrice(
                product_id=products[item["sku"]].pk,
                website_id=item["website_id"],
                all_groups=all_groups,
                customer_group_id=0 if all_groups else groups[item["customer_group"].lower()],
                qty=item["quantity"],
                value=Decimal(0) if discount else item["price"],
                percentage_value=item["price"] if discount else None,
            )
            key = (tier.product_id, all_groups, tier.customer_group_id, tier.qty, tier.website_id)
            rows[key] = tier
        return list(rows.values())

    @classmethod
    def _validate(
        cls, prices: Any, *, check_existing: bool = False
    ) -> tuple[list[dict[str, Any]], dict[str, Product], ValidationResult]:
        """Check every item as Magento's TierPriceValidator, in its order of checks."""
        prices = _clean_prices(TIER_PRICE, prices)
        products = _products((p.get("sku") for p in prices), PRICED_TYPES, lock=True)
        websites = set(
            Website.objects.filter(
                id__in={p.get("website_id") for p in prices if p.get("website_id") is not None}
            ).values_list("id", flat=True)
        )
        is_global = price_scope() == PRICE_SCOPE_GLOBAL
        groups = _group_ids()
        existing: dict[str, list[dict[str, Any]]] = {}
        if check_existing and products:
            by_id = {p.pk: p.sku for p in products.values()}
            for stored in TierPrice.objects.filter(product_id__in=by_id):
                sku = by_id[stored.product_id]
                existing.setdefault(sku, []).append(render_tier_price(stored, sku))
        by_sku: dict[Any, list[int]] = {}
        for row, item in enumerate(prices):
            by_sku.setdefault(item.get("sku"), []).append(row)
        result = ValidationResult()
        for row, item in enumerate(prices):
            sku, price, price_type = item.get("sku"), item.get("price"), item.get("price_type")
            info = _row_info(item)
            product = products.get(sku) if isinstance(sku, str) else None
            if product is None:
                result.add(row, TIER_INVALID_SKU, info)
            if price is None or price < 0 or (price_type == DISCOUNT and price > 100):
                result.add(row, TIER_INVALID_PRICE, {"price": price, **info})
            if price_type not in (FIXED, DISCOUNT) or (
                product is not None and product.type_id == "bundle" and price_type != DISCOUNT
            ):
                result.add(row, TIER_INVALID_PRICE_TYPE, {"priceType": price_type, **info})
            quantity = item.get("quantity")
            if product is not None and (
                quantity is None
                or quantity <= 0
                or (quantity < 1 and product.type_id not in DECIMAL_QTY_TYPES)
            ):
                result.add(row, TIER_INVALID_QUANTITY, info)
            website_id = item.get("website_id")
            if website_id not in websites or (is_global and website_id != ALL_WEBSITES_ID):
                result.add(row, TIER_INVALID_WEBSITE, info)
            for other in by_sku.get(sku, ()):
                if other != row and _same_tier(prices[other], item, new=True):
                    result.add(row, TIER_DUPLICATE, _row_info(prices[other]))
            if isinstance(sku, str):
                for stored_price in existing.get(sku, ()):
                    if _same_tier(stored_price, item, new=False):
                        result.add(row, TIER_DUPLICATE, _row_info(stored_price))
            group = item.get("customer_group")
            if not _is_all_groups(group) and (
                not isinstance(group, str) or group.lower() not in groups
            ):
                result.add(row, TIER_NO_GROUP, info)
        return prices, products, result


def _same_tier(other: Mapping[str, Any], item: Mapping[str, Any], *, new: bool) -> bool:
    """Magento's `checkUnique`: same group (any case) and quantity, clashing websites.

    Two new prices clash on the same website, or when one is for website 0 (all
    websites share one base currency here); a new and a stored one only when one of
    them is for website 0 and the other is not (the same website is an update).
    """
    group, other_group = item.get("customer_group"), other.get("customer_group")
    if not isinstance(group, str) or not isinstance(other_group, str):
        return False
    if group.lower() != other_group.lower():
        return False
    quantity, other_quantity = _as_decimal(item.get("quantity")), _as_decimal(other.get("quantity"))
    if quantity is None or quantity != other_quantity:
        return False
    website, other_website = item.get("website_id"), other.get("website_id")
    either_all = ALL_WEBSITES_ID in (website, other_website)
    if new:
        return either_all or website == other_website
    return either_all and website != other_website


def _touch(product_ids: Iterable[int]) -> None:
    ids = sorted(set(product_ids))
    if ids:
        Product.objects.filter(id__in=ids).update(updated_at=timezone.now())


# --- costs ---------------------------------------------------------------------------------


class CostStorage:
    """Product costs (`catalog.services.CostStorage`, Magento's CostStorageInterface)."""

    @classmethod
    def get(cls, ctx: CallContext, skus: Any) -> list[dict[str, Any]]:
        """Return the costs of these SKUs, one per store that has one."""
        products = _valid_skus(skus, COST_TYPES)
        own = _store_values(products.values(), [COST_CODE])
        answer: list[dict[str, Any]] = []
        for product in products.values():
            rows = [(ADMIN_STORE_ID, _custom_value(product, COST_CODE))]
            rows += [(s, v.get(COST_CODE)) for s, v in own.get(product.pk, {}).items()]
            for store_id, value in rows:
                cost = _as_decimal(value)
                if cost is not None:
                    answer.append(
                        {"cost": decimal_out(cost), "store_id": store_id, "sku": product.sku}
                    )
        return answer

    @classmethod
    @writes
    def update(cls, ctx: CallContext, prices: Any) -> list[dict[str, Any]]:
        """Set the costs; return the failed items (the others are applied)."""
        prices = _clean_prices(COST, prices)
        products = _products((p.get("sku") for p in prices), COST_TYPES, lock=True)
        stores = _existing_stores(p.get("store_id") for p in prices)
        result = ValidationResult()
        for row, item in enumerate(prices):
            sku, cost, store_id = item.get("sku"), item.get("cost"), item.get("store_id")
            if not sku or sku not in products:
                result.add(row, INVALID_ATTRIBUTE, {"fieldName": "SKU", "fieldValue": sku})
            if cost is None or cost < 0:
                result.add(
                    row,
                    INVALID_COST,
                    {"cost": cost, "SKU": sku, "storeId": store_id},
                    rendered=True,
                )
            if store_id not in stores:
                result.add(row, STORE_NOT_FOUND, {"SKU": sku, "storeId": store_id}, rendered=True)
        values = _AttributeValues(products.values())
        for row, item in enumerate(prices):
            if row not in result.failed_rows:
                product = products[item["sku"]]
                values.set(product, item["store_id"], COST_CODE, decimal_text(item["cost"]))
        values.save()
        return result.failed_items()

    @classmethod
    @writes
    def delete(cls, ctx: CallContext, skus: Any) -> bool:
        """Delete the costs of these SKUs in every store; unknown SKUs are skipped."""
        if not isinstance(skus, list | tuple):
            raise InputException(INVALID_FORMAT)
        products = _products(skus, COST_TYPES, lock=True)
        values = _AttributeValues(products.values())
        for product in products.values():
            values.delete(product, None, COST_CODE)
        values.save()
        return True
