"""Products: Magento's `ProductRepositoryInterface`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import CharField, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from catalog.models import (
    DEFAULT_ATTRIBUTE_SET_ID,
    Category,
    CategoryProduct,
    Product,
    ProductStoreValue,
    SourceItem,
    StockItem,
)
from catalog.serializers.fields import INVALID_VALUE
from catalog.serializers.products import (
    CATEGORY_IDS,
    PRODUCT,
    SKU_MISMATCH,
    URL_KEY,
    render_product,
)
from catalog.services.attribute_checks import check_custom_attributes
from catalog.services.base import (
    clean,
    insert_all,
    insert_many_unless_taken,
    insert_unless_taken,
    merge_custom_attributes,
    search,
    writes,
)
from catalog.services.inventory import new_stock_rows, save_stock_item
from catalog.url_keys import format_url_key
from store.models import ADMIN_STORE_ID, Website
from webapi.exceptions import (
    InputException,
    InputMismatchException,
    NoSuchEntityException,
    RunSeparately,
)

if TYPE_CHECKING:
    from webapi.routes import CallContext

PRODUCT_NOT_FOUND = (
    "The product that was requested doesn't exist. Verify the product and try again."
)
ATTRIBUTE_EMPTY = 'The "%1" attribute value is empty. Set the attribute and try again.'
WEBSITE_NOT_FOUND = (
    "The website with id %1 that was requested wasn't found. Verify the website and try again."
)
CATEGORY_NOT_FOUND = (
    'The category with id "%1" that was requested doesn\'t exist. '
    "Verify the category and try again."
)
URL_KEY_TAKEN = "URL key for specified store already exists."
DEFAULT_WEBSITE_ID = 1
_SIMPLE_FIELDS = ("type_id", "attribute_set_id", "price", "status", "visibility", "weight")

# searchCriteria field → ORM lookup (`name` is the name in the caller's store).
SEARCH_FIELDS = {
    "id": "id",
    "entity_id": "id",
    "sku": "sku",
    "name": "store_name",
    "type_id": "type_id",
    "attribute_set_id": "attribute_set_id",
    "price": "price",
    "status": "status",
    "visibility": "visibility",
    "weight": "weight",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "category_id": "category_links__category_id",
    "url_key": "url_key",
}


def in_store(store_id: int, queryset: QuerySet[Product] | None = None) -> QuerySet[Product]:
    """Return products annotated with `store_name`: the store's own name, else the default."""
    queryset = Product.objects.all() if queryset is None else queryset
    if store_id == ADMIN_STORE_ID:
        return queryset.annotate(store_name=F("name"))
    own = ProductStoreValue.objects.filter(
        product=OuterRef("pk"), store_id=store_id, attribute_code="name"
    ).values("value")[:1]
    return queryset.annotate(
        store_name=Coalesce(Subquery(own), F("name"), output_field=CharField())
    )


def _name_in_store(product: Product, store_id: int) -> str:
    own = ProductStoreValue.objects.filter(
        product=product, store_id=store_id, attribute_code="name"
    )
    return own.values_list("value", flat=True).first() or product.name


def category_links_of(product_ids: Iterable[int]) -> dict[int, list[tuple[int, int]]]:
    """Return {product id: [(category id, position), ...]} in one query."""
    links: dict[int, list[tuple[int, int]]] = {}
    rows = CategoryProduct.objects.filter(product_id__in=list(product_ids)).order_by("category_id")
    for product_id, category_id, position in rows.values_list(
        "product_id", "category_id", "position"
    ):
        links.setdefault(product_id, []).append((category_id, position))
    return links


class ProductRepository:
    """Create, read, update, search and delete products (`catalog.services.ProductRepository`)."""

    @classmethod
    @writes
    def save(cls, ctx: CallContext, product_data: Any, sku: str | None = None) -> dict[str, Any]:
        """Create the product, or update it if its SKU exists (POST and PUT alike, as Magento).

        `sku` is the URL's SKU (PUT /V1/products/:sku), else the body's. Store-scoped
        values (the name) are written in the caller's store: in store 0 (`/rest/all/`)
        the default value; in a store view its own value, which overrides the
        default there. A new product's values are always the defaults, whatever
        the store (see docs/catalog.md, "Store scope").
        The `url_key` and `category_ids` custom attributes set the product's URL key
        and category links, `extension_attributes.stock_item` its stock (see
        docs/api.md). Return the product as read in the caller's store.
        """
        return _save(ctx, _prepare(ctx, product_data, sku))

    @classmethod
    @writes
    def save_many(
        cls, ctx: CallContext, calls: Sequence[tuple[Any, str | None]]
    ) -> list[dict[str, Any]]:
        """Do `save(ctx, product_data, sku)` for each `(product_data, sku)` in order, and
        return the answers: the same products as calling `save` one by one.

        The common case of a bulk, new products, takes one INSERT for all their rows
        and one per table of their stock and category links, instead of three or four
        statements per product. The others (SKUs that exist, a SKU given twice) are
        saved one by one after them, which changes nothing: they touch other rows. It
        raises the first failure (with nothing to undo: the caller's savepoint holds
        it) and RunSeparately when order would matter: a product a call saves before
        the call that creates it.
        """
        prepared = [_prepare(ctx, data, sku) for data, sku in calls]
        first_new: dict[str, int] = {}
        for index, call in enumerate(prepared):
            if call.data.get("name", "").strip() and call.sku not in first_new:
                first_new[call.sku] = index
        fresh = {
            index: _new_product(ctx, call.sku, call.data, call.website_ids, call.url_key)
            for index, call in ((i, prepared[i]) for i in first_new.values())
        }
        inserted = insert_many_unless_taken(list(fresh.values()))
        answers: dict[int, dict[str, Any]] = {}
        stock_items: list[StockItem] = []
        source_items: list[SourceItem] = []
        links: list[CategoryProduct] = []
        for (index, product), was_inserted in zip(fresh.items(), inserted, strict=True):
            if not was_inserted:
                continue
            call = prepared[index]
            stock_item, source_item = new_stock_rows(product, call.stock)
            stock_items.append(stock_item)
            if source_item is not None:
                source_items.append(source_item)
            links.extend(
                CategoryProduct(product=product, category_id=c, position=p)
                for c, p in call.links or []
            )
        insert_all(stock_items)
        insert_all(source_items)
        insert_all(links)
        for (index, product), was_inserted in zip(fresh.items(), inserted, strict=True):
            if was_inserted:
                answers[index] = render_product(product, category_links=prepared[index].links or [])
        created = {prepared[index].sku: index for index in answers}  # the new ones
        for index, call in enumerate(prepared):
            if index in answers:
                continue
            if created.get(call.sku, -1) > index:
                raise RunSeparately()
            answers[index] = _save(ctx, call)
        return [answers[index] for index in range(len(prepared))]

    @classmethod
    def get(cls, ctx: CallContext, sku: str) -> dict[str, Any]:
        """Return the product with this SKU, as read in the caller's store."""
        product = in_store(ctx.store.pk).select_related("stock_item").filter(sku=sku).first()
        if product is None:
            raise NoSuchEntityException(PRODUCT_NOT_FOUND)
        links = category_links_of([product.pk]).get(product.pk, [])
        return render_product(product, name=product.store_name, category_links=links)  # type: ignore[attr-defined]

    @classmethod
    def get_list(cls, ctx: CallContext, query_params: Any) -> dict[str, Any]:
        """Search products with Magento's searchCriteria; names as read in the caller's store."""

        def render(products: list[Product]) -> list[dict[str, Any]]:
            links = category_links_of(p.pk for p in products)
            return [
                render_product(p, name=p.store_name, category_links=links.get(p.pk, []))  # type: ignore[attr-defined]
                for p in products
            ]

        queryset = in_store(ctx.store.pk).select_related("stock_item")
        return search(queryset, query_params, SEARCH_FIELDS, render)

    @classmethod
    @writes
    def delete_by_id(cls, ctx: CallContext, sku: str) -> bool:
        """Delete the product with this SKU (its store values and category links go with it)."""
        product = Product.objects.select_for_update().filter(sku=sku).first()
        if product is None:
            raise NoSuchEntityException(PRODUCT_NOT_FOUND)
        product.delete()
        return True


@dataclass
class _Save:
    """A product save's cleaned input: what `save` checked before writing anything."""

    sku: str
    data: dict[str, Any]
    website_ids: list[int] | None
    url_key: str | None
    links: list[tuple[int, int]] | None
    stock: dict[str, Any] | None


def _prepare(ctx: CallContext, product_data: Any, sku: str | None) -> _Save:
    """Clean and check a save's input (raising what Magento raises); write nothing."""
    data = clean(PRODUCT, product_data)
    body_sku = data.get("sku")
    sku = sku if sku not in (None, "") else body_sku
    if not sku:
        raise InputException('"%fieldName" is required. Enter and try again.', {"fieldName": "sku"})
    sku = PRODUCT.fields["sku"].clean(sku, "sku")
    if body_sku is not None and body_sku != sku:
        raise InputException(SKU_MISMATCH, {"urlSku": sku, "bodySku": body_sku})
    extension = data.get("extension_attributes") or {}
    website_ids = extension.get("website_ids")
    if website_ids is not None:
        _check_websites(website_ids)
    url_key, category_ids = _take_system_attributes(data)
    if data.get("attribute_set_id") is not None or data.get("custom_attributes"):
        # A product attribute set, and values its attributes accept (Magento's
        # product validation; docs/api.md).
        check_custom_attributes(
            data.get("custom_attributes") or [],
            data.get("attribute_set_id") or DEFAULT_ATTRIBUTE_SET_ID,
        )
    links = extension.get("category_links")
    if links is not None:
        links = _check_category_links(links)
    elif category_ids is not None:
        links = _check_category_links([{"category_id": c} for c in category_ids])
    return _Save(sku, data, website_ids, url_key, links, extension.get("stock_item"))


def _save(ctx: CallContext, call: _Save) -> dict[str, Any]:
    """Write a prepared save: insert the product, or update the one with its SKU."""
    data = call.data
    if data.get("name", "").strip():
        # The common case of a bulk import: one INSERT, no SELECT before it.
        new = _new_product(ctx, call.sku, data, call.website_ids, call.url_key)
        if insert_unless_taken(new):
            if call.links:
                CategoryProduct.objects.bulk_create(
                    CategoryProduct(product=new, category_id=c, position=p) for c, p in call.links
                )
            save_stock_item(new, call.stock, new=True)
            return render_product(new, category_links=call.links or [])
    product = Product.objects.select_for_update().filter(sku=call.sku).first()
    if product is None:
        if data.get("name", "").strip():
            raise InputMismatchException(URL_KEY_TAKEN)  # the only other unique value
        raise InputException(ATTRIBUTE_EMPTY, ["name"])
    return _update(ctx, product, data, call.website_ids, call.links, call.url_key)


def _check_websites(website_ids: list[int]) -> None:
    wanted = set(website_ids)
    found = set(Website.objects.filter(id__in=wanted).exclude(id=0).values_list("id", flat=True))
    for website_id in website_ids:
        if website_id not in found:
            raise InputException(WEBSITE_NOT_FOUND, [website_id])


def _check_category_links(links: list[dict[str, Any]]) -> list[tuple[int, int]]:
    pairs: dict[int, int] = {}
    for link in links:
        pairs[link["category_id"]] = link.get("position", 0)
    found = set(Category.objects.filter(id__in=pairs).values_list("id", flat=True))
    for category_id in pairs:
        if category_id not in found:
            raise NoSuchEntityException(CATEGORY_NOT_FOUND, [category_id])
    return sorted(pairs.items())


def _take_system_attributes(data: dict[str, Any]) -> tuple[str | None, list[int] | None]:
    """Remove `url_key` and `category_ids` from the cleaned body's custom attributes and
    return them (None when not sent): they are a column and the category links."""
    attributes = data.get("custom_attributes")
    if not attributes:
        return None, None
    url_key: str | None = None
    category_ids: list[int] | None = None
    kept = []
    for attribute in attributes:
        code, value = attribute["attribute_code"], attribute.get("value")
        if code == URL_KEY:
            url_key = "" if value is None else str(value)
        elif code == CATEGORY_IDS:
            category_ids = _category_ids(value)
        else:
            kept.append(attribute)
    data["custom_attributes"] = kept
    return url_key, category_ids


def _category_ids(value: Any) -> list[int]:
    """Return the ids of a `category_ids` value: a list, or a comma-separated string."""
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        items = [items]
    ids = []
    for item in items:
        text = str(item).strip()
        if not text.isdigit():
            raise InputException(INVALID_VALUE, {"value": item, "fieldName": CATEGORY_IDS})
        ids.append(int(text))
    return ids


def _url_key(given: str | None, name: str, sku: str) -> str:
    """Return the URL key Magento saves: the given one or the name, formatted."""
    key = format_url_key(given) if given else ""
    return key or format_url_key(name) or format_url_key(sku) or "product"


def _check_url_key(url_key: str, product: Product) -> None:
    if Product.objects.filter(url_key=url_key).exclude(pk=product.pk).exists():
        raise InputMismatchException(URL_KEY_TAKEN)


def _new_product(
    ctx: CallContext,
    sku: str,
    data: dict[str, Any],
    website_ids: list[int] | None,
    url_key: str | None,
) -> Product:
    """Return an unsaved product built from the cleaned body."""
    store = ctx.store
    if website_ids is None:
        website_ids = [DEFAULT_WEBSITE_ID if store.pk == ADMIN_STORE_ID else store.website_id]
    return Product(
        sku=sku,
        name=data["name"],
        custom_attributes=merge_custom_attributes([], data.get("custom_attributes")),
        website_ids=website_ids,
        url_key=_url_key(url_key, data["name"], sku),
        **{f: data[f] for f in _SIMPLE_FIELDS if f in data},
    )


def _update(
    ctx: CallContext,
    product: Product,
    data: dict[str, Any],
    website_ids: list[int] | None,
    links: list[tuple[int, int]] | None,
    url_key: str | None,
) -> dict[str, Any]:
    """Apply the given fields to a locked product; return it as read in the caller's store.

    `url_key` None keeps the product's; blank generates it again from the name.
    Category links given replace the product's (a category it keeps keeps its position
    when they came as `category_ids`, which carry none).
    """
    store_id = ctx.store.pk
    for field in _SIMPLE_FIELDS:
        if field in data:
            setattr(product, field, data[field])
    name = data.get("name")
    store_name: str | None = None
    if name is not None:
        if not name.strip():
            raise InputException(ATTRIBUTE_EMPTY, ["name"])
        if store_id == ADMIN_STORE_ID:
            product.name = name
        else:
            store_name = name
            ProductStoreValue.objects.bulk_create(
                [
                    ProductStoreValue(
                        product=product, store_id=store_id, attribute_code="name", value=name
                    )
                ],
                update_conflicts=True,
                unique_fields=["product", "store", "attribute_code"],
                update_fields=["value"],
            )
    if "custom_attributes" in data:
        product.custom_attributes = merge_custom_attributes(
            product.custom_attributes or [], data["custom_attributes"]
        )
    if website_ids is not None:
        product.website_ids = website_ids
    if url_key is not None or not product.url_key:
        product.url_key = _url_key(url_key, product.name, product.sku)
        _check_url_key(product.url_key, product)
    product.save()
    stock = (data.get("extension_attributes") or {}).get("stock_item")
    if stock is not None:
        save_stock_item(product, stock)
    if links is not None:
        if not (data.get("extension_attributes") or {}).get("category_links"):
            kept = dict(
                CategoryProduct.objects.filter(product=product).values_list(
                    "category_id", "position"
                )
            )
            links = [(c, kept.get(c, p)) for c, p in links]
        CategoryProduct.objects.filter(product=product).delete()
        CategoryProduct.objects.bulk_create(
            CategoryProduct(product=product, category_id=c, position=p) for c, p in links
        )
    else:
        links = category_links_of([product.pk]).get(product.pk, [])
    if store_name is None:
        store_name = (
            product.name if store_id == ADMIN_STORE_ID else _name_in_store(product, store_id)
        )
    return render_product(product, name=store_name, category_links=links)
