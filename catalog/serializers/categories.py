"""Categories and category product links: request body specs and answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.models import Category
from catalog.serializers.fields import (
    REQUIRED,
    AnyValue,
    Bool,
    Int,
    Invalid,
    ListOf,
    Obj,
    RequestSerializer,
    Str,
)
from catalog.serializers.products import CUSTOM_ATTRIBUTE
from catalog.serializers.render import timestamp

CATEGORY = Obj(
    "Category",
    {
        "id": Int(min_value=1),
        "parent_id": Int(min_value=1, help_text="Default: 2, the default category."),
        "name": Str(max_length=255),
        "is_active": Bool(),
        "position": Int(min_value=0),
        "include_in_menu": Bool(),
        "custom_attributes": ListOf(CUSTOM_ATTRIBUTE),
        "extension_attributes": Obj(
            "CategoryExtension", {}, class_name="CategoryExtensionInterface"
        ),
        # Read-only in answers; accepted and ignored so that a client may send back
        # what it read.
        "level": AnyValue(),
        "children": AnyValue(),
        "children_count": AnyValue(),
        "path": AnyValue(),
        "created_at": AnyValue(),
        "updated_at": AnyValue(),
        "available_sort_by": AnyValue(),
    },
    class_name="Magento\\Catalog\\Api\\Data\\CategoryInterface",
)
READ_ONLY = (
    "level",
    "children",
    "children_count",
    "path",
    "created_at",
    "updated_at",
    "available_sort_by",
)

PRODUCT_LINK = Obj(
    "CategoryProductLink",
    {
        "sku": Str(required=True, allow_blank=False, max_length=64),
        "position": Int(),
        "category_id": Int(min_value=1),
        "extension_attributes": Obj(
            "CategoryProductLinkExtension", {}, class_name="CategoryProductLinkExtensionInterface"
        ),
    },
    class_name="Magento\\Catalog\\Api\\Data\\CategoryProductLinkInterface",
)


class CategoryRequest(RequestSerializer):
    """`{"category": {...}}` for POST /V1/categories and PUT /V1/categories/:categoryId."""

    spec = Obj(
        "CategoryBody",
        {"category": CATEGORY.but(required=True), "categoryId": Int(min_value=1)},
        strict=False,
    )


class ProductLinkRequest(RequestSerializer):
    """`{"productLink": {"sku", "position", "category_id"}}` for
    POST /V1/categories/:categoryId/products."""

    spec = Obj(
        "ProductLinkBody",
        {"productLink": PRODUCT_LINK.but(required=True), "categoryId": Int(min_value=1)},
        strict=False,
    )

    def check_params(self, data: dict[str, Any], params: Mapping[str, str]) -> None:
        link = data["productLink"]
        url_id = params.get("categoryId")
        if not (url_id or data.get("categoryId") or link.get("category_id")):
            raise Invalid(REQUIRED, {"fieldName": "category_id"}, ("productLink", "category_id"))
        if url_id:
            # The URL's id becomes the link's category_id: checked as that field is, so a
            # bulk item with an id no column holds is rejected when accepted.
            try:
                PRODUCT_LINK.fields["category_id"].check(url_id, "category_id")
            except Invalid as exc:
                raise exc.at("category_id").at("productLink") from None


def render_category(
    category: Category, *, children: list[int], children_count: int
) -> dict[str, Any]:
    """Return Magento's category answer (`children`: direct child ids, comma-separated)."""
    return {
        "id": category.pk,
        "parent_id": category.parent_id or 0,
        "name": category.name,
        "is_active": category.is_active,
        "position": category.position,
        "level": category.level,
        "children": ",".join(str(c) for c in children),
        "children_count": children_count,
        "created_at": timestamp(category.created_at),
        "updated_at": timestamp(category.updated_at),
        "path": category.path,
        "available_sort_by": [],
        "include_in_menu": category.include_in_menu,
        "extension_attributes": {},
        "custom_attributes": list(category.custom_attributes or []),
    }


def render_product_link(sku: str, position: int, category_id: int) -> dict[str, Any]:
    return {"sku": sku, "position": position, "category_id": str(category_id)}
