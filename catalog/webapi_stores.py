"""The store routes (Magento_Store's `webapi.xml`): websites, store groups, store
views and store configs, all read-only.

Magento guards the four with one ACL resource (`Magento_Backend::store`); here each
needs the view permission of the model it lists: `store.view_website`,
`store.view_storegroup`, `store.view_store` (store views and their configs).
The routes live in the catalog because the store app imports nothing of the Web API.
"""

from __future__ import annotations

from typing import Any

from catalog.services import (
    GroupRepository,
    StoreConfigManager,
    StoreRepository,
    WebsiteRepository,
)
from catalog.services.stores import store_codes
from catalog.webapi import Params, custom
from webapi.routes import CallContext, Route, register


def _store_configs(ctx: CallContext, params: Params, data: Any) -> Any:
    return StoreConfigManager.get_store_configs(ctx, store_codes(ctx.query))


def _list(service: Any) -> Any:
    return custom(service, lambda ctx, params, data: service(ctx))


STORE_ROUTES = (
    (
        "/V1/store/websites",
        _list(WebsiteRepository.get_list),
        "website",
        "List the websites (the admin website 0 included).",
    ),
    (
        "/V1/store/storeGroups",
        _list(GroupRepository.get_list),
        "storegroup",
        "List the store groups, with their root category and default store view.",
    ),
    (
        "/V1/store/storeViews",
        _list(StoreRepository.get_list),
        "store",
        "List the store views (the admin store 0 included).",
    ),
    (
        "/V1/store/storeConfigs",
        custom(StoreConfigManager.get_store_configs, _store_configs),
        "store",
        "Read the store views' configuration (storeCodes[]=... to choose; all by default).",
    ),
)

for path, call, model, summary in STORE_ROUTES:
    register(
        Route(
            method="GET",
            path=path,
            service=f"catalog.services.{call.service.__qualname__}",
            call=call,
            permission=f"store.view_{model}",
            summary=summary,
            tags=("stores",),
        )
    )
