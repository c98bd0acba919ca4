"""``GET /healthz``: 200 when the database and the broker answer, 503 naming what failed.

The answer names the failed check and nothing more: exception text can carry host names,
user names or paths, and the endpoint is open to anyone. The full error goes to the log."""

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import app as celery_app

logger = logging.getLogger(__name__)


def _database_ok() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any failure means unhealthy
        logger.exception("Health check: the database does not answer")
        return "unavailable"
    return None


def _broker_ok() -> str | None:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception:
        logger.exception("Health check: the broker does not answer")
        return "unavailable"
    return None


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    failed = {name: error for name, error in checks.items() if error}
    body = {
        "status": "ok" if not failed else "unavailable",
        "checks": {name: ("ok" if error is None else error) for name, error in checks.items()},
    }
    return JsonResponse(body, status=503 if failed else 200)
