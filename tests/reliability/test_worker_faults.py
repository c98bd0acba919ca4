"""The nightly jobs on a real Celery worker, against Redis and the test database, with the
worker killed (SIGKILL) in the middle: first one pool process (the worker gives its message
back at once: ``task_reject_on_worker_lost``), then the whole worker (the broker hands its
unacknowledged message out again after the visibility timeout: ``acks_late``). A new worker
finishes the jobs, and the end state equals one clean run of the same jobs on a copy of the
same data, compared member by member through an aggregate hash.

Sizes: ``RELIABILITY_MEMBERS`` members (20,000 by default) with five purchases each, made in
PostgreSQL by the benchmark's generator. docs/reliability.md has the figures of a 100,000 run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from bench.data import bench_data_generate
from loyalty_site.celery import app as celery_app
from members.jobs import job_run
from members.ledger.invariants import ledger_violations
from members.models import JobRun, LedgerEntry, TierChange

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    # The test process sends to the real broker although its own settings run tasks inline.
    pytest.mark.filterwarnings("ignore:task_always_eager has no effect on send_task"),
]

ROOT = Path(__file__).resolve().parent.parent.parent
MEMBERS = int(os.environ.get("RELIABILITY_MEMBERS", "20000"))
CHUNK = max(MEMBERS // 20, 50)  # twenty chunks a job
VISIBILITY_TIMEOUT = 8
# What the jobs write, and what a TRUNCATE ... CASCADE of the members takes with it.
JOB_TABLES = [
    "members_member",
    "members_purchase",
    "members_purchaseline",
    "members_refund",
    "members_pointlot",
    "members_ledgerentry",
    "members_lotallocation",
    "members_tierchange",
    "members_expiryreminder",
    "members_jobrun",
    "members_jobchunk",
]

# Per member: balances, tier and hold, and what the ledger and the lots say; one hash for all.
STATE_HASH = """
SELECT count(*), md5(string_agg(row_text, '|' ORDER BY id)) FROM (
    SELECT m.id, concat_ws(',', m.id, m.points_available, m.points_pending, m.tier_id,
                           m.tier_achieved_at, m.tier_held_until, e.earned, e.expired, e.entries,
                           l.remaining, t.moves) AS row_text
    FROM members_member m
    LEFT JOIN (SELECT member_id, SUM(points) FILTER (WHERE points > 0) AS earned,
                      SUM(points) FILTER (WHERE kind = 'expire') AS expired, COUNT(*) AS entries
               FROM members_ledgerentry GROUP BY member_id) e ON e.member_id = m.id
    LEFT JOIN (SELECT member_id, SUM(remaining) AS remaining FROM members_pointlot
               GROUP BY member_id) l ON l.member_id = m.id
    LEFT JOIN (SELECT member_id, string_agg(concat(from_tier_id, '>', to_tier_id), ';'
                                            ORDER BY to_tier_id) AS moves
               FROM members_tierchange GROUP BY member_id) t ON t.member_id = m.id
) per_member
"""


def state_hash() -> tuple[int, str]:
    with connection.cursor() as cursor:
        cursor.execute(STATE_HASH)
        return cursor.fetchone()


def snapshot_tables() -> None:
    with connection.cursor() as cursor:
        for table in JOB_TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS snap_{table}")
            cursor.execute(f"CREATE TABLE snap_{table} AS SELECT * FROM {table}")


def restore_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(JOB_TABLES) + " CASCADE")
        cursor.execute("SET session_replication_role = replica")
        for table in JOB_TABLES:
            cursor.execute(f"INSERT INTO {table} SELECT * FROM snap_{table}")
            cursor.execute(f"DROP TABLE snap_{table}")
        cursor.execute("SET session_replication_role = DEFAULT")


def worker_env() -> dict[str, str]:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return {
        **os.environ,
        # The test database, not the one DATABASE_URL names.
        "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "loyalty_site.settings.base",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "LOYALTY_JOB_CHUNK_SIZE": str(CHUNK),
        "LOG_LEVEL": "WARNING",
    }


class Worker:
    """``celery worker`` with one pool process, in its own process group."""

    def __init__(self, log: Path) -> None:
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "loyalty_site",
                "worker",
                "-c",
                "1",
                "-P",
                "prefork",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "WARNING",
            ],
            cwd=ROOT,
            env=worker_env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def pool_process(self) -> int:
        for _ in range(200):
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            if children:
                return int(children[0])
            time.sleep(0.05)
        raise AssertionError("the worker started no pool process")

    def kill_pool_process(self) -> None:
        os.kill(self.pool_process(), signal.SIGKILL)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(30)
        self.log.close()


def broker_idle() -> bool:
    with celery_app.connection_for_write() as conn:
        client = conn.default_channel.client
        return client.llen("celery") == 0 and client.hlen("unacked") == 0


def wait_for(condition, what: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def runs(name: str):
    return JobRun.objects.filter(name=name).order_by("pk")


def jobs_done() -> bool:
    latest = [runs(name).last() for name in ("recalculate_tiers", "expire_points")]
    return all(r and r.outcome == JobRun.Outcome.SUCCEEDED for r in latest) and broker_idle()


def clean_broker() -> None:
    """No message and no claimed period left from an earlier run."""
    assert settings.REDIS_URL, "the worker tests need Redis: set REDIS_URL"
    cache.clear()
    with celery_app.connection_for_write() as conn:
        conn.default_channel.client.delete("celery", "unacked", "unacked_index")


@pytest.fixture
def bench_members(program):
    now = timezone.now().replace(microsecond=0)
    bench_data_generate(members=MEMBERS, purchases=5 * MEMBERS, now=now - timedelta(days=1))
    clean_broker()
    yield now
    with connection.cursor() as cursor:
        for table in JOB_TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS snap_{table}")


def test_jobs_killed_mid_run_end_as_one_clean_run(bench_members, tmp_path):
    as_of = bench_members
    snapshot_tables()
    worker = Worker(tmp_path / "worker.log")
    try:
        started = time.monotonic()
        celery_app.send_task("members.tasks.tiers_recalculate_task", args=[as_of.isoformat()])
        celery_app.send_task("members.tasks.points_expire_task", args=[as_of.isoformat()])

        # A quarter of the way: the pool process dies; the worker requeues its message.
        wait_for(
            lambda: (r := runs("recalculate_tiers").last()) and r.chunks_done >= r.chunks_total // 4,
            "a quarter of the tier job",
        )
        worker.kill_pool_process()
        # Into the expiry job: the whole worker dies, with a message taken and not acknowledged.
        wait_for(
            lambda: (r := runs("expire_points").last()) and 0 < r.chunks_done < r.chunks_total // 2,
            "the expiry job under way",
        )
        killed_at = runs("expire_points").last().chunks_done
        worker.kill()
        killed = time.monotonic()
        assert runs("expire_points").last().outcome == JobRun.Outcome.RUNNING

        worker = Worker(tmp_path / "worker.log")
        wait_for(jobs_done, "both jobs to finish on the new worker")
        finished = time.monotonic()
    finally:
        worker.stop()

    tier_run, expiry_run = runs("recalculate_tiers").last(), runs("expire_points").last()
    assert killed_at < expiry_run.chunks_total
    # A chunk redelivered after the kill is skipped, not counted twice.
    assert tier_run.chunks_done == tier_run.chunks_total >= 20
    assert expiry_run.chunks_done == expiry_run.chunks_total
    faulty = state_hash()
    moved, expired = TierChange.objects.count(), LedgerEntry.objects.filter(kind="expire").count()
    assert moved > 0 and expired > 0, "the jobs had real work to do"
    assert ledger_violations() == []

    restore_tables()
    job_run(name="recalculate_tiers", as_of=as_of, notify=False)
    job_run(name="expire_points", as_of=as_of)

    assert state_hash() == faulty
    assert faulty[0] == MEMBERS
    print(
        f"\n{MEMBERS} members, {tier_run.chunks_total}+{expiry_run.chunks_total} chunks; pool process "
        f"killed in the tier job, worker killed after {killed_at} expiry chunks; {moved} tier moves, "
        f"{expired} expiry entries; state hash {faulty[1]} equals the clean run's; "
        f"{killed - started:.1f} s to the kill, {finished - killed:.1f} s from the kill to the end"
    )
    assert (TierChange.objects.count(), LedgerEntry.objects.filter(kind="expire").count()) == (moved, expired)
    assert ledger_violations() == []


def test_two_beats_on_a_real_worker_run_a_job_once(program, tmp_path):
    from tests.factories import MemberFactory

    MemberFactory.create_batch(5)
    clean_broker()
    worker = Worker(tmp_path / "worker.log")
    try:
        for beat in ("beat-1", "beat-2"):
            celery_app.send_task(
                "members.tasks.points_release_pending_task",
                kwargs={"scheduled": True},
                task_id=f"{beat}-{time.time_ns()}",
            )
        wait_for(
            lambda: runs("release_pending_points").filter(outcome="succeeded").exists() and broker_idle(),
            "the release job",
        )
    finally:
        worker.stop()
    assert runs("release_pending_points").count() == 1
    assert ledger_violations() == []
