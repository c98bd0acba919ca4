"""Cursors for the few fixed statements of the hot paths (a purchase, a member's figures). On
PostgreSQL their statements are bound and prepared by the server: parsed and planned once per
database connection rather than once per request, their parameters sent as values instead of
quoted into the text. Django still wraps the cursor, so the statements are logged, counted by
the tests and passed through ``execute_wrappers`` like any other.

Django leaves prepared statements off by default for connection poolers in transaction mode
(PgBouncer before 1.21): a deployment behind one sets ``LOYALTY_PREPARED_STATEMENTS`` to false.
Elsewhere (SQLite) this is the ordinary cursor.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.db.backends.postgresql.base import ServerBindingCursor


class PreparedCursor(ServerBindingCursor):
    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


@contextmanager
def hot_cursor() -> Iterator:
    if connection.vendor != "postgresql" or not settings.LOYALTY_PREPARED_STATEMENTS:
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = connection._prepare_cursor(PreparedCursor(connection.connection))
    try:
        yield cursor
    finally:
        cursor.close()
