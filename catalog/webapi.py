"""The catalog's synchronous REST routes (Magento's `webapi.xml` for products,
categories, category product links, customers and CMS blocks).

Each route calls one method of `catalog.services`, whose dotted path names the
route's service (and so its async topic); the asynchronous and bulk API reach the
same methods through these declarations. Permissions are Django's model
permissions: reading needs `catalog.view_<model>`, every write `catalog.change_<model>`
(product links of a category count as category writes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from catalog.serializers import (
    BlockRequest,
    CategoryRequest,
    CustomerCreateRequest,
    CustomerUpdateRequest,
    ProductLinkRequest,
    ProductRequest,
)
from catalog.services import (
    AccountManagement,
    BlockRepository,
    CategoryLinkManagement,
    CategoryLinkRepository,
    CategoryRepository,
    CustomerRepository,
    ProductRepository,
)
from webapi.routes import CallContext, Route, register

Params = Mapping[str, str]


def _param(params: Params, data: Any, name: str) -> Any:
    """Return a URL parameter, or the same name at the body's top level (bulk items may
    carry it there)."""
    value = params.get(name)
    if value is None and isinstance(data, dict):
        value = data.get(name)
    return value


@dataclass(frozen=True)
class _Call:
    """How a route calls its service method: `call(ctx, params, data)` for the registry."""

    service: Callable[..., Any]
    call: Callable[[Callable[..., Any], CallContext, Params, Any], Any]
    search: bool = False
    # `many(ctx, [(params, data), ...])`: several calls at once (`Route.call_many`).
    many: Callable[[CallContext, Sequence[tuple[Params, Any]]], list[Any]] | None = None

    def __call__(self, ctx: CallContext, params: Params, data: Any) -> Any:
        return self.call(self.service, ctx, params, data)


def searching(service: Callable[..., Any]) -> _Call:
    """`service(ctx, query)`: a search with Magento's searchCriteria."""
    return _Call(service, lambda s, ctx, params, data: s(ctx, data), search=True)


def by(service: Callable[..., Any], *names: str) -> _Call:
    """`service(ctx, *url_parameters)`: read or delete by the URL's identifiers."""
    return _Call(service, lambda s, ctx, params, data: s(ctx, *(params[n] for n in names)))


def saving(
    service: Callable[..., Any],
    wrapper: str,
    name: str,
    many: Callable[..., list[Any]] | None = None,
) -> _Call:
    """`service(ctx, body[wrapper], identifier)`: the identifier from the URL, else the body.

    `many(ctx, [(body[wrapper], identifier), ...])`, if given, does several such saves
    at once (the operation consumer's batches).
    """
    return _Call(
        service,
        lambda s, ctx, params, data: s(ctx, data[wrapper], _param(params, data, name)),
        many=None
        if many is None
        else lambda ctx, calls: many(
            ctx, [(data[wrapper], _param(params, data, name)) for params, data in calls]
        ),
    )


def custom(service: Callable[..., Any], call: Callable[[CallContext, Params, Any], Any]) -> _Call:
    """A route whose call needs more than the shapes above."""
    return _Call(service, lambda s, ctx, params, data: call(ctx, params, data))


def declare(tag: str, model: str, *routes: tuple[Any, ...]) -> None:
    """Register one entity's routes, each `(method, path, call, summary[, request])`."""
    for method, path, call, summary, *request in routes:
        register(
            Route(
                method=method,
                path=path,
                service=f"catalog.services.{call.service.__qualname__}",
                call=call,
                call_many=call.many,
                permission=f"catalog.{'view' if method == 'GET' else 'change'}_{model}",
                request=request[0] if request else None,
                search=call.search,
                summary=summary,
                tags=(tag,),
            )
        )


def _save_link(ctx: CallContext, params: Params, data: Any) -> bool:
    # The URL's category wins over the body's, as Magento forces it into the link.
    link = dict(data["productLink"])
    category_id = _param(params, data, "categoryId")
    if category_id is not None:
        link["category_id"] = category_id
    return CategoryLinkRepository.save(ctx, link)


def _create_account(ctx: CallContext, params: Params, data: Any) -> Any:
    return AccountManagement.create_account(ctx, data["customer"], data.get("password"))


products, categories, links = ProductRepository, CategoryRepository, CategoryLinkRepository
customers, blocks = CustomerRepository, BlockRepository

declare(
    "products",
    "product",
    ("GET", "/V1/products", searching(products.get_list), "Search products (searchCriteria)."),
    (
        "POST",
        "/V1/products",
        saving(products.save, "product", "sku", many=products.save_many),
        "Create a product, or update the one with this SKU.",
        ProductRequest,
    ),
    (
        "PUT",
        "/V1/products/:sku",
        saving(products.save, "product", "sku", many=products.save_many),
        "Update the product with this SKU, or create it.",
        ProductRequest,
    ),
    ("GET", "/V1/products/:sku", by(products.get, "sku"), "Read a product."),
    ("DELETE", "/V1/products/:sku", by(products.delete_by_id, "sku"), "Delete a product."),
)
declare(
    "categories",
    "category",
    (
        "POST",
        "/V1/categories",
        saving(categories.save, "category", "categoryId"),
        "Create a category (under parent_id, default 2).",
        CategoryRequest,
    ),
    (
        "PUT",
        "/V1/categories/:categoryId",
        saving(categories.save, "category", "categoryId"),
        "Update (or move) a category.",
        CategoryRequest,
    ),
    ("GET", "/V1/categories/list", searching(categories.get_list), "Search categories."),
    ("GET", "/V1/categories/:categoryId", by(categories.get, "categoryId"), "Read a category."),
    (
        "DELETE",
        "/V1/categories/:categoryId",
        by(categories.delete_by_identifier, "categoryId"),
        "Delete a category and its subtree.",
    ),
    (
        "GET",
        "/V1/categories/:categoryId/products",
        by(CategoryLinkManagement.get_assigned_products, "categoryId"),
        "List the products assigned to a category.",
    ),
    *(
        (
            method,
            "/V1/categories/:categoryId/products",
            custom(links.save, _save_link),
            "Assign a product to a category at a position.",
            ProductLinkRequest,
        )
        for method in ("POST", "PUT")
    ),
    (
        "DELETE",
        "/V1/categories/:categoryId/products/:sku",
        by(links.delete_by_ids, "categoryId", "sku"),
        "Take a product out of a category.",
    ),
)
declare(
    "customers",
    "customer",
    (
        "POST",
        "/V1/customers",
        custom(AccountManagement.create_account, _create_account),
        "Create a customer account.",
        CustomerCreateRequest,
    ),
    ("GET", "/V1/customers/search", searching(customers.get_list), "Search customers."),
    ("GET", "/V1/customers/:customerId", by(customers.get_by_id, "customerId"), "Read a customer."),
    (
        "PUT",
        "/V1/customers/:customerId",
        saving(customers.save, "customer", "customerId"),
        "Update a customer.",
        CustomerUpdateRequest,
    ),
    (
        "DELETE",
        "/V1/customers/:customerId",
        by(customers.delete_by_id, "customerId"),
        "Delete a customer.",
    ),
)
declare(
    "cms",
    "block",
    (
        "POST",
        "/V1/cmsBlock",
        saving(blocks.save, "block", "blockId"),
        "Create a CMS block.",
        BlockRequest,
    ),
    ("GET", "/V1/cmsBlock/search", searching(blocks.get_list), "Search CMS blocks."),
    ("GET", "/V1/cmsBlock/:blockId", by(blocks.get_by_id, "blockId"), "Read a CMS block."),
    (
        "PUT",
        "/V1/cmsBlock/:blockId",
        saving(blocks.save, "block", "blockId"),
        "Update a CMS block.",
        BlockRequest,
    ),
    ("DELETE", "/V1/cmsBlock/:blockId", by(blocks.delete_by_id, "blockId"), "Delete a CMS block."),
)
# The other areas' routes, each declared in a module of its own.
from catalog import (  # noqa: E402,F401
    webapi_attributes,
    webapi_prices,
    webapi_stock,
    webapi_stores,
)
