"""The catalog's synchronous REST routes (Magento's `webapi.xml` for products,
categories, category product links, customers and CMS blocks).

Each route calls one method of `catalog.services`; the asynchronous and bulk API
reach the same methods through these declarations. Permissions are Django's model
permissions: reading needs `catalog.view_<model>`, every write `catalog.change_<model>`
(product links of a category count as category writes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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

Call = Callable[[CallContext, Mapping[str, str], Any], Any]


def _route(
    method: str,
    path: str,
    service: str,
    call: Call,
    permission: str,
    tag: str,
    summary: str,
    request: Any = None,
    *,
    search: bool = False,
) -> None:
    register(
        Route(
            method=method,
            path=path,
            service=f"catalog.services.{service}",
            call=call,
            permission=permission,
            request=request,
            search=search,
            summary=summary,
            tags=(tag,),
        )
    )


def _param(params: Mapping[str, str], data: Any, name: str) -> Any:
    """Return a URL parameter, or the same name at the body's top level (bulk items may
    carry it there)."""
    value = params.get(name)
    if value is None and isinstance(data, dict):
        value = data.get(name)
    return value


# --- products ----------------------------------------------------------------------
VIEW, CHANGE = "catalog.view_product", "catalog.change_product"
_route(
    "GET",
    "/V1/products",
    "ProductRepository.get_list",
    lambda ctx, params, data: ProductRepository.get_list(ctx, data),
    VIEW,
    "products",
    "Search products (searchCriteria).",
    search=True,
)
_route(
    "POST",
    "/V1/products",
    "ProductRepository.save",
    lambda ctx, params, data: ProductRepository.save(
        ctx, data["product"], _param(params, data, "sku")
    ),
    CHANGE,
    "products",
    "Create a product, or update the one with this SKU.",
    ProductRequest,
)
_route(
    "PUT",
    "/V1/products/:sku",
    "ProductRepository.save",
    lambda ctx, params, data: ProductRepository.save(
        ctx, data["product"], _param(params, data, "sku")
    ),
    CHANGE,
    "products",
    "Update the product with this SKU, or create it.",
    ProductRequest,
)
_route(
    "GET",
    "/V1/products/:sku",
    "ProductRepository.get",
    lambda ctx, params, data: ProductRepository.get(ctx, params["sku"]),
    VIEW,
    "products",
    "Read a product.",
)
_route(
    "DELETE",
    "/V1/products/:sku",
    "ProductRepository.delete_by_id",
    lambda ctx, params, data: ProductRepository.delete_by_id(ctx, params["sku"]),
    CHANGE,
    "products",
    "Delete a product.",
)

# --- categories and their product links ---------------------------------------------
VIEW, CHANGE = "catalog.view_category", "catalog.change_category"
_route(
    "POST",
    "/V1/categories",
    "CategoryRepository.save",
    lambda ctx, params, data: CategoryRepository.save(
        ctx, data["category"], _param(params, data, "categoryId")
    ),
    CHANGE,
    "categories",
    "Create a category (under parent_id, default 2).",
    CategoryRequest,
)
_route(
    "PUT",
    "/V1/categories/:categoryId",
    "CategoryRepository.save",
    lambda ctx, params, data: CategoryRepository.save(
        ctx, data["category"], _param(params, data, "categoryId")
    ),
    CHANGE,
    "categories",
    "Update (or move) a category.",
    CategoryRequest,
)
_route(
    "GET",
    "/V1/categories/list",
    "CategoryRepository.get_list",
    lambda ctx, params, data: CategoryRepository.get_list(ctx, data),
    VIEW,
    "categories",
    "Search categories (searchCriteria).",
    search=True,
)
_route(
    "GET",
    "/V1/categories/:categoryId",
    "CategoryRepository.get",
    lambda ctx, params, data: CategoryRepository.get(ctx, params["categoryId"]),
    VIEW,
    "categories",
    "Read a category.",
)
_route(
    "DELETE",
    "/V1/categories/:categoryId",
    "CategoryRepository.delete_by_identifier",
    lambda ctx, params, data: CategoryRepository.delete_by_identifier(ctx, params["categoryId"]),
    CHANGE,
    "categories",
    "Delete a category and its subtree.",
)
_route(
    "GET",
    "/V1/categories/:categoryId/products",
    "CategoryLinkManagement.get_assigned_products",
    lambda ctx, params, data: CategoryLinkManagement.get_assigned_products(
        ctx, params["categoryId"]
    ),
    VIEW,
    "categories",
    "List the products assigned to a category.",
)


def _save_link(ctx: CallContext, params: Mapping[str, str], data: Any) -> bool:
    # The URL's category wins over the body's, as Magento forces it into the link.
    link = dict(data["productLink"])
    category_id = _param(params, data, "categoryId")
    if category_id is not None:
        link["category_id"] = category_id
    return CategoryLinkRepository.save(ctx, link)


for _method in ("POST", "PUT"):
    _route(
        _method,
        "/V1/categories/:categoryId/products",
        "CategoryLinkRepository.save",
        _save_link,
        CHANGE,
        "categories",
        "Assign a product to a category at a position.",
        ProductLinkRequest,
    )
_route(
    "DELETE",
    "/V1/categories/:categoryId/products/:sku",
    "CategoryLinkRepository.delete_by_ids",
    lambda ctx, params, data: CategoryLinkRepository.delete_by_ids(
        ctx, params["categoryId"], params["sku"]
    ),
    CHANGE,
    "categories",
    "Take a product out of a category.",
)

# --- customers -----------------------------------------------------------------------
VIEW, CHANGE = "catalog.view_customer", "catalog.change_customer"
_route(
    "POST",
    "/V1/customers",
    "AccountManagement.create_account",
    lambda ctx, params, data: AccountManagement.create_account(
        ctx, data["customer"], data.get("password")
    ),
    CHANGE,
    "customers",
    "Create a customer account.",
    CustomerCreateRequest,
)
_route(
    "GET",
    "/V1/customers/search",
    "CustomerRepository.get_list",
    lambda ctx, params, data: CustomerRepository.get_list(ctx, data),
    VIEW,
    "customers",
    "Search customers (searchCriteria).",
    search=True,
)
_route(
    "GET",
    "/V1/customers/:customerId",
    "CustomerRepository.get_by_id",
    lambda ctx, params, data: CustomerRepository.get_by_id(ctx, params["customerId"]),
    VIEW,
    "customers",
    "Read a customer.",
)
_route(
    "PUT",
    "/V1/customers/:customerId",
    "CustomerRepository.save",
    lambda ctx, params, data: CustomerRepository.save(
        ctx, data["customer"], _param(params, data, "customerId")
    ),
    CHANGE,
    "customers",
    "Update a customer.",
    CustomerUpdateRequest,
)
_route(
    "DELETE",
    "/V1/customers/:customerId",
    "CustomerRepository.delete_by_id",
    lambda ctx, params, data: CustomerRepository.delete_by_id(ctx, params["customerId"]),
    CHANGE,
    "customers",
    "Delete a customer.",
)

# --- CMS blocks ----------------------------------------------------------------------
VIEW, CHANGE = "catalog.view_block", "catalog.change_block"
_route(
    "POST",
    "/V1/cmsBlock",
    "BlockRepository.save",
    lambda ctx, params, data: BlockRepository.save(
        ctx, data["block"], _param(params, data, "blockId")
    ),
    CHANGE,
    "cms",
    "Create a CMS block.",
    BlockRequest,
)
_route(
    "GET",
    "/V1/cmsBlock/search",
    "BlockRepository.get_list",
    lambda ctx, params, data: BlockRepository.get_list(ctx, data),
    VIEW,
    "cms",
    "Search CMS blocks (searchCriteria).",
    search=True,
)
_route(
    "GET",
    "/V1/cmsBlock/:blockId",
    "BlockRepository.get_by_id",
    lambda ctx, params, data: BlockRepository.get_by_id(ctx, params["blockId"]),
    VIEW,
    "cms",
    "Read a CMS block.",
)
_route(
    "PUT",
    "/V1/cmsBlock/:blockId",
    "BlockRepository.save",
    lambda ctx, params, data: BlockRepository.save(
        ctx, data["block"], _param(params, data, "blockId")
    ),
    CHANGE,
    "cms",
    "Update a CMS block.",
    BlockRequest,
)
_route(
    "DELETE",
    "/V1/cmsBlock/:blockId",
    "BlockRepository.delete_by_id",
    lambda ctx, params, data: BlockRepository.delete_by_id(ctx, params["blockId"]),
    CHANGE,
    "cms",
    "Delete a CMS block.",
)
