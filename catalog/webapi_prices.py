"""The price APIs' routes (Magento_Catalog's `webapi.xml`: BasePriceStorageInterface,
SpecialPriceStorageInterface, TierPriceStorageInterface, CostStorageInterface).

Writes need `catalog.change_product` and get their `async/` and `async/bulk/`
variants from the registry; each operation's result is the list of failed items.
The `-information` routes are POST only because Magento takes the SKU list as a
body: they read, so they need `catalog.view_product` and are not offered
asynchronously (`async_enabled=False`; see docs/api.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from catalog.serializers import (
    BasePricesRequest,
    CostsRequest,
    SkusRequest,
    SpecialPricesRequest,
    TierPricesRequest,
)
from catalog.services import BasePriceStorage, CostStorage, SpecialPriceStorage, TierPriceStorage
from catalog.webapi import custom
from webapi.routes import Route, register

READ, WRITE = "catalog.view_product", "catalog.change_product"


def _body(service: Callable[..., Any], key: str) -> Any:
    """`service(ctx, body[key])`: the whole list the body carries."""
    return custom(service, lambda ctx, params, data: service(ctx, data[key]))


def _route(
    method: str, path: str, service: Callable[..., Any], key: str, request: Any, summary: str
) -> None:
    reading = service.__name__ == "get"  # the `-information` routes
    register(
        Route(
            method=method,
            path=path,
            service=f"catalog.services.{service.__qualname__}",
            call=_body(service, key),
            permission=READ if reading else WRITE,
            request=request,
            async_enabled=not reading,
            summary=summary,
            tags=("prices",),
        )
    )


for method, path, service, key, request, summary in (
    (
        "POST",
        "/V1/products/base-prices",
        BasePriceStorage.update,
        "prices",
        BasePricesRequest,
        "Set base prices; answers the failed items (the others are applied).",
    ),
    (
        "POST",
        "/V1/products/base-prices-information",
        BasePriceStorage.get,
        "skus",
        SkusRequest,
        "Read the base prices of these SKUs.",
    ),
    (
        "POST",
        "/V1/products/special-price",
        SpecialPriceStorage.update,
        "prices",
        SpecialPricesRequest,
        "Set special prices (with from/to dates); answers the failed items.",
    ),
    (
        "POST",
        "/V1/products/special-price-information",
        SpecialPriceStorage.get,
        "skus",
        SkusRequest,
        "Read the special prices of these SKUs.",
    ),
    (
        "POST",
        "/V1/products/special-price-delete",
        SpecialPriceStorage.delete,
        "prices",
        SpecialPricesRequest,
        "Delete special prices; answers the failed items.",
    ),
    (
        "POST",
        "/V1/products/tier-prices",
        TierPriceStorage.update,
        "prices",
        TierPricesRequest,
        "Add or update tier prices; answers the failed items.",
    ),
    (
        "PUT",
        "/V1/products/tier-prices",
        TierPriceStorage.replace,
        "prices",
        TierPricesRequest,
        "Replace all tier prices of the products given; answers the failed items.",
    ),
    (
        "POST",
        "/V1/products/tier-prices-information",
        TierPriceStorage.get,
        "skus",
        SkusRequest,
        "Read the tier prices of these SKUs.",
    ),
    (
        "POST",
        "/V1/products/tier-prices-delete",
        TierPriceStorage.delete,
        "prices",
        TierPricesRequest,
        "Delete tier prices; answers the failed items.",
    ),
    (
        "POST",
        "/V1/products/cost",
        CostStorage.update,
        "prices",
        CostsRequest,
        "Set costs; answers the failed items.",
    ),
    (
        "POST",
        "/V1/products/cost-information",
        CostStorage.get,
        "skus",
        SkusRequest,
        "Read the costs of these SKUs.",
    ),
    (
        "POST",
        "/V1/products/cost-delete",
        CostStorage.delete,
        "skus",
        SkusRequest,
        "Delete the costs of these SKUs (answers true).",
    ),
):
    _route(method, path, service, key, request, summary)
