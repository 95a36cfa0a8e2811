"""Products: the request body specs and the answer shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.models import PRODUCT_TYPES, Product, StockItem
from catalog.serializers.fields import (
    AnyValue,
    Int,
    Invalid,
    ListOf,
    Number,
    Obj,
    RequestSerializer,
    Str,
)
from catalog.serializers.inventory import STOCK_ITEM, render_stock_item
from catalog.serializers.render import decimal_out, timestamp

PRODUCT_CLASS = "Magento\\Catalog\\Api\\Data\\ProductInterface"
SKU_MISMATCH = (
    'The SKU in the URL ("%urlSku") and in the body ("%bodySku") differ. Send the same SKU in both.'
)
TYPE_ID_INVALID = 'Invalid value of "%value" provided for the %fieldName field.'


def _type_id(data: dict[str, Any]) -> None:
    type_id = data.get("type_id")
    if type_id is not None and type_id not in PRODUCT_TYPES:
        raise Invalid(TYPE_ID_INVALID, {"value": type_id, "fieldName": "type_id"}, ("type_id",))


CUSTOM_ATTRIBUTE = Obj(
    "CustomAttribute",
    {
        "attribute_code": Str(required=True, allow_blank=False, max_length=255),
        "value": AnyValue(nullable=True),
    },
    class_name="Magento\\Framework\\Api\\AttributeInterface",
)

CATEGORY_LINK = Obj(
    "ProductCategoryLink",
    {
        "category_id": Int(required=True, min_value=1),
        "position": Int(),
        "extension_attributes": Obj(
            "CategoryLinkExtension", {}, class_name="CategoryLinkExtensionInterface"
        ),
    },
    class_name="Magento\\Catalog\\Api\\Data\\CategoryLinkInterface",
)

PRODUCT_EXTENSION = Obj(
    "ProductExtension",
    {
        "website_ids": ListOf(Int(min_value=1)),
        "category_links": ListOf(CATEGORY_LINK),
        # Saved into the product's legacy stock item (and its `default` source item).
        "stock_item": STOCK_ITEM,
    },
    class_name="Magento\\Catalog\\Api\\Data\\ProductExtensionInterface",
)

PRODUCT = Obj(
    "Product",
    {
        "id": Int(min_value=1, help_text="Ignored: the SKU identifies the product."),
        "sku": Str(max_length=64, allow_blank=False),
        "name": Str(max_length=255),
        "attribute_set_id": Int(min_value=1),
        "price": Number(min_value=0, nullable=True),
        "status": Int(choices=(1, 2), help_text="1 enabled, 2 disabled"),
        "visibility": Int(
            choices=(1, 2, 3, 4), help_text="1 not visible, 2 catalog, 3 search, 4 both"
        ),
        "type_id": Str(max_length=32, help_text=", ".join(PRODUCT_TYPES)),
        "weight": Number(min_value=0, max_digits=12, decimal_places=4, nullable=True),
        "extension_attributes": PRODUCT_EXTENSION,
        "custom_attributes": ListOf(CUSTOM_ATTRIBUTE),
        # Not modelled here: accepted only empty, so that full Magento payloads pass.
        "product_links": ListOf(AnyValue(), max_items=0),
        "options": ListOf(AnyValue(), max_items=0),
        "media_gallery_entries": ListOf(AnyValue(), max_items=0),
        "tier_prices": ListOf(AnyValue(), max_items=0),
        # Read-only in answers; accepted and ignored so that a client may send back
        # what it read (GET, change, PUT), as Magento accepts them.
        "created_at": AnyValue(),
        "updated_at": AnyValue(),
    },
    class_name=PRODUCT_CLASS,
    validate=_type_id,
)


class ProductRequest(RequestSerializer):
    """`{"product": {...}, "saveOptions": bool?}` for POST /V1/products and
    PUT /V1/products/:sku."""

    spec = Obj(
        "ProductBody",
        {"product": PRODUCT.but(required=True), "sku": Str(), "saveOptions": AnyValue()},
        strict=False,
    )

    def check_params(self, data: dict[str, Any], params: Mapping[str, str]) -> None:
        url_sku = params.get("sku") or data.get("sku")
        body_sku = data["product"].get("sku")
        if url_sku is None and body_sku is None:
            raise Invalid(
                '"%fieldName" is required. Enter and try again.',
                {"fieldName": "sku"},
                ("product", "sku"),
            )
        if url_sku is not None and body_sku is not None and url_sku != body_sku:
            raise Invalid(
                SKU_MISMATCH, {"urlSku": url_sku, "bodySku": body_sku}, ("product", "sku")
            )


# System attributes Magento answers for every simple product, with the value a product
# created without them gets (Catalog's and Msrp's defaults). `url_key` and
# `category_ids` are not stored as custom attributes: see `system_attributes`.
DEFAULT_ATTRIBUTES = (
    ("options_container", "container2"),
    ("msrp_display_actual_price_type", "0"),
    ("required_options", "0"),
    ("has_options", "0"),
    ("tax_class_id", "2"),
)
# Codes a client writes as custom attributes that live elsewhere on the product.
URL_KEY, CATEGORY_IDS = "url_key", "category_ids"


def system_attributes(
    product: Product, category_links: list[tuple[int, int]]
) -> list[dict[str, Any]]:
    """Return the product's custom attributes as Magento answers them: its own, then the
    system ones it has no value of (defaults), its `url_key` and its `category_ids`
    (its category links, as strings)."""
    own = [a for a in product.custom_attributes or () if a["attribute_code"] != URL_KEY]
    codes = {a["attribute_code"] for a in own}
    answer = list(own)
    for code, default in DEFAULT_ATTRIBUTES:
        if code not in codes:
            answer.append({"attribute_code": code, "value": default})
    if product.url_key:
        answer.append({"attribute_code": URL_KEY, "value": product.url_key})
    answer.append(
        {"attribute_code": CATEGORY_IDS, "value": [str(c) for c, _position in category_links]}
    )
    return answer


def render_product(
    product: Product,
    *,
    name: str | None = None,
    category_links: list[tuple[int, int]] | None = None,
    stock_item: StockItem | None = None,
) -> dict[str, Any]:
    """Return Magento's product answer.

    `name` is the name in the caller's store (default: the product's default name);
    `category_links` the (category_id, position) pairs (default: none); `stock_item`
    the product's legacy stock item (default: `product.stock_item`, which callers
    rendering many products fetch with `select_related("stock_item")`). Nulls are left
    out, as Magento's output leaves them out.
    """
    links = category_links or []
    extension: dict[str, Any] = {
        "website_ids": list(product.website_ids or []),
        "category_links": [
            {"position": position, "category_id": str(category_id)}
            for category_id, position in links
        ],
    }
    if stock_item is None:
        # A product made outside the service layer (the Django admin) may have none
        # yet: it answers Magento's defaults until its stock is first saved.
        stock_item = getattr(product, "stock_item", None) or StockItem(product=product)
    extension["stock_item"] = render_stock_item(stock_item)
    answer: dict[str, Any] = {
        "id": product.pk,
        "sku": product.sku,
        "name": product.name if name is None else name,
        "attribute_set_id": product.attribute_set_id,
    }
    if product.price is not None:
        answer["price"] = decimal_out(product.price)
    answer["status"] = int(product.status)
    answer["visibility"] = int(product.visibility)
    answer["type_id"] = product.type_id
    answer["created_at"] = timestamp(product.created_at)
    answer["updated_at"] = timestamp(product.updated_at)
    if product.weight is not None:
        answer["weight"] = decimal_out(product.weight)
    answer["extension_attributes"] = extension
    answer["product_links"] = []
    answer["options"] = []
    answer["media_gallery_entries"] = []
    answer["tier_prices"] = []
    answer["custom_attributes"] = system_attributes(product, links)
    return answer
