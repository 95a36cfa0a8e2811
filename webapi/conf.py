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
        # Magento's authentication lock: after this many failed sign-ins for a username
        # (token route, /accounts/login/, /admin/login/: webapi.signin), it is refused
        # for TOKEN_LOCK_SECONDS, even with the right password; older failures are forgotten.
        "TOKEN_MAX_FAILURES": (6, integer),
        "TOKEN_LOCK_SECONDS": (1800, integer),
        # Largest (and default) page of a search.
        "SEARCH_MAX_PAGE_SIZE": (300, integer),
        # Longest searchCriteria filter value, and longest like/nlike pattern, in
        # characters; longer ones get 400 (docs/api.md). Not read from the environment.
        "SEARCH_MAX_VALUE_LENGTH": (1000, integer),
        "SEARCH_MAX_LIKE_LENGTH": (255, integer),
    },
)
