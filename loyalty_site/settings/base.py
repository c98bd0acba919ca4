"""Settings shared by every environment; what differs in production comes from the environment.

Twelve-factor: DATABASE_URL, REDIS_URL, SECRET_KEY, DEBUG, ALLOWED_HOSTS and EMAIL_URL are read
from the environment with safe development defaults. With no DATABASE_URL the site runs on
SQLite, and with no REDIS_URL Celery uses a broker on the filesystem, so `make run` needs no
server at all.
"""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Where `make run` keeps its logs, the beat's schedule and the embedded broker's messages.
RUN_DIR = Path(os.environ.get("LOYALTY_RUN_DIR") or BASE_DIR / ".run")

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_tables2",
    "members",
    "campaigns",
    "rewards",
    "loyalty_site",
    "loyalty_site.staff",  # last: its admin module wraps every other admin's actions
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "loyalty_site.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Sessions, the session's user and messages step aside for /api/ (loyalty_site.middleware).
    "loyalty_site.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "loyalty_site.middleware.AuthenticationMiddleware",
    "loyalty_site.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "loyalty_site.staff.two_factor.StaffTwoFactorMiddleware",
]

ROOT_URLCONF = "loyalty_site.urls"
WSGI_APPLICATION = "loyalty_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database --------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3's pool: connections are reused across requests, so CONN_MAX_AGE stays 0.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=1),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=20),
        "timeout": env.int("DB_POOL_TIMEOUT", default=30),
    }
else:
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # SQLite ignores an index's INCLUDE columns; the covering indexes matter on PostgreSQL.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- accounts --------------------------------------------------------------------------------
AUTH_USER_MODEL = "members.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_REDIRECT_URL = "/portal/"
LOGOUT_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_ADAPTER = "members.adapters.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "members.forms.SignupForm"
ACCOUNT_CHANGE_EMAIL = True  # one address per login; a new one replaces it once verified
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True  # confirming in the browser that signed up logs in
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Rewards Club] "
# Two-factor login (required of staff who can change things: loyalty_site.staff.two_factor).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Rewards Club"

ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
}

# --- cache and sessions ----------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Django's Redis backend, keeping one client per connection pool (loyalty_site.cache).
    CACHES = {"default": {"BACKEND": "loyalty_site.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    # allauth's rate limits need a cache every process shares; the database is one.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "loyalty_cache",
        }
    }
# Sessions are kept in the database and read through the cache: a page view reads no session row.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- mail ------------------------------------------------------------------------------------
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url_config(EMAIL_URL))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Rewards Club <rewards@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- static files ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LANGUAGE_CODE = "en"
# A coalition like the seeds' Swiss one runs in several languages: the browser's choice, or the
# one picked with the switcher (a cookie), and for mail the member's own (Member.language).
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- API -------------------------------------------------------------------------------------
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="50/s")
# Proxies in front of the site that append to X-Forwarded-For (a load balancer: 1). Login rate
# limits and the API's wrong-key limit count the client behind them; with 0 the header is ignored.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("ALLAUTH_TRUSTED_PROXY_COUNT", default=0)
# Requests with a wrong API key, per client address, before 429.
API_FAILED_KEY_RATE = env.str("API_FAILED_KEY_RATE", default="20/min")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["loyalty_site.api.authentication.StoreKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["loyalty_site.api.authentication.IsStore"],
    "DEFAULT_THROTTLE_CLASSES": ["loyalty_site.api.throttling.StoreKeyThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "loyalty_site.api.negotiation.FirstRendererNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "loyalty_site.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    # The client address of throttles: the proxies in front of the site, as for allauth.
    "NUM_PROXIES": ALLAUTH_TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Loyalty platform API",
    "DESCRIPTION": "Point-of-sale and e-commerce systems enroll members, post purchases and "
    "refunds, redeem rewards and use vouchers.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's files come from static/ (drf-spectacular-sidecar): the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- logging ---------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- program tunables (LOYALTY_ prefix) ------------------------------------------------------
# Members per chunk of a set-based job; each chunk is one transaction.
LOYALTY_JOB_CHUNK_SIZE = env.int("LOYALTY_JOB_CHUNK_SIZE", default=5000)
# The hot paths' statements are prepared by PostgreSQL (members.statements); false behind a
# connection pooler in transaction mode that cannot keep prepared statements.
LOYALTY_PREPARED_STATEMENTS = env.bool("LOYALTY_PREPARED_STATEMENTS", default=True)
# The public address used in mails and referral links.
LOYALTY_SITE_URL = env.str("LOYALTY_SITE_URL", default="http://127.0.0.1:8000")
# Webhooks (members/webhooks/conf.py has the rest): http and loopback receivers only when on.
LOYALTY_WEBHOOKS_ALLOW_LOOPBACK = env.bool("LOYALTY_WEBHOOKS_ALLOW_LOOPBACK", default=DEBUG)
LOYALTY_WEBHOOKS_TIMEOUT = env.float("LOYALTY_WEBHOOKS_TIMEOUT", default=10.0)
LOYALTY_WEBHOOKS_KEEP_DAYS = env.int("LOYALTY_WEBHOOKS_KEEP_DAYS", default=30)

from .celery import *  # noqa: E402,F403
