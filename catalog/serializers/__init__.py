"""Request validation and answer rendering for the catalog's routes.

Request serializers validate a whole body, wrapper key included, cheaply (see
`fields`); `render_*` functions return Magento's answer shapes.
"""

from catalog.serializers.blocks import BlockRequest, render_block
from catalog.serializers.categories import (
    CategoryRequest,
    ProductLinkRequest,
    render_category,
    render_product_link,
)
from catalog.serializers.customers import (
    CustomerCreateRequest,
    CustomerUpdateRequest,
    check_password,
    render_customer,
)
from catalog.serializers.fields import Invalid, RequestSerializer
from catalog.serializers.prices import (
    BasePricesRequest,
    CostsRequest,
    SkusRequest,
    SpecialPricesRequest,
    TierPricesRequest,
)
from catalog.serializers.products import ProductRequest, render_product

__all__ = [
    "BasePricesRequest",
    "BlockRequest",
    "CategoryRequest",
    "CostsRequest",
    "CustomerCreateRequest",
    "CustomerUpdateRequest",
    "Invalid",
    "ProductLinkRequest",
    "ProductRequest",
    "RequestSerializer",
    "SkusRequest",
    "SpecialPricesRequest",
    "TierPricesRequest",
    "check_password",
    "render_block",
    "render_category",
    "render_customer",
    "render_product",
    "render_product_link",
]
