"""The catalog's models, one module per concept."""

from catalog.models.attributes import (
    DEFAULT_ATTRIBUTE_SET_ID,
    PRODUCT_ENTITY_TYPE_ID,
    AttributeOption,
    AttributeSet,
    AttributeSetAttribute,
    ProductAttribute,
)
from catalog.models.categories import (
    DEFAULT_CATEGORY_ID,
    ROOT_CATEGORY_ID,
    Category,
    CategoryProduct,
)
from catalog.models.cms import Block
from catalog.models.customers import Customer
from catalog.models.inventory import (
    DEFAULT_SOURCE_CODE,
    DEFAULT_STOCK_ID,
    QTY_PRODUCT_TYPES,
    Source,
    SourceItem,
    StockItem,
)
from catalog.models.prices import ALL_GROUPS, ALL_WEBSITES_ID, CUSTOMER_GROUPS, TierPrice
from catalog.models.products import (
    PRODUCT_TYPES,
    STORE_SCOPED_ATTRIBUTES,
    Product,
    ProductStoreValue,
)

__all__ = [
    "ALL_GROUPS",
    "ALL_WEBSITES_ID",
    "CUSTOMER_GROUPS",
    "DEFAULT_ATTRIBUTE_SET_ID",
    "PRODUCT_ENTITY_TYPE_ID",
    "AttributeOption",
    "AttributeSet",
    "AttributeSetAttribute",
    "ProductAttribute",
    "DEFAULT_CATEGORY_ID",
    "DEFAULT_SOURCE_CODE",
    "DEFAULT_STOCK_ID",
    "PRODUCT_TYPES",
    "QTY_PRODUCT_TYPES",
    "ROOT_CATEGORY_ID",
    "STORE_SCOPED_ATTRIBUTES",
    "Block",
    "Category",
    "CategoryProduct",
    "Customer",
    "Product",
    "ProductStoreValue",
    "TierPrice",
    "Source",
    "SourceItem",
    "StockItem",
]
