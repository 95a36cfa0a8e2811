"""The imports app's settings: `imports_settings.CHUNK_SIZE`, … (`settings.IMPORTS`
overrides). See `config.appsettings`; the environment variables are listed in the README.
"""

from __future__ import annotations

from config.appsettings import AppSettings, integer, number, text

imports_settings = AppSettings(
    "IMPORTS",
    {
        # Rows per bulk: one bulk (one Idempotency-Key) per chunk of the file.
        "CHUNK_SIZE": (1000, integer),
        # The largest file the dashboard accepts, in bytes (the command line has no limit).
        "MAX_UPLOAD_BYTES": (200 * 1024 * 1024, integer),
        # How long one slice of an import runs (one transaction, then the next message).
        "SLICE_SECONDS": (5.0, number),
        # Where uploaded files are kept until their import is deleted (every process
        # running import jobs must see it: a shared volume when they run on many machines).
        # Empty: `<BASE_DIR>/var/imports`.
        "UPLOAD_DIR": ("", text),
    },
)
