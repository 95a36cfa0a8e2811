"""Settings, read from the environment in this one place.

Every value has a safe default for the embedded case (`make run`: SQLite, the db
queue transport, the in-memory channel layer). Production sets DATABASE_URL,
QUEUE_CONNECTION=amqp, AMQP_URL, REDIS_URL, DJANGO_SECRET_KEY and DJANGO_HTTPS=1.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
_num = TypeVar("_num")  # lower-case: Django reads upper-case names as settings


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_number(name: str, default: _num, parse: Callable[[str], _num], kind: str) -> _num:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return parse(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be {kind}, got {value!r}") from exc


def env_int(name: str, default: int) -> int:
    return _env_number(name, default, int, "an integer")


def env_float(name: str, default: float) -> float:
    return _env_number(name, default, float, "a number")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_counts(name: str) -> dict[str, int]:
    """Parse `name=3,other=2` into {"name": 3, "other": 2}."""
    counts: dict[str, int] = {}
    for item in env_list(name, ""):
        key, sep, value = item.rpartition("=")
        if not sep or not key.strip() or not value.strip().isdigit():
            raise ImproperlyConfigured(f"{name} must look like 'consumer=2,other=1', got {item!r}")
        counts[key.strip()] = int(value)
    return counts


def _secret_key() -> str:
    """Return DJANGO_SECRET_KEY, or a key generated once and kept beside the project."""
    key = os.environ.get("DJANGO_SECRET_KEY")
    if key:
        return key
    path = BASE_DIR / ".secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        path.write_text(key)
        path.chmod(0o600)
        return key


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

# Behind a TLS-terminating proxy in production: DJANGO_HTTPS=1.
HTTPS = env_bool("DJANGO_HTTPS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "channels",
    "config",
    "store",
    "catalog",
    "webapi",
    "operations",
    "queues",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        # 0 by default: under ASGI every request runs in its own thread, and kept
        # connections would pile up until PostgreSQL refuses new ones.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the server and a consumer process share the file;
    # IMMEDIATE transactions take the write lock up front instead of failing on upgrade.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
    }
    # A file, not memory, so that consumer subprocesses started by tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Serve straight from the app folders when collectstatic has not run (embedded case).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Channels (websockets) ------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- REST API -------------------------------------------------------------------
# Bodies are limited by WEBAPI["MAX_BODY_SIZE"] (answered 413 in Magento's shape),
# so Django's own in-memory limit is raised to match.
WEBAPI = {
    "MAX_BODY_SIZE": env_int("WEBAPI_MAX_BODY_SIZE", 32 * 1024 * 1024),
    "BULK_MAX_ITEMS": env_int("WEBAPI_BULK_MAX_ITEMS", 10_000),
    "TOKEN_LIFETIME_HOURS": env_int("WEBAPI_ADMIN_TOKEN_LIFETIME_HOURS", 4),
    # Magento's authentication lock: after this many failed admin token requests
    # for a username, it is refused for TOKEN_LOCK_SECONDS, even with the right password.
    "TOKEN_MAX_FAILURES": env_int("WEBAPI_ADMIN_TOKEN_MAX_FAILURES", 6),
    "TOKEN_LOCK_SECONDS": env_int("WEBAPI_ADMIN_TOKEN_LOCK_SECONDS", 1800),
    "SEARCH_MAX_PAGE_SIZE": env_int("WEBAPI_SEARCH_MAX_PAGE_SIZE", 300),
}
DATA_UPLOAD_MAX_MEMORY_SIZE = WEBAPI["MAX_BODY_SIZE"] + 1
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
    # Every error in Magento's shape; unexpected ones still reach Django's
    # got_request_exception signal and the django.request logger.
    "EXCEPTION_HANDLER": "webapi.errors.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Async & Bulk REST API",
    "DESCRIPTION": "Magento-compatible synchronous, asynchronous and bulk REST API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Paths come from the route registry (every call goes through one catch-all view).
    "DEFAULT_GENERATOR_CLASS": "webapi.schema.RegistrySchemaGenerator",
    # Swagger UI's assets are served from the sidecar package, not a CDN, so the
    # docs work offline and behind strict content policies.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# --- Message queues (read by queues/conf.py) --------------------------------------
QUEUES = {
    "CONNECTION": os.environ.get("QUEUE_CONNECTION", "db"),
    "AMQP_URL": os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
    "AMQP_QUEUE_TYPE": os.environ.get("AMQP_QUEUE_TYPE", "classic"),
    "AMQP_PREFETCH": env_int("AMQP_PREFETCH", 100),
    "AMQP_RECONNECT_ATTEMPTS": env_int("AMQP_RECONNECT_ATTEMPTS", 10),
    "AMQP_RECONNECT_MAX_DELAY": env_float("AMQP_RECONNECT_MAX_DELAY", 5.0),
    "MAX_TRIALS": env_int("QUEUE_MAX_TRIALS", 5),
    "DB_VISIBILITY_TIMEOUT": env_int("QUEUE_DB_VISIBILITY_TIMEOUT", 300),
    "DB_CLAIM_BATCH": env_int("QUEUE_DB_CLAIM_BATCH", 100),
    "DB_POLL_INTERVAL": env_float("QUEUE_DB_POLL_INTERVAL", 0.5),
    "DB_KEEP_DONE_HOURS": env_int("QUEUE_DB_KEEP_DONE_HOURS", 24),
    "EMBEDDED_CONSUMERS": env_bool("QUEUE_EMBEDDED_CONSUMERS", True),
    # How long processed message_ids are remembered to drop redelivered duplicates.
    "DEDUP_KEEP_HOURS": env_int("QUEUE_DEDUP_KEEP_HOURS", 7 * 24),
    # Per-message handlers commit in groups (one savepoint each) at most this often, in
    # seconds; 0 commits after every message.
    "COMMIT_INTERVAL": env_float("QUEUE_COMMIT_INTERVAL", 0.2),
    # How often a consumer heartbeats and looks for a restart request (seconds).
    "HEARTBEAT_INTERVAL": env_float("QUEUE_HEARTBEAT_INTERVAL", 5.0),
    # Modules imported at start-up for their declarations, besides each app's queues.py.
    "DECLARATION_MODULES": env_list("QUEUE_DECLARATION_MODULES", ""),
    # The supervising runner (Magento's cron_consumers_runner).
    "RUNNER": {
        "max_messages": env_int("QUEUE_RUNNER_MAX_MESSAGES", 10_000),
        "consumers": env_list("QUEUE_RUNNER_CONSUMERS", ""),
        # QUEUE_RUNNER_MULTIPLE_PROCESSES="async.operations.all=4,other=1" (default 1 each).
        "multiple_processes": env_counts("QUEUE_RUNNER_MULTIPLE_PROCESSES"),
        "only_spawn_when_message_available": env_bool("QUEUE_RUNNER_ONLY_SPAWN_WHEN_MESSAGE_AVAILABLE", True),
        # Passed to spawned consumers as --max-idle-time (0: wait for messages forever).
        "max_idle_time": env_float("QUEUE_RUNNER_MAX_IDLE_TIME", 0.0),
    },
}

# --- Operations (read by operations/conf.py) ----------------------------------------
OPERATIONS = {
    "MAX_ATTEMPTS": env_int("OPERATIONS_MAX_ATTEMPTS", 5),
    "RETRY_BACKOFF_SECONDS": env_float("OPERATIONS_RETRY_BACKOFF_SECONDS", 0.2),
    "STUCK_AFTER_SECONDS": env_int("OPERATIONS_STUCK_AFTER_SECONDS", 3600),
    "BULK_LIFETIME_DAYS": env_int("OPERATIONS_BULK_LIFETIME_DAYS", 60),
    "RELAY_INTERVAL_SECONDS": env_float("OPERATIONS_RELAY_INTERVAL_SECONDS", 5.0),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "pika": {"level": "CRITICAL"}},
}
