"""The dashboard's settings: `dashboard_settings.FLUSH_INTERVAL`, … (`settings.DASHBOARD`
overrides). See `config.appsettings`; the environment variables are listed in the README.
"""

from __future__ import annotations

from config.appsettings import AppSettings, integer, number

dashboard_settings = AppSettings(
    "DASHBOARD",
    {
        # Live updates of one bulk reach a page at most once per this many seconds,
        # however fast the bulk runs (its changes in between are coalesced).
        "FLUSH_INTERVAL": (0.2, number),
        # How often a server looks at the stored counters of the bulks its pages
        # watch, for changes whose events could not reach it (consumers in other
        # processes without Redis): one query per interval, whatever the pages.
        "POLL_INTERVAL": (1.0, number),
        # Rows per page of the bulk log and of a bulk's operations.
        "PAGE_SIZE": (50, integer),
        # Finished, unacknowledged bulks listed in the header.
        "NOTIFICATIONS": (8, integer),
    },
)
