"""Using vouchers at the till, staff fulfilment, and the daily expiry job under both policies."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from members.models import AuditEvent, JobRun, LedgerEntry, LotAllocation, PointLot, Program
from rewards.errors import RedemptionNotFound, VoucherCancelled, VoucherExpired, VoucherNotFound, VoucherUsed
from rewards.models import Redemption, Reward
from rewards.services import (
    redemption_cancel,
    redemption_fulfil,
    reward_redeem,
    voucher_use,
    vouchers_expire,
)
from rewards.tasks import vouchers_expire_task
from tests.factories import StoreFactory, UserFactory
from tests.rewards.support import balances, fund, lot_remaining

pytestmark = pytest.mark.usefixtures("ledger_ok")
NOW = timezone.now().replace(microsecond=0)


def redeem(member, code="free-coffee", now=NOW):
    return reward_redeem(member_id=member.pk, reward_code=code, notify=False, now=now).redemption


def ledger_rows() -> tuple[int, int, int]:
    return LedgerEntry.objects.count(), PointLot.objects.count(), LotAllocation.objects.count()


def test_a_voucher_is_used_once_at_any_store(member, rewards):
    fund(member, 150, "p", now=NOW)
    redemption = redeem(member)
    store = StoreFactory()

    used = voucher_use(code=redemption.voucher_code.lower().replace("-", ""), store=store, now=NOW)

    assert (used.status, used.used_at, used.used_store) == ("used", NOW, store)
    with pytest.raises(VoucherUsed):
        voucher_use(code=redemption.voucher_code, now=NOW)
    assert balances(member) == (0, 0)


def test_expired_cancelled_and_unknown_vouchers_are_refused(member, rewards):
    fund(member, 300, "p", now=NOW)
    lapsed, cancelled = redeem(member), redeem(member)
    redemption_cancel(redemption_id=cancelled.pk, now=NOW)

    with pytest.raises(VoucherExpired):
        voucher_use(code=lapsed.voucher_code, now=lapsed.expires_at)
    with pytest.raises(VoucherCancelled):
        voucher_use(code=cancelled.voucher_code, now=NOW)
    with pytest.raises(VoucherNotFound):
        voucher_use(code="AAAA-BBBB-CCCC", now=NOW)
    with pytest.raises(VoucherNotFound):
        voucher_use(code="-/-", now=NOW)
    assert Redemption.objects.get(pk=lapsed.pk).status == "issued"


def test_staff_fulfil_a_redemption_and_it_is_audited(member, rewards):
    fund(member, 150, "p", now=NOW)
    redemption = redeem(member)
    staff = UserFactory(is_staff=True)

    fulfilled = redemption_fulfil(redemption_id=redemption.pk, staff_user=staff, now=NOW)

    assert (fulfilled.status, fulfilled.used_by) == ("used", staff)
    assert AuditEvent.objects.get(action="redemption_fulfilled").details == {
        "redemption": redemption.pk,
        "reward": "free-coffee",
    }
    with pytest.raises(VoucherUsed):
        redemption_fulfil(redemption_id=redemption.pk, staff_user=staff, now=NOW)
    with pytest.raises(RedemptionNotFound):
        redemption_fulfil(redemption_id=10**13, staff_user=staff)


def test_expiry_under_the_refund_policy_returns_points_to_their_lots_once(member, rewards):
    lot = fund(member, 500, "p", now=NOW)
    lapsed = redeem(member)
    fresh = redeem(member, now=NOW + timedelta(days=30))
    used = redeem(member)
    voucher_use(code=used.voucher_code, now=NOW)
    as_of = NOW + timedelta(days=91)
    assert balances(member) == (50, 0)

    result = vouchers_expire(as_of=as_of)

    assert (result.vouchers, result.points_returned, result.points_forfeited) == (1, 150, 0)
    statuses = dict(Redemption.objects.values_list("pk", "status"))
    assert statuses == {lapsed.pk: "expired", fresh.pk: "issued", used.pk: "used"}
    assert Redemption.objects.get(pk=lapsed.pk).points_returned == 150
    assert balances(member) == (200, 0)
    assert lot_remaining(lot) == [200]
    assert Reward.objects.get(code="free-coffee").stock == 98
    rows = ledger_rows()

    again = vouchers_expire(as_of=as_of)

    assert again.vouchers == 0
    assert ledger_rows() == rows
    assert balances(member) == (200, 0)
    # Each run is recorded like the core's jobs, for staff in admin.
    runs = JobRun.objects.filter(name="expire_vouchers").order_by("pk")
    assert [(r.outcome, r.rows_changed) for r in runs] == [("succeeded", 1), ("succeeded", 0)]
    assert runs[0].detail == "vouchers 1, points returned 150, points forfeited 0"


def test_expiry_under_the_forfeit_policy_keeps_the_points_spent(member, rewards):
    Program.objects.update(expired_voucher_policy=Program.ExpiredVoucherPolicy.FORFEIT)
    fund(member, 150, "p", now=NOW)
    lapsed = redeem(member)
    rows = ledger_rows()

    result = vouchers_expire(as_of=lapsed.expires_at)

    assert (result.vouchers, result.points_returned, result.points_forfeited) == (1, 0, 150)
    lapsed.refresh_from_db()
    assert (lapsed.status, lapsed.points_returned, lapsed.expired_at) == ("expired", 0, lapsed.expires_at)
    assert ledger_rows() == rows
    assert balances(member) == (0, 0)


def test_the_job_works_in_member_id_chunks(rewards, settings):
    from tests.factories import MemberFactory

    settings.LOYALTY_JOB_CHUNK_SIZE = 2
    members = MemberFactory.create_batch(5)
    for m in members:
        fund(m, 150, f"p{m.pk}", now=NOW)
        redeem(m)

    result = vouchers_expire(as_of=NOW + timedelta(days=100))

    assert result.vouchers == 5
    assert [balances(m) for m in members] == [(150, 0)] * 5


def test_the_beat_task_and_the_command_run_the_job(member, rewards):
    assert settings.CELERY_BEAT_SCHEDULE["expire-vouchers"]["task"] == vouchers_expire_task.name
    fund(member, 300, "p", now=NOW)
    first, second = redeem(member), redeem(member, now=NOW + timedelta(days=10))

    outcome = vouchers_expire_task.delay((NOW + timedelta(days=95)).isoformat()).get()
    out = StringIO()
    call_command("expire_vouchers", "--as-of", (NOW + timedelta(days=120)).date().isoformat(), stdout=out)

    assert (outcome.job, outcome.outcome, outcome.rows_changed) == ("expire_vouchers", "succeeded", 1)
    assert outcome.detail == "vouchers 1, points returned 150, points forfeited 0"
    assert "Expired 1 voucher(s): 150 points returned" in out.getvalue()
    assert set(Redemption.objects.values_list("status", flat=True)) == {"expired"}
    assert {first.pk, second.pk} == set(Redemption.objects.values_list("pk", flat=True))
    assert balances(member) == (300, 0)
