"""Settings, read from the environment in this one place.

Every value has a safe default for the embedded case (`make run`: SQLite, the db
queue transport, the in-memory channel layer). Production sets DATABASE_URL,
QUEUE_CONNECTION=amqp, AMQP_URL, REDIS_URL, DJANGO_SECRET_KEY and DJANGO_HTTPS=1.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
import dj_email_url
from csp.constants import NONCE, NONE, SELF

from config.appsettings import boolean, integer, text_list
from config.environment import read, section

BASE_DIR = Path(__file__).resolve().parent.parent


def _secret_key() -> str:
    """Return DJANGO_SECRET_KEY, or a key generated once and kept beside the project."""
    key = read("DJANGO_SECRET_KEY")
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
DEBUG = read("DJANGO_DEBUG", False, boolean)
ALLOWED_HOSTS = read(
    "DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"], text_list
)
CSRF_TRUSTED_ORIGINS = read("DJANGO_CSRF_TRUSTED_ORIGINS", [], text_list)

# Behind a TLS-terminating proxy in production: DJANGO_HTTPS=1. (Every variable is
# read whatever HTTPS says, so that the list of variables does not depend on it.)
HTTPS = read("DJANGO_HTTPS", False, boolean)
_ssl_redirect = read("DJANGO_SECURE_SSL_REDIRECT", True, boolean)
_hsts_seconds = read("DJANGO_HSTS_SECONDS", 31536000, integer)
_hsts_subdomains = read("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True, boolean)
_hsts_preload = read("DJANGO_HSTS_PRELOAD", True, boolean)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _ssl_redirect
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = _hsts_seconds
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _hsts_subdomains
    SECURE_HSTS_PRELOAD = _hsts_preload
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
    "csp",
    "channels",
    "config",
    "store",
    "catalog",
    "webapi",
    "operations",
    "queues",
    "dashboard",
    "imports",
]

MIDDLEWARE = [
    "webapi.middleware.RestHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
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
                "dashboard.context.notifications",
                "config.mail.mail",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        read("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        # 0 by default: under ASGI every request runs in its own thread, and kept
        # connections would pile up until PostgreSQL refuses new ones.
        conn_max_age=read("DATABASE_CONN_MAX_AGE", 0, integer),
        conn_health_checks=True,
    )
}
DATABASE_POOL_SIZE = read("DATABASE_POOL_SIZE", 20, integer)
DATABASE_POOL_TIMEOUT = read("DATABASE_POOL_TIMEOUT", 60, integer)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the server and a consumer process share the file;
    # IMMEDIATE transactions take the write lock up front instead of failing on upgrade.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;"
        ),
    }
    # A file, not memory, so that consumer subprocesses started by tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}
elif DATABASE_POOL_SIZE > 0:
    # PostgreSQL: a pool of at most DATABASE_POOL_SIZE connections per process. Under
    # ASGI every request runs in a thread of its own: without a bound, a burst of
    # requests opens as many connections and PostgreSQL refuses the ones past its
    # max_connections ("too many clients"); with it, the burst waits its turn.
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps the connections
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_SIZE,
        "timeout": DATABASE_POOL_TIMEOUT,
    }
    # CONN_HEALTH_CHECKS (on) makes the pool check a connection before handing it out:
    # after a database restart the stale ones are replaced instead of failing a request.

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

# One sign-in throttle for the token route, /accounts/login/ and /admin/login/:
# ModelBackend behind Magento's authentication lock (WEBAPI_ADMIN_TOKEN_MAX_FAILURES).
AUTHENTICATION_BACKENDS = ["webapi.signin.ThrottledModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "login"

# --- Server (`manage.py serve`) ---------------------------------------------------
# Server processes sharing the listening socket (`serve --workers`); more than 1 needs
# REDIS_URL, so that websockets hear of changes made in another process.
SERVE_WORKERS = read("SERVE_WORKERS", 1, integer)

# --- Channels (websockets) ------------------------------------------------------
REDIS_URL = read("REDIS_URL", "")
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
# Defaults and kinds of the app settings live in each app's conf.py; settings.py only
# passes on the environment variables that are set.
WEBAPI = section(
    "WEBAPI",
    MAX_BODY_SIZE="WEBAPI_MAX_BODY_SIZE",
    BULK_MAX_ITEMS="WEBAPI_BULK_MAX_ITEMS",
    TOKEN_LIFETIME_HOURS="WEBAPI_ADMIN_TOKEN_LIFETIME_HOURS",
    TOKEN_MAX_FAILURES="WEBAPI_ADMIN_TOKEN_MAX_FAILURES",
    TOKEN_LOCK_SECONDS="WEBAPI_ADMIN_TOKEN_LOCK_SECONDS",
    SEARCH_MAX_PAGE_SIZE="WEBAPI_SEARCH_MAX_PAGE_SIZE",
)
# REST bodies are read and limited by the Web API itself (WEBAPI["MAX_BODY_SIZE"],
# answered 413 in Magento's shape), never through request.body; Django's own limit
# guards the HTML forms.
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

# --- Store configuration (store/conf.py) -------------------------------------------
STORE = section(
    "STORE",
    LOCALE="STORE_LOCALE",
    BASE_CURRENCY="STORE_BASE_CURRENCY",
    DEFAULT_DISPLAY_CURRENCY="STORE_DEFAULT_DISPLAY_CURRENCY",
    TIMEZONE="STORE_TIMEZONE",
    WEIGHT_UNIT="STORE_WEIGHT_UNIT",
    BASE_URL="STORE_BASE_URL",
    SECURE_BASE_URL="STORE_SECURE_BASE_URL",
)

# Magento's catalog/price/scope: 0 global (one price for every website), 1 website.
CATALOG_PRICE_SCOPE = read("CATALOG_PRICE_SCOPE", 0, integer)

# --- Message queues (queues/conf.py) ----------------------------------------------
QUEUES = section(
    "QUEUES",
    CONNECTION="QUEUE_CONNECTION",
    AMQP_URL="AMQP_URL",
    AMQP_QUEUE_TYPE="AMQP_QUEUE_TYPE",
    AMQP_PREFETCH="AMQP_PREFETCH",
    AMQP_RECONNECT_ATTEMPTS="AMQP_RECONNECT_ATTEMPTS",
    AMQP_RECONNECT_MAX_DELAY="AMQP_RECONNECT_MAX_DELAY",
    MAX_TRIALS="QUEUE_MAX_TRIALS",
    DB_VISIBILITY_TIMEOUT="QUEUE_DB_VISIBILITY_TIMEOUT",
    DB_CLAIM_BATCH="QUEUE_DB_CLAIM_BATCH",
    DB_POLL_INTERVAL="QUEUE_DB_POLL_INTERVAL",
    DB_KEEP_DONE_HOURS="QUEUE_DB_KEEP_DONE_HOURS",
    DEDUP_KEEP_HOURS="QUEUE_DEDUP_KEEP_HOURS",
    COMMIT_INTERVAL="QUEUE_COMMIT_INTERVAL",
    HEARTBEAT_INTERVAL="QUEUE_HEARTBEAT_INTERVAL",
    DECLARATION_MODULES="QUEUE_DECLARATION_MODULES",
    EMBEDDED_CONSUMERS="QUEUE_EMBEDDED_CONSUMERS",
    METRICS_KEEP_DAYS="QUEUE_METRICS_KEEP_DAYS",
    AMQP_MANAGEMENT_URL="AMQP_MANAGEMENT_URL",
    DEPTH_SAMPLE_INTERVAL="QUEUE_DEPTH_SAMPLE_INTERVAL",
    DEAD_LETTER_BATCH="QUEUE_DEAD_LETTER_BATCH",
    RUNNER_MAX_MESSAGES="QUEUE_RUNNER_MAX_MESSAGES",
    RUNNER_CONSUMERS="QUEUE_RUNNER_CONSUMERS",
    RUNNER_MULTIPLE_PROCESSES="QUEUE_RUNNER_MULTIPLE_PROCESSES",
    RUNNER_ONLY_SPAWN_WHEN_MESSAGE_AVAILABLE="QUEUE_RUNNER_ONLY_SPAWN_WHEN_MESSAGE_AVAILABLE",
    RUNNER_MAX_IDLE_TIME="QUEUE_RUNNER_MAX_IDLE_TIME",
)

# --- Operations (operations/conf.py) ------------------------------------------------
OPERATIONS = section(
    "OPERATIONS",
    MAX_ATTEMPTS="OPERATIONS_MAX_ATTEMPTS",
    CONSUMER_BATCH_SIZE="OPERATIONS_CONSUMER_BATCH_SIZE",
    RETRY_BACKOFF_SECONDS="OPERATIONS_RETRY_BACKOFF_SECONDS",
    STUCK_AFTER_SECONDS="OPERATIONS_STUCK_AFTER_SECONDS",
    BULK_LIFETIME_DAYS="OPERATIONS_BULK_LIFETIME_DAYS",
    RELAY_INTERVAL_SECONDS="OPERATIONS_RELAY_INTERVAL_SECONDS",
    SECRET_KEYS="OPERATIONS_SECRET_KEYS",
)

# --- Dashboard (dashboard/conf.py) --------------------------------------------------
DASHBOARD = section(
    "DASHBOARD",
    FLUSH_INTERVAL="DASHBOARD_FLUSH_INTERVAL",
    POLL_INTERVAL="DASHBOARD_POLL_INTERVAL",
    PAGE_SIZE="DASHBOARD_PAGE_SIZE",
)

# --- Imports (imports/conf.py) ------------------------------------------------------
IMPORTS = section(
    "IMPORTS",
    CHUNK_SIZE="IMPORTS_CHUNK_SIZE",
    MAX_UPLOAD_BYTES="IMPORTS_MAX_UPLOAD_BYTES",
    UPLOAD_DIR="IMPORTS_UPLOAD_DIR",
    SLICE_SECONDS="IMPORTS_SLICE_SECONDS",
)

# --- Content-Security-Policy (django-csp) ---------------------------------------
# Scripts and styles only from this site: the pages have no inline script or style
# attribute. The few inline blocks a page needs (Swagger UI's) carry the request's
# nonce. The dashboard's websocket is same-origin ('self' covers ws:/wss: to this
# host); no page may be framed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Mail (password reset) ----------------------------------------------------
# EMAIL_URL (smtp://user:pass@host:port, submission:// for STARTTLS on 587, ?ssl=True
# for TLS on 465, console://, dummy://; dj-email-url) configures mail; without it mails go to
# the server's log (DJANGO_EMAIL_BACKEND, console by default) and the password reset
# page says that no mail will be sent.
_email_url = read("EMAIL_URL")
EMAIL_BACKEND = read("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = read("DJANGO_DEFAULT_FROM_EMAIL", "webmaster@localhost")
if _email_url:
    _email = dj_email_url.parse(_email_url)
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email["EMAIL_HOST"]
    EMAIL_PORT = _email["EMAIL_PORT"]
    EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
    EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
    EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
    EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
    EMAIL_TIMEOUT = _email["EMAIL_TIMEOUT"] or 30
    if _email["EMAIL_FILE_PATH"]:
        EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": read("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "pika": {"level": "CRITICAL"}},
}
