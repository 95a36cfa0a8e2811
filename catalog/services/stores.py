"""Websites, store groups, store views and their configuration: Magento_Store's
`WebsiteRepositoryInterface`, `GroupRepositoryInterface`, `StoreRepositoryInterface`
and `StoreConfigManagerInterface` (all read-only, as on Magento's REST API).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from catalog.serializers.stores import (
    render_group,
    render_store,
    render_store_config,
    render_website,
)
from store.conf import store_settings
from store.models import ADMIN_STORE_ID, Store, StoreGroup, Website

if TYPE_CHECKING:
    from webapi.routes import CallContext

# `storeCodes[]=a&storeCodes[]=b`, `storeCodes[0]=a`, or `storeCodes=a`.
_STORE_CODES = re.compile(r"^storeCodes(\[\d*\])?$")


class WebsiteRepository:
    @staticmethod
    def get_list(ctx: CallContext) -> list[dict[str, Any]]:
        """Return every website, the admin website 0 included, by id."""
        return [render_website(w) for w in Website.objects.order_by("id")]


class GroupRepository:
    @staticmethod
    def get_list(ctx: CallContext) -> list[dict[str, Any]]:
        """Return every store group, the admin group 0 included, by id."""
        return [render_group(g) for g in StoreGroup.objects.order_by("id")]


class StoreRepository:
    @staticmethod
    def get_list(ctx: CallContext) -> list[dict[str, Any]]:
        """Return every store view, the admin store 0 included, active or not, by id."""
        stores = Store.objects.select_related("website").order_by("id")
        return [render_store(s) for s in stores]


class StoreConfigManager:
    @staticmethod
    def get_store_configs(
        ctx: CallContext, store_codes: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Return the configuration of the store views named by `store_codes` (all of
        them when None or empty), without the admin store, by id.

        Unknown codes are skipped, as Magento's `code IN (...)` filter skips them.
        """
        stores = Store.objects.exclude(pk=ADMIN_STORE_ID).order_by("id")
        if store_codes:
            stores = stores.filter(code__in=store_codes)
        config = store_config()
        urls = base_urls(ctx.base_url)
        return [render_store_config(s, config, urls) for s in stores]


def store_config() -> dict[str, str]:
    """Return the configured locale, currencies, timezone and weight unit."""
    base_currency = store_settings.BASE_CURRENCY
    return {
        "locale": store_settings.LOCALE,
        "base_currency_code": base_currency,
        "default_display_currency_code": store_settings.DEFAULT_DISPLAY_CURRENCY or base_currency,
        "timezone": store_settings.TIMEZONE,
        "weight_unit": store_settings.WEIGHT_UNIT,
    }


def base_urls(request_base_url: str) -> dict[str, str]:
    """Return the `base` and `secure` root URLs, each ending in `/`: the settings when
    given, else the request's own root URL."""
    base = _with_slash(store_settings.BASE_URL or request_base_url or "/")
    secure = _with_slash(store_settings.SECURE_BASE_URL or base)
    return {"base": base, "secure": secure}


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def store_codes(query: Mapping[str, Any]) -> list[str]:
    """Return the `storeCodes` of a query string, in the order given."""
    codes: list[str] = []
    getlist = getattr(query, "getlist", None)
    for key in query:
        if not _STORE_CODES.match(key):
            continue
        values = getlist(key) if getlist else [query[key]]
        codes.extend(str(v) for v in values if str(v) != "")
    return codes
