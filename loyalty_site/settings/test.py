"""Settings for the test suite: the base settings, with fast hashing and tasks run inline."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
API_THROTTLE_RATE = "off"
# As in production; a test with a receiver on 127.0.0.1 turns it on.
LOYALTY_WEBHOOKS_ALLOW_LOOPBACK = False
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405

if not REDIS_URL:  # noqa: F405
    # Without Redis the site keeps its cache in the database; tests use one in memory instead,
    # so clearing it (rate limits) needs no database access and no cache table.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
