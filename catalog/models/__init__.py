"""The catalog's models, one module per concept."""

from catalog.models.categories import (
    DEFAULT_CATEGORY_ID,
    ROOT_CATEGORY_ID,
    Category,
    CategoryProduct,
)
from catalog.models.cms import Block
from catalog.models.customers import Customer
from catalog.models.products import (
    PRODUCT_TYPES,
    STORE_SCOPED_ATTRIBUTES,
    Product,
    ProductStoreValue,
)
from catalog.models.stores import ADMIN_STORE_ID, DEFAULT_STORE_ID, Store, Website

__all__ = [
    "ADMIN_STORE_ID",
    "DEFAULT_CATEGORY_ID",
    "DEFAULT_STORE_ID",
    "PRODUCT_TYPES",
    "ROOT_CATEGORY_ID",
    "STORE_SCOPED_ATTRIBUTES",
    "Block",
    "Category",
    "CategoryProduct",
    "Customer",
    "Product",
    "ProductStoreValue",
    "Store",
    "Website",
]
