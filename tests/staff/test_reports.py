"""The program figures equal the values worked out by hand for the known program of
``fixtures.build_known_program`` (as of 2026-06-15 12:00 UTC).

Ledger, by hand: issued 80 + 400 + 500 + 1000 + 25 + 200 = 2205; redeemed 300 + 100 - 100 =
300; expired 80; reversed 20 + 50 = 70; net 1755, which is also every member's balance summed.
Open lots: C 400, B 500 - 20 = 480 available and 200 - 50 = 150 pending, A 1000 - 300 = 700 and
25: 1605 available and 150 pending.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from loyalty_site.staff import reports
from members.models import JobRun, Program

from .fixtures import AS_OF, build_known_program

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(program, manager, second_manager):
    return build_known_program(manager, second_manager)


def test_membership_and_participation(known):
    figures = reports.membership(as_of=AS_OF)

    # D is closed; C's last activity was 2025-11-20, more than 90 days back; A joined in June.
    assert (figures.members, figures.active, figures.new_last_30_days) == (3, 2, 1)
    assert figures.participation_rate == Decimal("66.7")


def test_points_totals_and_rates(known):
    totals = reports.points_totals(as_of=AS_OF)

    assert (totals.issued, totals.redeemed, totals.expired, totals.reversed) == (2205, 300, 80, 70)
    assert totals.net == 1755
    assert totals.redemption_rate == Decimal("13.6")  # 300 / 2205
    assert totals.breakage_rate == Decimal("3.6")  # 80 / 2205


def test_points_per_month_cover_twelve_months(known):
    months = reports.points_by_month(as_of=AS_OF)

    assert [m.month for m in months] == [
        datetime(2025, 7, 1, tzinfo=UTC).replace(month=7 + i)
        if i < 6
        else datetime(2026, i - 5, 1, tzinfo=UTC)
        for i in range(12)
    ]
    by_month = {(m.month.year, m.month.month): (m.issued, m.redeemed, m.expired, m.reversed) for m in months}
    assert by_month[(2025, 11)] == (400, 0, 0, 0)
    assert by_month[(2026, 4)] == (500, 0, 0, 0)
    assert by_month[(2026, 5)] == (1000, 0, 80, 0)
    assert by_month[(2026, 6)] == (225, 300, 0, 70)
    # The 80 points of May 2025 are older than the window.
    assert sum(m.issued for m in months) == 2125
    assert all(
        v == (0, 0, 0, 0)
        for k, v in by_month.items()
        if k not in {(2025, 11), (2026, 4), (2026, 5), (2026, 6)}
    )


def test_liability_in_money_pending_and_available_apart(known):
    liability = reports.liability(program=Program.load())

    assert (liability.points_available, liability.points_pending) == (1605, 150)
    assert (liability.available, liability.pending, liability.total) == (
        Decimal("16.05"),
        Decimal("1.50"),
        Decimal("17.55"),
    )


def test_liability_follows_the_point_value(known):
    program = Program.load()
    program.point_value = Decimal("0.0125")
    program.save()

    assert reports.liability(program=program).total == Decimal("21.94")  # 1755 x 0.0125 = 21.9375


def test_tier_distribution_lists_every_tier(known):
    tiers = reports.tier_distribution()

    assert [(t.code, t.members, t.share) for t in tiers] == [
        ("bronze", 1, Decimal("33.3")),
        ("silver", 1, Decimal("33.3")),
        ("gold", 1, Decimal("33.3")),
        ("platinum", 0, Decimal("0.0")),
    ]


def test_tier_movements_per_month_leave_out_enrolments(known):
    moves = {(m.month.year, m.month.month): (m.up, m.down) for m in reports.tier_movements(as_of=AS_OF)}

    assert moves[(2025, 12)] == (1, 0)
    assert moves[(2026, 1)] == (1, 0)
    assert moves[(2026, 2)] == (1, 0)
    assert moves[(2026, 4)] == (0, 1)
    assert sum(up + down for up, down in moves.values()) == 4


def test_campaign_results_against_the_period_before(known):
    results = reports.campaign_results(as_of=AS_OF)

    # Autumn has not started; the summer campaign runs, so its period ends now.
    assert [r.code for r in results] == ["summer", "spring"]
    summer, spring = results
    # Spring: 1 May to 31 May; the 30 days before are 1 April to 1 May.
    assert (spring.points_paid, spring.members_rewarded) == (55, 2)
    assert (spring.purchases, spring.spend) == (2, Decimal("150.00"))  # 100 + (60 - 10 refunded)
    assert (spring.purchases_before, spring.spend_before) == (1, Decimal("40.00"))  # 3 March is earlier
    assert spring.spend_change == Decimal("275.0")
    assert (summer.points_paid, summer.purchases, summer.spend) == (0, 1, Decimal("20.00"))
    assert (summer.purchases_before, summer.spend_before, summer.spend_change) == (0, Decimal("0"), None)


def test_top_rewards_count_what_was_not_cancelled(known):
    rewards = reports.top_rewards()

    assert [(r.code, r.redemptions, r.used, r.points, r.cash_value) for r in rewards] == [
        ("voucher-5", 2, 1, 1000, Decimal("10.00")),
        ("free-coffee", 1, 1, 150, Decimal("0.00")),
        ("vip-event", 1, 0, 0, Decimal("0.00")),
    ]


def test_reconciliation_reports_the_latest_recorded_ledger_check(known, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        unchecked = reports.reconciliation()
    assert (unchecked.passed, unchecked.checked_at) == (None, None)

    JobRun.objects.create(
        name="check_ledger",
        as_of=AS_OF,
        started_at=AS_OF,
        finished_at=AS_OF,
        outcome=JobRun.Outcome.FAILED,
        detail="2 violation(s) for 1 member(s):\nmember 1 [balances]: ...",
    )
    recorded = reports.reconciliation()

    assert (recorded.passed, recorded.checked_at, recorded.violations) == (False, AS_OF, 2)
    assert recorded.detail == "2 violation(s) for 1 member(s):"
