"""Paid memberships through the jobs: the tier floor on both sides of a membership's end date
(the tier job alone, and with end_memberships first), no hold of the plan's tier after it ends,
a floor that stops a down move while it lasts, the end job run twice and renewing, and the
command."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from members.jobs import job_run, tiers_recalculate
from members.ledger.invariants import ledger_violations
from members.memberships import membership_start
from members.models import Membership, MembershipPlan, TierChange
from tests import factories

from .conftest import NOW, buy, make_member, tier

pytestmark = pytest.mark.usefixtures("frozen")


def refreshed(member):
    member.refresh_from_db()
    return member


def start_plus(member, *, external_id: str = "M-1", days_ago: int = 0) -> Membership:
    return membership_start(
        store=None,
        member_number=member.member_number,
        plan_code="plus",
        external_id=external_id,
        now=NOW - timedelta(days=days_ago),
    ).membership


def end_memberships(as_of):
    return job_run(name="end_memberships", as_of=as_of)[1]


def test_the_floor_holds_gold_until_the_end_then_the_tier_job_returns_the_qualified_tier(program):
    member = make_member(program, code="silver", held_days=300)  # their own hold runs past the plan
    buy(member, "600", days_ago=10)
    membership = start_plus(member)
    assert refreshed(member).tier == tier("gold")
    ends_at = membership.ends_at

    # The day before the end: still gold, nothing to do.
    result = tiers_recalculate(as_of=ends_at - timedelta(days=1))
    assert result.rows_changed == 0
    assert refreshed(member).tier == tier("gold")

    # The day after: back to silver (600 within the window? bought 10 days before NOW, so
    # no longer within 365 days of the end: bronze).
    after = ends_at + timedelta(days=1)
    result = tiers_recalculate(as_of=after)
    member = refreshed(member)
    assert result.down == 1
    assert member.tier == tier("bronze")
    change = TierChange.objects.filter(member=member).latest("id")
    assert (change.from_tier, change.to_tier, change.reason) == (
        tier("gold"),
        tier("bronze"),
        TierChange.Reason.REQUALIFICATION,
    )
    assert ledger_violations() == []


def test_after_the_end_the_member_goes_to_the_tier_their_spend_reaches_without_a_hold_of_gold(program):
    member = make_member(program, code="bronze", held_days=-1)
    membership = start_plus(member, days_ago=360)  # started 360 days ago, ends in about 5 days
    buy(member, "700", days_ago=30)  # silver by spend
    assert refreshed(member).tier == tier("gold")
    after = membership.ends_at + timedelta(hours=1)

    end_memberships(after)
    tiers_recalculate(as_of=after)

    member = refreshed(member)
    assert Membership.objects.get().status == Membership.Status.ENDED
    assert member.tier == tier("silver")
    assert member.tier_achieved_at == after


def test_a_member_who_qualifies_for_gold_keeps_it_and_holds_it_after_the_end(program):
    member = make_member(program, code="bronze", held_days=-1)
    membership = start_plus(member, days_ago=360)
    buy(member, "1600", days_ago=30)
    after = membership.ends_at + timedelta(hours=1)

    result = tiers_recalculate(as_of=after)

    member = refreshed(member)
    assert (result.renewed, member.tier) == (1, tier("gold"))
    assert member.tier_held_until == after + timedelta(days=program.tier_hold_days)


def test_while_it_lasts_the_floor_stops_a_down_move_below_the_plans_tier(program):
    member = make_member(program, code="platinum", held_days=-1)  # hold over, spend nil
    membership = start_plus(member)
    assert refreshed(member).tier == tier("platinum")  # above the floor: untouched

    result = tiers_recalculate()

    member = refreshed(member)
    assert result.down == 1
    assert member.tier == tier("gold")
    assert member.tier_held_until == membership.ends_at
    assert TierChange.objects.filter(member=member).latest("id").reason == TierChange.Reason.MEMBERSHIP


def test_the_end_job_twice_ends_once(program):
    member = make_member(program)
    membership = start_plus(member, days_ago=400)
    other = make_member(program)
    start_plus(other, external_id="M-2")  # still running

    first = end_memberships(NOW)
    second = end_memberships(NOW)

    assert (first.ended, first.renewed, second.rows_changed) == (1, 0, 0)
    membership.refresh_from_db()
    assert (membership.status, membership.ended_at) == (Membership.Status.ENDED, NOW)
    assert Membership.objects.filter(status="active").count() == 1


def test_an_auto_renewing_plan_renews_once_and_keeps_the_floor(program):
    MembershipPlan.objects.filter(code="plus").update(auto_renew=True, price=Decimal("59.00"))
    member = make_member(program)
    old = start_plus(member, days_ago=366)

    first = end_memberships(NOW)
    again = end_memberships(NOW)
    tiers_recalculate()

    assert (first.renewed, first.ended, again.rows_changed) == (1, 0, 0)
    old.refresh_from_db()
    renewal = old.renewal
    assert old.status == Membership.Status.RENEWED
    assert (renewal.starts_at, renewal.price, renewal.status) == (old.ends_at, Decimal("59.00"), "active")
    assert renewal.ends_at > NOW
    member = refreshed(member)
    assert member.tier == tier("gold")
    assert member.tier_held_until == renewal.ends_at


def test_the_command_ends_lapsed_memberships_as_of_a_date(program, capsys):
    member = make_member(program)
    membership = start_plus(member)

    call_command("end_memberships", "--as-of", (membership.ends_at + timedelta(days=1)).date().isoformat())

    assert "ended 1" in capsys.readouterr().out
    assert Membership.objects.get().status == Membership.Status.ENDED


def test_starting_cancelling_and_ending_write_membership_events(program):
    from members.memberships import membership_cancel
    from members.webhooks.models import WebhookEvent

    store = factories.StoreFactory()
    a, b = make_member(program), make_member(program)
    started = membership_start(store=store, member_number=a.member_number, plan_code="plus", external_id="A",
                               now=NOW).membership  # fmt: skip
    lapsing = start_plus(b, external_id="B", days_ago=400)
    membership_cancel(membership_id=started.pk, store=store, now=NOW)
    end_memberships(NOW)
    end_memberships(NOW)

    events = list(WebhookEvent.objects.order_by("id").values_list("type", "member_id", "data"))
    assert [(t, m) for t, m, _ in events if t.startswith("membership.")] == [
        ("membership.started", a.pk),
        ("membership.started", b.pk),
        ("membership.ended", a.pk),
        ("membership.ended", b.pk),
    ]
    ended = [d for t, m, d in events if t == "membership.ended"]
    assert (ended[0]["reason"], ended[1]["reason"], ended[1]["membership_id"]) == (
        "cancelled",
        "ended",
        lapsing.pk,
    )
