"""Making sure the benchmark talks to a PostgreSQL bench database: with no PostgreSQL
``DATABASE_URL`` the command runs itself again against the default benchmark database, created
if missing; a PostgreSQL database whose name does not say ``bench`` is refused, since
generating the data replaces what is there."""

from __future__ import annotations

import os
import sys
from urllib.parse import urlparse

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench"


def ensure_bench_database() -> None:
    """Re-run the current command with DATABASE_URL pointing at PostgreSQL unless it already
    does; create the database when it does not exist yet. Refuse a database not named for
    benchmarks."""
    from django.core.management.base import CommandError
    from django.db import connection

    if connection.vendor == "postgresql":
        name = connection.settings_dict["NAME"]
        if "bench" not in name:
            raise CommandError(
                f"Database {name!r} is not a bench database (its name must contain 'bench'): the "
                f"benchmark replaces its data. Point DATABASE_URL or BENCH_DATABASE_URL at one, "
                f"e.g. {DEFAULT_URL}."
            )
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
