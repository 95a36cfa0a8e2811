"""The category tree: Magento's `CategoryManagementInterface::getTree`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q

from catalog.models import DEFAULT_CATEGORY_ID, Category, CategoryProduct
from catalog.serializers.fields import INVALID_TYPE
from catalog.services.base import as_id, no_such_entity
from webapi.exceptions import InputException

if TYPE_CHECKING:
    from store.models import Store
    from webapi.routes import CallContext


def store_root_category_id(store: Store) -> int:
    """Return the root category of the store's group (the default category, 2, when the
    store scope carries no group)."""
    group = getattr(store, "group", None)
    return getattr(group, "root_category_id", None) or DEFAULT_CATEGORY_ID


MAX_DEPTH = 1000  # deeper than any tree; keeps the level filter inside a column's range


def _depth(value: Any) -> int | None:
    """Return the depth as levels below the root (0 to MAX_DEPTH), or None for all."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        return min(max(int(text), 0), MAX_DEPTH)
    except ValueError:
        raise InputException(INVALID_TYPE, {"value": value, "type": "int"}) from None


def _root(ctx: CallContext, root_category_id: Any) -> Category:
    if root_category_id is not None and root_category_id != "":
        pk = as_id(root_category_id, "id")
    elif ctx.store.is_admin:
        # Magento's admin scope starts from the hidden top-level category (level 0).
        top = Category.objects.filter(level=0).order_by("id").values_list("pk", flat=True).first()
        pk = top or 1
    else:
        pk = store_root_category_id(ctx.store)
    root = Category.objects.filter(pk=pk).first()
    if root is None:
        raise no_such_entity("id", root_category_id if root_category_id is not None else pk)
    return root


class CategoryManagement:
    """Read the category tree."""

    @classmethod
    def get_tree(
        cls, ctx: CallContext, root_category_id: Any = None, depth: Any = None
    ) -> dict[str, Any]:
        """Return `CategoryTreeInterface` from `root_category_id` down `depth` levels.

        Without a root: the store's root category, or in the admin scope (`all`) the
        tree's top (1). `depth` 0 gives the root alone, none the whole subtree.
        Children come by position. `product_count` counts the products assigned to
        the category itself. Two queries whatever the tree's size.
        """
        levels = _depth(depth)
        root = _root(ctx, root_category_id)
        subtree = Q(pk=root.pk) | Q(path__startswith=f"{root.path}/")
        nodes = Category.objects.filter(subtree)
        if levels is not None:
            nodes = nodes.filter(level__lte=root.level + levels)
        categories = list(
            nodes.order_by("level", "position", "id").values(
                "id", "parent_id", "name", "is_active", "position", "level"
            )
        )
        link_filter = Q(category_id=root.pk) | Q(category__path__startswith=f"{root.path}/")
        if levels is not None:
            link_filter &= Q(category__level__lte=root.level + levels)
        counts = dict(
            CategoryProduct.objects.filter(link_filter)
            .values("category_id")
            .annotate(n=Count("id"))
            .values_list("category_id", "n")
        )
        rendered: dict[int, dict[str, Any]] = {}
        for row in categories:
            node = {
                "id": row["id"],
                "parent_id": row["parent_id"] or 0,
                "name": row["name"],
                "is_active": row["is_active"],
                "position": row["position"],
                "level": row["level"],
                "product_count": counts.get(row["id"], 0),
                "children_data": [],
            }
            rendered[row["id"]] = node
            parent = rendered.get(row["parent_id"]) if row["id"] != root.pk else None
            if parent is not None:
                parent["children_data"].append(node)
        return rendered[root.pk]
