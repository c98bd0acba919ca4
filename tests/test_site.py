"""The project's outside surface: pages, health, operator commands and deploy settings."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from members.models import ApiKey, JobRun, LedgerEntry, Member, Store, Tier, User

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/accounts/signup/"])
def test_public_pages_answer(client, program, path):
    response = client.get(path)
    assert response.status_code == 200


def test_healthz_is_200_when_database_and_broker_answer(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_healthz_is_503_naming_the_broker_when_it_is_down(client, db, monkeypatch, caplog):
    """Given a broker that refuses with a message naming a host and a password, the answer names
    the broker and nothing of the error; the log has it."""
    from loyalty_site import health

    def refuse(*args, **kwargs):
        raise OSError("connection to redis://:s3cret@10.1.2.3:6379 refused")

    monkeypatch.setattr(health.celery_app, "connection_for_write", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "ok", "broker": "unavailable"}}
    assert "s3cret" not in response.content.decode()
    assert "s3cret" in caplog.text


def test_seed_demo_is_idempotent(db):
    call_command("seed_demo", "--force", stdout=StringIO())
    counts = (Member.objects.count(), LedgerEntry.objects.count(), Tier.objects.count())
    out = StringIO()
    call_command("seed_demo", "--force", stdout=out)
    assert (Member.objects.count(), LedgerEntry.objects.count(), Tier.objects.count()) == counts
    assert "member@example.com" in out.getvalue()
    assert "Ledger check: Every invariant holds." in out.getvalue()
    assert JobRun.objects.filter(name="check_ledger", outcome=JobRun.Outcome.SUCCEEDED).count() == 2
    roles = {
        user.email: {group.name for group in user.groups.all()}
        for user in User.objects.filter(email__in=["support@example.com", "manager@example.com"])
    }
    assert roles == {"support@example.com": {"Support agent"}, "manager@example.com": {"Store manager"}}


def test_seed_demo_program_only_has_the_contract_tiers_and_no_members(db):
    call_command("seed_demo", "--program-only", stdout=StringIO())
    tiers = list(Tier.objects.order_by("rank").values_list("code", "threshold", "multiplier"))
    assert [(c, int(t), float(m)) for c, t, m in tiers] == [
        ("bronze", 0, 1.0),
        ("silver", 500, 1.25),
        ("gold", 1500, 1.5),
        ("platinum", 5000, 2.0),
    ]
    assert Member.objects.count() == 0


def test_create_api_key_prints_the_key_last_and_stores_only_its_digest(db):
    out = StringIO()
    call_command("create_api_key", "Harbour Street Cafe", stdout=out)
    raw_key = out.getvalue().strip().splitlines()[-1]
    assert raw_key.startswith("lk_")
    store = Store.objects.get(name="Harbour Street Cafe")
    key = ApiKey.objects.get(store=store)
    assert raw_key not in (key.digest, key.prefix) and raw_key.startswith(key.prefix)


def test_check_ledger_exits_non_zero_naming_the_member(member):
    from members.ledger.services import points_credit

    points_credit(member_id=member.pk, points=10, idempotency_key="k", source_type="system")
    Member.objects.filter(pk=member.pk).update(points_pending=3)
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("check_ledger", stdout=StringIO(), stderr=err)
    assert member.member_number in err.getvalue()
    run = JobRun.objects.get(name="check_ledger")
    assert run.outcome == JobRun.Outcome.FAILED and member.member_number in run.detail


def test_api_without_a_key_answers_401_in_the_envelope(client, db):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    response = client.get("/api/v1/no-such-thing/", HTTP_AUTHORIZATION="Bearer lk_wrong")
    assert response.status_code == 401


def test_unknown_api_path_with_a_key_answers_404_in_the_envelope(client, db):
    from members.api_keys import api_key_create, store_get_or_create

    _, raw_key = api_key_create(store=store_get_or_create(name="Shop"))
    response = client.post("/api/v1/no-such-thing/", HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such endpoint."}}


def test_a_revoked_key_is_refused(client, db):
    from members.api_keys import api_key_create, api_key_revoke, store_get_or_create

    key, raw_key = api_key_create(store=store_get_or_create(name="Shop"))
    api_key_revoke(key=key)
    response = client.get("/api/v1/no-such-thing/", HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert response.status_code == 401


def test_production_settings_pass_the_deploy_check():
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; production never does.
    env = {
        **{name: value for name, value in os.environ.items() if name != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "loyalty_site.settings.production",
        "SECRET_KEY": "x" * 20 + "production-secret-key-with-enough-entropy-0123456789",
        "ALLOWED_HOSTS": "loyalty.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_seed_demo_refuses_to_make_demo_logins_with_debug_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.filter(email="member@example.com").exists()
    call_command("seed_demo", "--program-only", stdout=StringIO())
    assert Tier.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_migrate_makes_the_database_cache_table(settings):
    """With no Redis the cache is a table; the migration makes it, so ``migrate`` alone gives a
    site whose rate limits and throttles work."""
    from importlib import import_module

    from django.db import connection

    backend = "django.core.cache.backends.db.DatabaseCache"
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": "cache_made_by_migrate"}}
    migration = import_module("loyalty_site.migrations.0004_cache_table")
    with connection.schema_editor() as editor:
        migration.create_cache_table(None, editor)
        migration.create_cache_table(None, editor)  # again: the table is there, nothing happens
    try:
        assert "cache_made_by_migrate" in connection.introspection.table_names()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE cache_made_by_migrate")


def test_the_embedded_demo_seeds_with_no_server_and_no_run_folder(tmp_path):
    """What `make run` does before it serves, with no DATABASE_URL or REDIS_URL: SQLite and the
    filesystem broker, whose folders no command has made yet (tasks queued on the way land
    there)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "CELERY_TASK_ALWAYS_EAGER")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="loyalty_site.settings.base",
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        LOYALTY_RUN_DIR=str(tmp_path / "run"),
        DEBUG="true",
    )
    for command in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert "Ledger check: Every invariant holds." in result.stdout
    assert "Traceback" not in result.stderr
    assert (tmp_path / "run" / "broker" / "out").is_dir()
