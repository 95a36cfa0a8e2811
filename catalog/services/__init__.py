"""The catalog's service layer: every write, and the reads the REST routes answer.

These classes and method names are a public contract: the synchronous routes call
them, and each write's dotted path names its asynchronous topic
(`async.` + path lower-cased + `.` + HTTP method, e.g.
`async.catalog.services.productrepository.save.post`). Every method takes a
`webapi.routes.CallContext` first (store scope and caller), raises the
exceptions of `webapi.exceptions`, and runs inside the caller's transaction (or
its own when called outside one).
"""

from catalog.services.attribute_options import ProductAttributeOptionManagement
from catalog.services.attribute_sets import AttributeSetRepository, ProductAttributeManagement
from catalog.services.attributes import ProductAttributeRepository
from catalog.services.blocks import BlockRepository
from catalog.services.categories import (
    CategoryLinkManagement,
    CategoryLinkRepository,
    CategoryRepository,
)
from catalog.services.category_tree import CategoryManagement
from catalog.services.customers import AccountManagement, CustomerRepository
from catalog.services.inventory import (
    GetProductSalableQty,
    SourceItemRepository,
    SourceItemsDelete,
    SourceItemsSave,
    SourceRepository,
    StockRegistry,
)
from catalog.services.prices import (
    BasePriceStorage,
    CostStorage,
    SpecialPriceStorage,
    TierPriceStorage,
)
from catalog.services.products import ProductRepository
from catalog.services.stores import (
    GroupRepository,
    StoreConfigManager,
    StoreRepository,
    WebsiteRepository,
)

__all__ = [
    "AccountManagement",
    "BasePriceStorage",
    "AttributeSetRepository",
    "BlockRepository",
    "CategoryLinkManagement",
    "CategoryLinkRepository",
    "CategoryManagement",
    "CategoryRepository",
    "CostStorage",
    "CustomerRepository",
    "GetProductSalableQty",
    "GroupRepository",
    "ProductAttributeManagement",
    "ProductAttributeOptionManagement",
    "ProductAttributeRepository",
    "ProductRepository",
    "SourceItemRepository",
    "SourceItemsDelete",
    "SourceItemsSave",
    "SourceRepository",
    "SpecialPriceStorage",
    "StockRegistry",
    "StoreConfigManager",
    "StoreRepository",
    "TierPriceStorage",
    "WebsiteRepository",
]
