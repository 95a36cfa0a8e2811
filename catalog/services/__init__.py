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
from catalog.services.products import ProductRepository

__all__ = [
    "AccountManagement",
    "AttributeSetRepository",
    "BlockRepository",
    "CategoryLinkManagement",
    "CategoryLinkRepository",
    "CategoryManagement",
    "CategoryRepository",
    "CustomerRepository",
    "ProductAttributeManagement",
    "ProductAttributeOptionManagement",
    "ProductAttributeRepository",
    "ProductRepository",
]
