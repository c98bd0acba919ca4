"""Making sure the benchmark talks to PostgreSQL: with no PostgreSQL ``DATABASE_URL`` the
command runs itself again against the default benchmark database, created if missing."""

from __future__ import annotations

import os
import sys
from urllib.parse import urlparse

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench"


def ensure_postgres() -> None:
    """Re-run the current command with DATABASE_URL pointing at PostgreSQL unless it already
    does; create the database when it does not exist yet."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    _create_database(url)
    env = {**os.environ, "DATABASE_URL": url}
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def _create_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
