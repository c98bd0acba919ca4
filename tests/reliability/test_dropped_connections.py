"""A database connection dropped in the middle of a request or of a job chunk
(``pg_terminate_backend`` from another connection, as a failover or an operator would) leaves no
partial rows: its transaction rolls back whole, and doing the work again does it once.

Each test parks the victim transaction on a row lock the test holds *after* the victim has
written: every write it would lose is already made when its backend is killed."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from members.jobs import job_chunk_run, job_run, job_start
from members.ledger.invariants import ledger_violations
from members.models import JobRun, LedgerEntry, Member, PointLot
from rewards.models import Redemption, Reward
from tests.factories import MemberFactory
from tests.rewards.support import fund, make_reward

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class Rollback(Exception):
    pass


class HeldLock:
    """Runs ``take()`` in its own transaction on its own connection and keeps that transaction
    open (its locks held) until ``release()``, then rolls it back."""

    def __init__(self, take) -> None:
        self.take = take
        self.taken = threading.Event()
        self.released = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        from django.db import connections

        try:
            with transaction.atomic():
                self.take()
                self.taken.set()
                self.released.wait(60)
                raise Rollback
        except Rollback:
            pass
        finally:
            connections.close_all()

    def __enter__(self) -> HeldLock:
        self.thread.start()
        assert self.taken.wait(30)
        return self

    def release(self) -> None:
        self.released.set()
        self.thread.join(30)

    def __exit__(self, *exc) -> None:
        self.release()


def terminate_backend_waiting_on(query_fragment: str) -> int:
    """Wait until a backend of this database is blocked on a lock running a query that contains
    ``query_fragment``, then terminate it; returns its pid."""
    with connection.cursor() as cursor:
        for _ in range(600):
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query LIKE %s",
                [f"%{query_fragment}%"],
            )
            row = cursor.fetchone()
            if row:
                cursor.execute("SELECT pg_terminate_backend(%s)", [row[0]])
                return row[0]
            time.sleep(0.05)
    raise AssertionError(f"no backend ever waited on {query_fragment!r}")


def in_thread(target):
    outcome: dict = {}

    def run() -> None:
        from django.db import connections

        try:
            outcome["result"] = target()
        except Exception as error:  # collected for the test to assert on
            outcome["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def ledger_state() -> tuple:
    return (
        list(Member.objects.order_by("pk").values_list("pk", "points_available", "points_pending")),
        list(PointLot.objects.order_by("pk").values_list("pk", "remaining")),
        LedgerEntry.objects.count(),
    )


def test_a_job_chunk_killed_after_its_writes_leaves_nothing_and_runs_again_cleanly(program):
    members = MemberFactory.create_batch(30)
    now = timezone.now()
    for m in members:
        fund(m, 100, f"old-{m.pk}", expires_in_days=-3)
        fund(m, 40, f"new-{m.pk}", expires_in_days=200)
    before = ledger_state()
    run, ranges = job_start(name="expire_points", as_of=now, chunk_size=1000)
    ((first, last),) = ranges

    # The chunk writes its expiry, then waits for the run's row to count itself done.
    with HeldLock(lambda: JobRun.objects.select_for_update().get(pk=run.pk)):
        worker, outcome = in_thread(
            lambda: job_chunk_run(
                run_id=run.pk, name="expire_points", as_of=now, first_id=first, last_id=last
            )
        )
        terminate_backend_waiting_on('UPDATE "members_jobrun"')
        worker.join(30)

    assert "error" in outcome, "the chunk's connection was dropped"
    assert ledger_state() == before, "nothing of the killed chunk was kept"
    assert not LedgerEntry.objects.filter(kind="expire").exists()
    assert JobRun.objects.get(pk=run.pk).chunks_done == 0
    assert ledger_violations() == []

    job_run(name="expire_points", as_of=now)

    assert LedgerEntry.objects.filter(kind="expire").count() == 30
    assert sorted(set(Member.objects.values_list("points_available", flat=True))) == [40]
    assert ledger_violations() == []


def test_a_request_killed_after_its_first_writes_leaves_nothing_and_a_retry_counts_once(live_api, program):
    make_reward("last-mugs", points_cost=100, stock=5)
    member = MemberFactory()
    fund(member, 500, "gift")
    till = live_api("Till 9")
    from members.models import Store

    store = Store.objects.get(name="Till 9")
    body = {"member": member.member_number, "reward": "last-mugs", "idempotency_key": "sale-77"}
    before = ledger_state()

    def same_key_in_flight() -> None:
        # An uncommitted row with the key the request will insert: the request takes the stock,
        # then waits on this row's unique key.
        Redemption.objects.create(
            member=member,
            reward=Reward.objects.get(code="last-mugs"),
            points_spent=100,
            expires_at=timezone.now() + timedelta(days=30),
            idempotency_key=f"api:{store.pk}:sale-77",
        )

    with HeldLock(same_key_in_flight):
        request, outcome = in_thread(lambda: till.post("/api/v1/redemptions/", body))
        terminate_backend_waiting_on('INSERT INTO "rewards_redemption"')
        request.join(60)

    assert outcome["result"].status_code == 500
    assert Reward.objects.get(code="last-mugs").stock == 5, "the stock taken was given back"
    assert not Redemption.objects.exists()
    assert ledger_state() == before
    assert ledger_violations() == []

    retried = till.post("/api/v1/redemptions/", body)
    replayed = till.post("/api/v1/redemptions/", body)

    assert (retried.status_code, replayed.status_code) == (201, 200)
    assert Reward.objects.get(code="last-mugs").stock == 4
    member.refresh_from_db()
    assert member.points_available == 400
    assert LedgerEntry.objects.filter(member=member, kind="redeem").count() == 1
    assert ledger_violations() == []
