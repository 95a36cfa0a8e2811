"""Categories and their product links: Magento's `CategoryRepositoryInterface`,
`CategoryLinkManagementInterface` and `CategoryLinkRepositoryInterface`."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from django.db.models import Max, Q

from catalog.models import (
    DEFAULT_CATEGORY_ID,
    ROOT_CATEGORY_ID,
    Category,
    CategoryProduct,
    Product,
)
from catalog.serializers.categories import (
    CATEGORY,
    PRODUCT_LINK,
    render_category,
    render_product_link,
)
from catalog.services.base import (
    as_id,
    clean,
    merge_custom_attributes,
    no_such_entity,
    required,
    search,
    writes,
)
from catalog.services.products import PRODUCT_NOT_FOUND
from webapi.exceptions import InputException, NoSuchEntityException, StateException

if TYPE_CHECKING:
    from webapi.routes import CallContext

CANNOT_DELETE = "Cannot delete category with id %1"
CANNOT_MOVE = "Operation do not allow to move a parent category to any of children category"
NOT_IN_CATEGORY = "The category doesn't contain the specified product."
ATTRIBUTE_EMPTY = 'The "%1" attribute value is empty. Set the attribute and try again.'

SEARCH_FIELDS = {
    "id": "id",
    "entity_id": "id",
    "parent_id": "parent_id",
    "name": "name",
    "is_active": "is_active",
    "position": "position",
    "level": "level",
    "path": "path",
    "include_in_menu": "include_in_menu",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


def _get(category_id: Any, *, lock: bool = False) -> Category:
    pk = as_id(category_id, "id")
    queryset = Category.objects.select_for_update() if lock else Category.objects
    category = queryset.filter(pk=pk).first()
    if category is None:
        raise no_such_entity("id", category_id)
    return category


def render_categories(categories: list[Category]) -> list[dict[str, Any]]:
    """Render categories with their direct children and descendant counts (two queries)."""
    if not categories:
        return []
    ids = [c.pk for c in categories]
    children: dict[int, list[int]] = {}
    for parent_id, child_id in (
        Category.objects.filter(parent_id__in=ids)
        .order_by("position", "id")
        .values_list("parent_id", "id")
    ):
        children.setdefault(parent_id, []).append(child_id)
    descendants: Counter[int] = Counter()
    prefixes = {c.path + "/": c.pk for c in categories}
    condition = Q()
    for prefix in prefixes:
        condition |= Q(path__startswith=prefix)
    for path in Category.objects.filter(condition).values_list("path", flat=True):
        parts = path.split("/")
        for depth in range(1, len(parts)):
            owner = prefixes.get("/".join(parts[:depth]) + "/")
            if owner is not None:
                descendants[owner] += 1
    return [
        render_category(c, children=children.get(c.pk, []), children_count=descendants[c.pk])
        for c in categories
    ]


class CategoryRepository:
    """Create, read, update, move, search and delete categories."""

    @classmethod
    @writes
    def save(cls, ctx: CallContext, category_data: Any, category_id: Any = None) -> dict[str, Any]:
        """Create a category, or update the one with `category_id` (the URL's, else the
        body's `id`).

        A new category goes under `parent_id` (default 2, the default category), at
        the end of its siblings unless `position` is given. Changing `parent_id` of an
        existing category moves it with its subtree.
        """
        data = clean(CATEGORY, category_data)
        if category_id is None:
            category_id = data.get("id")
        if category_id is None:
            return render_categories([_create(data)])[0]
        category = _get(category_id, lock=True)
        for field in ("is_active", "position", "include_in_menu"):
            if field in data:
                setattr(category, field, data[field])
        if "name" in data:
            if not data["name"].strip():
                raise InputException(ATTRIBUTE_EMPTY, ["name"])
            category.name = data["name"]
        if "custom_attributes" in data:
            category.custom_attributes = merge_custom_attributes(
                category.custom_attributes or [], data["custom_attributes"]
            )
        parent_id = data.get("parent_id")
        if parent_id is not None and parent_id != (category.parent_id or 0):
            _move(category, parent_id)
        category.save()
        return render_categories([category])[0]

    @classmethod
    def get(cls, ctx: CallContext, category_id: Any) -> dict[str, Any]:
        return render_categories([_get(category_id)])[0]

    @classmethod
    @writes
    def delete_by_identifier(cls, ctx: CallContext, category_id: Any) -> bool:
        """Delete a category with its subtree; the root (1) and default (2) categories stay."""
        category = _get(category_id, lock=True)
        if category.pk in (ROOT_CATEGORY_ID, DEFAULT_CATEGORY_ID):
            raise StateException(CANNOT_DELETE, [category.pk])
        Category.objects.filter(
            Q(pk=category.pk) | Q(path__startswith=category.path + "/")
        ).delete()
        return True

    @classmethod
    def get_list(cls, ctx: CallContext, query_params: Any) -> dict[str, Any]:
        return search(Category.objects.all(), query_params, SEARCH_FIELDS, render_categories)


def _create(data: dict[str, Any]) -> Category:
    name = data.get("name")
    if name is None or not name.strip():
        raise InputException(ATTRIBUTE_EMPTY, ["name"])
    parent = _get(data.get("parent_id", DEFAULT_CATEGORY_ID), lock=True)
    position = data.get("position")
    if position is None:
        top = Category.objects.filter(parent=parent).aggregate(top=Max("position"))["top"]
        position = 1 if top is None else top + 1
    category = Category.objects.create(
        parent=parent,
        name=name,
        is_active=data.get("is_active", True),
        include_in_menu=data.get("include_in_menu", True),
        position=position,
        level=parent.level + 1,
        path="",
        custom_attributes=merge_custom_attributes([], data.get("custom_attributes")),
    )
    category.path = f"{parent.path}/{category.pk}"
    Category.objects.filter(pk=category.pk).update(path=category.path)
    return category


def _move(category: Category, parent_id: int) -> None:
    """Put `category` (locked) and its subtree under `parent_id`; fix paths and levels."""
    if category.pk == ROOT_CATEGORY_ID:
        raise StateException(CANNOT_MOVE)
    parent = _get(parent_id, lock=True)
    old_prefix = category.path
    if parent.pk == category.pk or parent.path.startswith(old_prefix + "/"):
        raise StateException(CANNOT_MOVE)
    new_prefix = f"{parent.path}/{category.pk}"
    shift = parent.level + 1 - category.level
    descendants = list(
        Category.objects.select_for_update().filter(path__startswith=old_prefix + "/")
    )
    for node in descendants:
        node.path = new_prefix + node.path[len(old_prefix) :]
        node.level += shift
    Category.objects.bulk_update(descendants, ["path", "level"])
    category.parent = parent
    category.path = new_prefix
    category.level = parent.level + 1


class CategoryLinkManagement:
    """Read which products a category holds."""

    @classmethod
    def get_assigned_products(cls, ctx: CallContext, category_id: Any) -> list[dict[str, Any]]:
        """Return `[{sku, position, category_id}]` for the category's products."""
        category = _get(category_id)
        rows = (
            CategoryProduct.objects.filter(category=category)
            .order_by("position", "product_id")
            .values_list("product__sku", "position")
        )
        return [render_product_link(sku, position, category.pk) for sku, position in rows]


class CategoryLinkRepository:
    """Assign products to categories and take them out."""

    @classmethod
    @writes
    def save(cls, ctx: CallContext, product_link: Any) -> bool:
        """Assign `product_link["sku"]` to `product_link["category_id"]` at `position`
        (moving it there if it is assigned already)."""
        link = clean(PRODUCT_LINK, product_link)
        category = _get(required(link.get("category_id"), "category_id"))
        product = Product.objects.filter(sku=link["sku"]).only("pk").first()
        if product is None:
            raise NoSuchEntityException(PRODUCT_NOT_FOUND)
        CategoryProduct.objects.bulk_create(
            [CategoryProduct(category=category, product=product, position=link.get("position", 0))],
            update_conflicts=True,
            unique_fields=["category", "product"],
            update_fields=["position"],
        )
        return True

    @classmethod
    @writes
    def delete_by_ids(cls, ctx: CallContext, category_id: Any, sku: str) -> bool:
        """Take the product out of the category."""
        category = _get(category_id)
        product = Product.objects.filter(sku=sku).only("pk").first()
        if product is None:
            raise NoSuchEntityException(PRODUCT_NOT_FOUND)
        deleted, _ = CategoryProduct.objects.filter(category=category, product=product).delete()
        if not deleted:
            raise InputException(NOT_IN_CATEGORY)
        return True
