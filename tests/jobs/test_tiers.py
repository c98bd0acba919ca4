"""The nightly tier job: hold, re-qualification up and down, renewal, catch-up, the metric and
window settings, history rows and mail, and the what-if preview."""

from datetime import timedelta
from decimal import Decimal

import pytest

from members.jobs import job_run, tier_moves_preview, tiers_recalculate
from members.models import JobRun, Program, TierChange
from members.tiers import tier_upgrade_if_qualified

from .conftest import NOW, buy, earn, make_member, tier

pytestmark = pytest.mark.usefixtures("frozen")
Reason = TierChange.Reason


def refreshed(member):
    member.refresh_from_db()
    return member


def test_a_held_tier_is_kept_whatever_the_spend(program):
    member = make_member(program, code="gold", held_days=30)
    buy(member, "10")

    result = tiers_recalculate()

    assert result.rows_changed == 0
    member = refreshed(member)
    assert member.tier == tier("gold")
    assert member.tier_held_until == NOW + timedelta(days=30)
    assert not TierChange.objects.exists()


def test_hold_ended_requalifies_down_records_history_and_mails(
    program, django_capture_on_commit_callbacks, mailoutbox
):
    member = make_member(program, code="gold", held_days=-1)
    buy(member, "450", days_ago=20)
    buy(member, "200", days_ago=100, refunded="50")
    buy(member, "5000", days_ago=400)  # outside the 365-day window

    with django_capture_on_commit_callbacks(execute=True):
        result = tiers_recalculate()

    assert (result.up, result.down, result.renewed) == (0, 1, 0)
    member = refreshed(member)
    assert member.tier == tier("silver")
    assert member.tier_achieved_at == NOW
    assert member.tier_held_until == NOW + timedelta(days=365)
    change = TierChange.objects.get(member=member)
    assert (change.from_tier, change.to_tier, change.reason) == (
        tier("gold"),
        tier("silver"),
        Reason.REQUALIFICATION,
    )
    assert change.qualifying_value == Decimal("600.00")
    assert change.created_at == NOW
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [member.email]
    assert "Silver" in mailoutbox[0].subject


def test_hold_ended_requalifies_up(program, django_capture_on_commit_callbacks, mailoutbox):
    member = make_member(program, code="silver", held_days=-5)
    buy(member, "1600")

    with django_capture_on_commit_callbacks(execute=True):
        tiers_recalculate()

    assert refreshed(member).tier == tier("gold")
    change = TierChange.objects.get(member=member)
    assert change.reason == Reason.REQUALIFICATION
    assert mailoutbox[0].subject.startswith("Welcome to Gold")


def test_staying_on_the_same_tier_holds_it_another_period_without_history(
    program, django_capture_on_commit_callbacks, mailoutbox
):
    member = make_member(program, code="silver", held_days=0)
    buy(member, "700")

    with django_capture_on_commit_callbacks(execute=True):
        result = tiers_recalculate()

    assert result.renewed == 1
    member = refreshed(member)
    assert member.tier == tier("silver")
    assert member.tier_held_until == NOW + timedelta(days=365)
    assert member.tier_achieved_at == NOW - timedelta(days=200)
    assert not TierChange.objects.exists()
    assert mailoutbox == []


def test_catch_up_upgrades_a_member_still_in_their_hold(program):
    member = make_member(program, code="silver", held_days=200)
    buy(member, "6000")

    result = tiers_recalculate()

    assert result.up == 1
    member = refreshed(member)
    assert member.tier == tier("platinum")
    assert member.tier_held_until == NOW + timedelta(days=365)
    assert TierChange.objects.get(member=member).reason == Reason.CATCH_UP


def test_grace_days_delay_a_downgrade_but_not_a_renewal(program):
    Program.objects.filter(pk=1).update(tier_grace_days=30)
    in_grace = make_member(program, code="gold", held_days=-10)
    past_grace = make_member(program, code="gold", held_days=-31)

    tiers_recalculate()

    assert refreshed(in_grace).tier == tier("gold")
    assert refreshed(past_grace).tier == tier("bronze")


def test_points_metric_over_the_calendar_year(program):
    Program.objects.filter(pk=1).update(tier_metric="points", tier_window="calendar")
    member = make_member(program, code="bronze", held_days=-1)
    earn(member, 400, days_ago=100)  # March: this calendar year
    earn(member, 200, days_ago=200)  # last November: not this year
    buy(member, "9000")  # spend does not count under the points metric

    tiers_recalculate()

    assert refreshed(member).tier == tier("bronze")
    earn(member, 150, days_ago=1)
    tiers_recalculate(as_of=NOW + timedelta(seconds=1))
    assert refreshed(member).tier == tier("silver")


def test_a_second_run_changes_nothing(program):
    members = [
        make_member(program, code=c, held_days=d) for c, d in [("gold", -1), ("bronze", 50), ("silver", -2)]
    ]
    buy(members[1], "1600")
    buy(members[2], "800")
    tiers_recalculate()
    changes = TierChange.objects.count()

    again = tiers_recalculate()

    assert again.rows_changed == 0
    assert TierChange.objects.count() == changes == 2


def test_a_run_is_recorded_with_its_counts(program):
    for _ in range(5):
        buy(make_member(program, held_days=10), "2000")

    run, result = job_run(name="recalculate_tiers", chunk_size=2)

    assert result.up == 5
    assert (run.chunks_total, run.chunks_done, run.rows_changed) == (3, 3, 5)
    assert run.outcome == JobRun.Outcome.SUCCEEDED and run.finished_at == NOW
    assert run.progress == 100
    assert "up 5" in run.detail


def test_closed_members_are_left_alone(program):
    member = make_member(program, code="gold", held_days=-1, status="closed")

    tiers_recalculate()

    assert refreshed(member).tier == tier("gold")


def test_preview_counts_moves_with_draft_thresholds_and_changes_nothing(program):
    stays_gold = make_member(program, code="gold", held_days=100)
    buy(stays_gold, "100")
    drops = make_member(program, code="gold", held_days=-1)
    buy(drops, "1200")
    rises = make_member(program, code="bronze", held_days=100)
    buy(rises, "800")

    today = tier_moves_preview(thresholds={})
    draft = tier_moves_preview(thresholds={"gold": Decimal("1000"), "silver": Decimal("900")})

    assert today["tiers"]["gold"] == {"members": 2, "up": 0, "down": 1, "stay": 1, "after": 1}
    assert today["tiers"]["bronze"]["up"] == 1
    assert today["totals"] == {"members": 3, "up": 1, "down": 1, "stay": 1}
    assert draft["tiers"]["gold"] == {"members": 2, "up": 0, "down": 0, "stay": 2, "after": 2}
    assert draft["tiers"]["bronze"] == {"members": 1, "up": 0, "down": 0, "stay": 1, "after": 1}
    assert not TierChange.objects.exists()
    assert refreshed(drops).tier == tier("gold")

    result = tiers_recalculate()
    assert (result.up, result.down) == (today["totals"]["up"], today["totals"]["down"])


def test_preview_with_draft_multipliers_under_the_points_metric(program):
    Program.objects.filter(pk=1).update(tier_metric="points")
    member = make_member(program, code="silver", held_days=100)
    earn(member, 1300, days_ago=30)

    same = tier_moves_preview(thresholds={})
    richer = tier_moves_preview(thresholds={}, multipliers={"silver": Decimal("2.50")})

    assert same["tiers"]["silver"]["up"] == 0
    assert richer["tiers"]["silver"]["up"] == 1
    assert richer["tiers"]["gold"]["after"] == 1


def test_a_purchase_crossing_a_threshold_upgrades_at_once(program):
    member = make_member(program, code="bronze", held_days=300)
    buy(member, "520", days_ago=0)

    change = tier_upgrade_if_qualified(member, now=NOW)

    assert change.to_tier == tier("silver") and change.reason == Reason.PURCHASE
    assert refreshed(member).tier_held_until == NOW + timedelta(days=365)
    assert tiers_recalculate().rows_changed == 0
