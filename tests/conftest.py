"""Fixtures shared by the whole suite.

Tests marked ``postgres`` need PostgreSQL (row locks, real concurrency). With no DATABASE_URL
they are deselected and the run says so; in CI (CI=true) a missing PostgreSQL is an error.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, connections

from tests import factories


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_collection_modifyitems(config, items) -> None:
    if _on_postgres():
        return
    needs_pg = [item for item in items if item.get_closest_marker("postgres")]
    if not needs_pg:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError("CI runs every test on PostgreSQL: set DATABASE_URL.")
    config.hook.pytest_deselected(items=needs_pg)
    items[:] = [item for item in items if not item.get_closest_marker("postgres")]
    config._loyalty_pg_deselected = len(needs_pg)


def pytest_terminal_summary(terminalreporter, config) -> None:
    count = getattr(config, "_loyalty_pg_deselected", 0)
    if count:
        terminalreporter.write_line(
            f"{count} PostgreSQL test(s) not run: set DATABASE_URL to run the whole suite.",
            yellow=True,
        )


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "postgres: needs PostgreSQL (row locks, real concurrency)")
    config.addinivalue_line("markers", "without_authenticator_app: staff made here have no TOTP set up")


@pytest.fixture
def wsgi_keeps_test_connection():
    """Django's WSGI handler closes the connection after each request; a test that calls the
    WSGI app directly (the schema fuzzers) needs its transaction to outlive the requests, as
    under Django's own test client."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit and throttle counters never leak from one test into another (the test
    settings keep the cache in memory, or in Redis when REDIS_URL is set), and neither do the
    program, tiers and keys a thread keeps (``members.config``) nor a process's copy of the
    engagement settings: each test starts from an empty database, so from no engagement
    settings, as a warm process with none would (saving one reloads them)."""
    from campaigns.engagement.config import engagement_config_prime_empty
    from members import config

    cache.clear()
    config.forget()
    engagement_config_prime_empty()
    yield
    cache.clear()
    config.forget()
    engagement_config_prime_empty()


TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp_code(secret: str = TEST_TOTP_SECRET) -> str:
    """The code an authenticator app with ``secret`` shows now."""
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    return format_hotp_value(hotp_value(secret, next(iter(yield_hotp_counters_from_time()))))


@pytest.fixture(autouse=True)
def _staff_have_an_authenticator_app(request):
    """Staff who can change things must have set up two-factor login before admin or the staff
    portal lets them in (``loyalty_site.staff.two_factor``), so staff a test makes have, with
    ``TEST_TOTP_SECRET``; a test about setting it up is marked ``without_authenticator_app``."""
    if request.node.get_closest_marker("without_authenticator_app"):
        yield
        return
    from django.db.models.signals import post_save

    from members.models import User

    def give_authenticator_app(sender, instance, raw=False, **kwargs):
        from allauth.mfa.models import Authenticator
        from allauth.mfa.totp.internal.auth import TOTP

        if instance.is_staff and not raw and not Authenticator.objects.filter(user=instance).exists():
            TOTP.activate(instance, TEST_TOTP_SECRET)

    post_save.connect(give_authenticator_app, sender=User, dispatch_uid="test-staff-totp")
    yield
    post_save.disconnect(sender=User, dispatch_uid="test-staff-totp")


@pytest.fixture
def program(db):
    from members.demo import seed_program
    from members.models import Program

    seed_program()
    return Program.load()


@pytest.fixture
def member(program):
    return factories.MemberFactory()


@pytest.fixture
def staff_user(db):
    return factories.UserFactory(is_staff=True)


def run_in_threads(count: int, target: Callable[[int], Any]) -> list[Any]:
    """Run ``target(i)`` in ``count`` threads released at the same moment; returns each
    thread's result or the exception it raised. Each thread closes its own connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:  # collected for the test to assert on
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results


@pytest.fixture
def threads():
    assert connection.vendor == "postgresql"
    return run_in_threads
