"""The store configuration answered by `GET /V1/store/storeConfigs`:
`store_settings.LOCALE`, … (`settings.STORE` overrides).

Magento reads these per store from its configuration (`general/locale/code`,
`currency/options/base`, `currency/options/default`, `general/locale/timezone`,
`general/locale/weight_unit`, `web/unsecure/base_url`, `web/secure/base_url`); here
they are one value for every store. The defaults are those of Magento's own
`config.xml`. See `config.appsettings`; the environment variables are listed in the
README.
"""

from __future__ import annotations

from config.appsettings import AppSettings, text

store_settings = AppSettings(
    "STORE",
    {
        "LOCALE": ("en_US", text),
        "BASE_CURRENCY": ("USD", text),
        # Empty: the base currency.
        "DEFAULT_DISPLAY_CURRENCY": ("", text),
        "TIMEZONE": ("America/Los_Angeles", text),
        "WEIGHT_UNIT": ("lbs", text),
        # Empty: derived from each request (scheme and host, then `/`).
        "BASE_URL": ("", text),
        # Empty: the base URL (given or derived).
        "SECURE_BASE_URL": ("", text),
    },
)
