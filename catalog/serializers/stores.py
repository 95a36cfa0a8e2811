"""Answers of the store routes, in Magento's shapes (`Magento\\Store\\Api\\Data`).

`WebsiteInterface`, `GroupInterface`, `StoreInterface` and `StoreConfigInterface`;
`extension_attributes` are left out, as Magento does when there are none.
"""

from __future__ import annotations

from typing import Any

from store.models import Store, StoreGroup, Website


def render_website(website: Website) -> dict[str, Any]:
    return {
        "id": website.id,
        "code": website.code,
        "name": website.name,
        "default_group_id": website.default_group_id or 0,
    }


def render_group(group: StoreGroup) -> dict[str, Any]:
    return {
        "id": group.id,
        "website_id": group.website_id,
        "root_category_id": group.root_category_id,
        "default_store_id": group.default_store_id or 0,
        "name": group.name,
        "code": group.code,
    }


def render_store(store: Store) -> dict[str, Any]:
    return {
        "id": store.id,
        "code": store.code,
        "name": store.name,
        "website_id": store.website_id,
        "store_group_id": store.store_group_id,
        "is_active": store.is_active,
    }


def render_store_config(store: Store, config: dict[str, str], urls: dict[str, str]) -> dict:
    """Return a store's `StoreConfigInterface`: its ids, `config` (locale, currencies,
    timezone, weight unit) and `urls` (`base` and `secure` root URLs, ending in `/`)."""
    base, secure = urls["base"], urls["secure"]
    return {
        "id": store.id,
        "code": store.code,
        "website_id": store.website_id,
        **config,
        "base_url": base,
        "base_link_url": base,
        "base_static_url": f"{base}static/",
        "base_media_url": f"{base}media/",
        "secure_base_url": secure,
        "secure_base_link_url": secure,
        "secure_base_static_url": f"{secure}static/",
        "secure_base_media_url": f"{secure}media/",
    }
