"""The REST layer's settings, read from `settings.WEBAPI` in this one place.

Read at call time (not import time) so that `override_settings` works in tests.
"""

from __future__ import annotations

from django.conf import settings

DEFAULTS = {
    "MAX_BODY_SIZE": 32 * 1024 * 1024,
    "BULK_MAX_ITEMS": 10_000,
    "TOKEN_LIFETIME_HOURS": 4,
    "SEARCH_MAX_PAGE_SIZE": 300,
    "TOKEN_MAX_FAILURES": 6,
    "TOKEN_LOCK_SECONDS": 1800,
}


def webapi_setting(name: str) -> int:
    """Return `settings.WEBAPI[name]`, or its default."""
    return int(getattr(settings, "WEBAPI", {}).get(name, DEFAULTS[name]))


def max_body_size() -> int:
    return webapi_setting("MAX_BODY_SIZE")


def token_lifetime_hours() -> int:
    return webapi_setting("TOKEN_LIFETIME_HOURS")


def search_max_page_size() -> int:
    return webapi_setting("SEARCH_MAX_PAGE_SIZE")
