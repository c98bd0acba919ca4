"""reward_redeem and redemption_cancel: what they spend, from which lots, and what they refuse."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from members.errors import IdempotencyConflict, InsufficientPoints, MemberInactive, MemberNotFound
from members.ledger.services import points_reverse
from members.models import AuditEvent, LedgerEntry, Member, PointLot
from rewards.errors import (
    LimitReached,
    NotCancellable,
    RedemptionNotFound,
    RewardNotFound,
    RewardOutOfStock,
    RewardUnavailable,
    TierRequired,
)
from rewards.models import VOUCHER_ALPHABET, Redemption, Reward, new_voucher_code, normalise_voucher_code
from rewards.services import redemption_cancel, reward_redeem, voucher_use
from tests.factories import StoreFactory, UserFactory
from tests.rewards.support import balances, fund, lot_remaining, make_reward, set_tier, taken_from

pytestmark = pytest.mark.usefixtures("ledger_ok")
NOW = timezone.now().replace(microsecond=0)


def redeem(member, code, **kwargs):
    kwargs.setdefault("now", NOW)
    return reward_redeem(member_id=member.pk, reward_code=code, **kwargs)


def test_redeeming_spends_the_soonest_expiring_lots_and_issues_a_voucher(member, rewards):
    late = fund(member, 400, "late", expires_in_days=300, now=NOW)
    soon = fund(member, 300, "soon", expires_in_days=20, now=NOW)

    redeemed = redeem(member, "voucher-5")

    redemption = redeemed.redemption
    assert redeemed.created
    assert (redemption.status, redemption.points_spent, redemption.cash_value) == ("issued", 500, 5)
    assert redemption.expires_at == NOW + timedelta(days=90)
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", redemption.voucher_code)
    assert taken_from(redemption) == {soon.pk: 300, late.pk: 200}
    assert lot_remaining(soon, late) == [0, 200]
    assert balances(member) == (200, 0)
    entry = LedgerEntry.objects.get(source_type="redemption", source_id=str(redemption.pk))
    assert (entry.kind, entry.points, entry.balance_after) == ("redeem", -500, 200)


def test_a_stocked_reward_loses_one_from_stock(member, rewards):
    fund(member, 150, "p", now=NOW)

    redeem(member, "free-coffee")

    assert Reward.objects.get(code="free-coffee").stock == 99


def test_voucher_codes_avoid_ambiguous_characters_and_do_not_repeat():
    codes = {new_voucher_code() for _ in range(500)}

    assert len(codes) == 500
    assert not set("".join(codes)) & set("01OIL")
    assert set("".join(codes).replace("-", "")) <= set(VOUCHER_ALPHABET)
    code = next(iter(codes))
    assert normalise_voucher_code(code.lower().replace("-", " ")) == code


def test_too_few_points_is_refused_and_writes_nothing(member, rewards):
    fund(member, 499, "p", now=NOW)

    with pytest.raises(InsufficientPoints):
        redeem(member, "voucher-5")

    assert Redemption.objects.count() == 0
    assert LedgerEntry.objects.filter(kind="redeem").count() == 0
    assert balances(member) == (499, 0)


def test_a_member_with_a_negative_balance_cannot_redeem(member, rewards):
    fund(member, 600, "purchase-1", now=NOW)
    redeem(member, "voucher-5")
    points_reverse(
        member_id=member.pk, source_type="purchase", source_id="purchase-1", idempotency_key="refund-1"
    )
    assert balances(member) == (-500, 0)

    with pytest.raises(InsufficientPoints):
        redeem(member, "free-coffee")

    assert Redemption.objects.count() == 1
    assert Reward.objects.get(code="free-coffee").stock == 100


def test_a_reward_above_the_members_tier_is_refused_until_they_reach_it(member, rewards):
    fund(member, 5000, "p", now=NOW)
    set_tier(member, "silver")

    with pytest.raises(TierRequired):
        redeem(member, "vip-event")

    set_tier(member, "platinum")
    assert redeem(member, "vip-event").redemption.status == "issued"
    assert Reward.objects.get(code="vip-event").stock == 19


def test_an_experience_voucher_expires_the_day_after_the_event(member, rewards):
    fund(member, 2500, "p", now=NOW)
    set_tier(member, "gold")
    event = NOW + timedelta(days=10)
    Reward.objects.filter(code="vip-event").update(event_starts_at=event)

    assert redeem(member, "vip-event").redemption.expires_at == event + timedelta(days=1)


@pytest.mark.parametrize(
    "window",
    [
        {"available_from": NOW + timedelta(days=1)},
        {"available_until": NOW},
        {"available_from": NOW - timedelta(days=9), "available_until": NOW - timedelta(days=1)},
        {"kind": Reward.Kind.EXPERIENCE, "event_starts_at": NOW - timedelta(hours=1)},
    ],
)
def test_outside_its_window_a_reward_is_unavailable(member, program, window):
    fund(member, 500, "p", now=NOW)
    make_reward("limited", **window)

    with pytest.raises(RewardUnavailable):
        redeem(member, "limited")
    assert balances(member) == (500, 0)


def test_the_per_member_limit_counts_held_vouchers_not_cancelled_ones(member, program):
    fund(member, 1000, "p", now=NOW)
    make_reward("once", per_member_limit=1)
    first = redeem(member, "once").redemption

    with pytest.raises(LimitReached):
        redeem(member, "once")

    redemption_cancel(redemption_id=first.pk, now=NOW)
    assert redeem(member, "once").redemption.pk != first.pk
    assert balances(member) == (900, 0)


def test_an_empty_stock_is_out_of_stock(member, program):
    fund(member, 1000, "p", now=NOW)
    make_reward("scarce", stock=1)
    redeem(member, "scarce")

    with pytest.raises(RewardOutOfStock):
        redeem(member, "scarce")

    assert Reward.objects.get(code="scarce").stock == 0
    assert balances(member) == (900, 0)


def test_unknown_and_inactive_rewards_are_not_found(member, rewards):
    fund(member, 1000, "p", now=NOW)
    Reward.objects.filter(code="voucher-5").update(is_active=False)

    with pytest.raises(RewardNotFound):
        redeem(member, "voucher-5")
    with pytest.raises(RewardNotFound):
        redeem(member, "no-such-reward")
    with pytest.raises(MemberNotFound):
        reward_redeem(member_id=10**9, reward_code="free-coffee")


def test_a_suspended_member_cannot_redeem(member, rewards):
    fund(member, 1000, "p", now=NOW)
    Member.objects.filter(pk=member.pk).update(status=Member.Status.SUSPENDED)

    with pytest.raises(MemberInactive):
        redeem(member, "free-coffee")


def test_the_same_idempotency_key_gives_back_the_same_redemption(member, rewards):
    fund(member, 1000, "p", now=NOW)
    first = redeem(member, "voucher-5", idempotency_key="api:1:abc")
    again = redeem(member, "voucher-5", idempotency_key="api:1:abc")

    assert (first.created, again.created) == (True, False)
    assert again.redemption.pk == first.redemption.pk
    assert LedgerEntry.objects.filter(kind="redeem").count() == 1
    assert balances(member) == (500, 0)
    with pytest.raises(IdempotencyConflict):
        redeem(member, "free-coffee", idempotency_key="api:1:abc")


def test_cancelling_returns_the_points_to_the_lots_they_came_from_and_the_stock(member, rewards):
    soon = fund(member, 100, "soon", expires_in_days=10, now=NOW)
    late = fund(member, 100, "late", expires_in_days=200, now=NOW)
    redemption = redeem(member, "free-coffee").redemption
    assert lot_remaining(soon, late) == [0, 50]

    cancelled = redemption_cancel(redemption_id=redemption.pk, now=NOW)

    assert (cancelled.status, cancelled.points_returned) == ("cancelled", 150)
    assert lot_remaining(soon, late) == [100, 100]
    assert PointLot.objects.get(pk=soon.pk).expires_at == soon.expires_at
    assert balances(member) == (200, 0)
    assert Reward.objects.get(code="free-coffee").stock == 100
    entry = LedgerEntry.objects.get(source_id=str(redemption.pk), kind="reversal")
    assert entry.points == 150


def test_cancel_then_redeem_again_re_spends_the_same_lots(member, rewards):
    soon = fund(member, 100, "soon", expires_in_days=10, now=NOW)
    late = fund(member, 100, "late", expires_in_days=200, now=NOW)
    first = redeem(member, "free-coffee").redemption
    redemption_cancel(redemption_id=first.pk, now=NOW)

    second = redeem(member, "free-coffee").redemption

    assert taken_from(second) == taken_from(first) == {soon.pk: 100, late.pk: 50}
    assert lot_remaining(soon, late) == [0, 50]
    assert balances(member) == (50, 0)


def test_cancelling_twice_changes_nothing_the_second_time(member, rewards):
    fund(member, 500, "p", now=NOW)
    redemption = redeem(member, "voucher-5").redemption
    redemption_cancel(redemption_id=redemption.pk, now=NOW)
    entries = LedgerEntry.objects.count()

    again = redemption_cancel(redemption_id=redemption.pk, now=NOW)

    assert again.status == "cancelled"
    assert LedgerEntry.objects.count() == entries
    assert balances(member) == (500, 0)


def test_a_used_or_expired_voucher_cannot_be_cancelled(member, rewards):
    fund(member, 1000, "p", now=NOW)
    used = redeem(member, "voucher-5").redemption
    voucher_use(code=used.voucher_code, now=NOW)
    lapsed = redeem(member, "free-coffee").redemption

    with pytest.raises(NotCancellable):
        redemption_cancel(redemption_id=used.pk, now=NOW)
    with pytest.raises(NotCancellable):
        redemption_cancel(redemption_id=lapsed.pk, now=lapsed.expires_at)
    with pytest.raises(RedemptionNotFound):
        redemption_cancel(redemption_id=10**12)
    assert balances(member) == (350, 0)


def test_a_store_cancels_only_its_own_redemptions(member, rewards):
    fund(member, 1000, "p", now=NOW)
    mine, theirs = StoreFactory(), StoreFactory()
    by_theirs = redeem(member, "free-coffee", store=theirs).redemption
    in_portal = redeem(member, "free-coffee").redemption

    with pytest.raises(RedemptionNotFound):
        redemption_cancel(redemption_id=by_theirs.pk, store=mine, now=NOW)
    with pytest.raises(RedemptionNotFound):
        redemption_cancel(redemption_id=in_portal.pk, store=mine, now=NOW)
    assert redemption_cancel(redemption_id=by_theirs.pk, store=theirs, now=NOW).status == "cancelled"
    assert redemption_cancel(redemption_id=in_portal.pk, now=NOW).status == "cancelled"  # portal, admin


def test_a_person_redeeming_or_cancelling_leaves_an_audit_row(member, rewards):
    fund(member, 1000, "p", now=NOW)
    user, staff = UserFactory(), UserFactory(is_staff=True)
    redemption = redeem(member, "voucher-5", created_by=user).redemption
    redemption_cancel(redemption_id=redemption.pk, actor=staff, reason="changed their mind", now=NOW)

    events = list(AuditEvent.objects.order_by("id").values_list("actor", "action", "member", "details"))
    assert events == [
        (
            user.pk,
            "reward_redeemed",
            member.pk,
            {"redemption": redemption.pk, "reward": "voucher-5", "points": 500},
        ),
        (
            staff.pk,
            "redemption_cancelled",
            member.pk,
            {
                "redemption": redemption.pk,
                "reward": "voucher-5",
                "points_returned": 500,
                "reason": "changed their mind",
            },
        ),
    ]


def test_the_confirmation_mail_goes_after_commit_with_the_code(
    member, rewards, mailoutbox, django_capture_on_commit_callbacks
):
    fund(member, 500, "p", now=NOW)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        redemption = redeem(member, "voucher-5").redemption
    assert mailoutbox == []
    for callback in callbacks:
        callback()

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [member.email]
    assert redemption.voucher_code in mail.subject
    assert "\n" not in mail.subject
    assert redemption.voucher_code in mail.body
    assert "500 points" in mail.body


def test_no_mail_when_asked_not_to_or_when_the_redemption_fails(
    member, rewards, mailoutbox, django_capture_on_commit_callbacks
):
    fund(member, 500, "p", now=NOW)

    with django_capture_on_commit_callbacks(execute=True):
        redeem(member, "voucher-5", notify=False)
        with pytest.raises(InsufficientPoints):
            redeem(member, "voucher-5")

    assert mailoutbox == []


def test_a_broker_failure_after_commit_does_not_undo_or_fail_the_redemption(
    member, rewards, monkeypatch, django_capture_on_commit_callbacks
):
    from rewards import tasks

    def broker_down(*args, **kwargs):
        raise OSError("broker unreachable")

    monkeypatch.setattr(tasks.redemption_confirmation_send_task, "delay", broker_down)
    fund(member, 500, "p", now=NOW)

    with django_capture_on_commit_callbacks(execute=True):
        redemption = redeem(member, "voucher-5").redemption

    assert Redemption.objects.get(pk=redemption.pk).status == "issued"
    assert balances(member) == (0, 0)
