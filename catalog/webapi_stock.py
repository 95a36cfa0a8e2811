"""Stock routes: CatalogInventory's `webapi.xml` (legacy stock items and statuses) and
Inventory's (MSI sources and source items) and InventorySales' salable quantity.

Permissions are those of the models behind them: `catalog.view_stockitem` /
`catalog.change_stockitem` for the legacy stock, `catalog.view_source` for sources,
`catalog.view_sourceitem` / `catalog.change_sourceitem` for source items.
"""

from __future__ import annotations

from typing import Any

from catalog.serializers.inventory import (
    SourceItemsDeleteRequest,
    SourceItemsRequest,
    StockItemRequest,
)
from catalog.services import (
    GetProductSalableQty,
    SourceItemRepository,
    SourceItemsDelete,
    SourceItemsSave,
    SourceRepository,
    StockRegistry,
)
from catalog.webapi import Params, _param, by, custom, declare, searching
from webapi.routes import CallContext


def _update_stock_item(ctx: CallContext, params: Params, data: Any) -> int:
    return StockRegistry.update_stock_item_by_sku(
        ctx,
        _param(params, data, "productSku"),
        data["stockItem"],
        _param(params, data, "itemId"),
    )


def _save_source_items(ctx: CallContext, params: Params, data: Any) -> list[Any]:
    return SourceItemsSave.execute(ctx, data["sourceItems"])


def _delete_source_items(ctx: CallContext, params: Params, data: Any) -> list[Any]:
    return SourceItemsDelete.execute(ctx, data["sourceItems"])


declare(
    "stock",
    "stockitem",
    (
        "GET",
        "/V1/stockItems/:productSku",
        by(StockRegistry.get_stock_item_by_sku, "productSku"),
        "Read a product's stock item (the default stock).",
    ),
    (
        "PUT",
        "/V1/products/:productSku/stockItems/:itemId",
        custom(StockRegistry.update_stock_item_by_sku, _update_stock_item),
        "Update a product's stock item; answers its item id.",
        StockItemRequest,
    ),
    (
        "GET",
        "/V1/stockStatuses/:productSku",
        by(StockRegistry.get_stock_status_by_sku, "productSku"),
        "Read a product's stock status (the default stock).",
    ),
    (
        "GET",
        "/V1/inventory/get-product-salable-quantity/:sku/:stockId",
        by(GetProductSalableQty.execute, "sku", "stockId"),
        "The quantity of a product that can be sold from a stock.",
    ),
)
declare(
    "stock",
    "source",
    (
        "GET",
        "/V1/inventory/sources",
        searching(SourceRepository.get_list),
        "Search sources (searchCriteria).",
    ),
    (
        "GET",
        "/V1/inventory/sources/:sourceCode",
        by(SourceRepository.get, "sourceCode"),
        "Read a source.",
    ),
)
declare(
    "stock",
    "sourceitem",
    (
        "GET",
        "/V1/inventory/source-items",
        searching(SourceItemRepository.get_list),
        "Search source items (searchCriteria).",
    ),
    (
        "POST",
        "/V1/inventory/source-items",
        custom(SourceItemsSave.execute, _save_source_items),
        "Create or update source items (all or none); answers [].",
        SourceItemsRequest,
    ),
    (
        "POST",
        "/V1/inventory/source-items-delete",
        custom(SourceItemsDelete.execute, _delete_source_items),
        "Delete source items; answers [].",
        SourceItemsDeleteRequest,
    ),
)
