"""The Web API's settings: `webapi_settings.MAX_BODY_SIZE`, … (`settings.WEBAPI` overrides).

See `config.appsettings`; the environment variables are listed in the README.
"""

from __future__ import annotations

from config.appsettings import AppSettings, integer

webapi_settings = AppSettings(
    "WEBAPI",
    {
        # Largest request body in bytes; larger ones get 413 in Magento's shape.
        "MAX_BODY_SIZE": (32 * 1024 * 1024, integer),
        # Most items in one bulk request; more get 413.
        "BULK_MAX_ITEMS": (10_000, integer),
        "TOKEN_LIFETIME_HOURS": (4, integer),
        # Magento's authentication lock: after this many failed admin token requests
        # for a username, it is refused for TOKEN_LOCK_SECONDS, even with the right password.
        "TOKEN_MAX_FAILURES": (6, integer),
        "TOKEN_LOCK_SECONDS": (1800, integer),
        # Largest (and default) page of a search.
        "SEARCH_MAX_PAGE_SIZE": (300, integer),
    },
)
