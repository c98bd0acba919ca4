"""Action rules the system awards (sign-up, birthday) and referrals: both sides earn on the
referred member's first purchase; self-referral and farming are refused and recorded."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from campaigns.demo import seed_program as seed_rules
from campaigns.inputs import PurchaseInput
from campaigns.models import Referral
from campaigns.services import birthday_bonuses_award, purchase_record, signup_bonus_award
from campaigns.tasks import birthday_bonuses_award_task
from members.ledger.invariants import ledger_violations
from members.models import LedgerEntry, Member, Program
from members.services import member_enroll
from tests import factories

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def rules(program):
    seed_rules()


@pytest.fixture
def store(db):
    return factories.StoreFactory()


def buy(store, member: Member, external_id: str, amount: str = "50.00") -> None:
    purchase = {
        "member": member.member_number,
        "external_id": external_id,
        "amount": amount,
        "currency": "USD",
        "purchased_at": NOW - timedelta(minutes=1),
    }
    purchase_record(store=store, purchase=PurchaseInput.parse(purchase))


def entries(member: Member, source: str) -> list[int]:
    return list(
        LedgerEntry.objects.filter(member=member, source_type=source)
        .order_by("id")
        .values_list("points", flat=True)
    )


# --- sign-up and birthday -------------------------------------------------------------------


def test_enrolment_pays_the_sign_up_bonus_once(rules, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        member = member_enroll(email="new@example.org", first_name="New")

    signup_bonus_award(member_id=member.pk)

    assert entries(member, "activity") == [100]


def test_no_sign_up_rule_no_bonus(program, member):
    assert signup_bonus_award(member_id=member.pk) is None
    assert not LedgerEntry.objects.exists()


def test_birthdays_are_paid_once_a_year(rules):
    today = date(2026, 6, 15)
    born_today = factories.MemberFactory(birth_date=date(1990, 6, 15))
    other_day = factories.MemberFactory(birth_date=date(1990, 6, 16))
    closed = factories.MemberFactory(birth_date=date(1985, 6, 15), status=Member.Status.CLOSED)
    no_date = factories.MemberFactory()

    first = birthday_bonuses_award(on=today, chunk_size=2)
    again = birthday_bonuses_award(on=today)
    next_year = birthday_bonuses_award(on=date(2027, 6, 15))

    assert (first, again, next_year) == (1, 0, 1)
    assert entries(born_today, "activity") == [200, 200]
    assert entries(other_day, "activity") == entries(closed, "activity") == entries(no_date, "activity") == []
    keys = set(LedgerEntry.objects.values_list("idempotency_key", flat=True))
    assert keys == {f"birthday:{born_today.pk}:2026", f"birthday:{born_today.pk}:2027"}


def test_leap_day_birthdays_are_paid_on_28_february_in_other_years(rules):
    leap = factories.MemberFactory(birth_date=date(2000, 2, 29))

    assert birthday_bonuses_award(on=date(2027, 2, 28)) == 1
    assert birthday_bonuses_award(on=date(2028, 2, 28)) == 0
    assert birthday_bonuses_award(on=date(2028, 2, 29)) == 1
    assert entries(leap, "activity") == [200, 200]


def test_the_birthday_task_pays_todays_birthdays(rules):
    today = timezone.localdate()
    birthday = today.replace(year=1990) if (today.month, today.day) != (2, 29) else date(1992, 2, 29)
    member = factories.MemberFactory(birth_date=birthday)

    assert birthday_bonuses_award_task.apply().get() == 1
    assert entries(member, "activity") == [200]


# --- referrals ------------------------------------------------------------------------------


def test_both_sides_earn_when_the_referred_members_first_purchase_lands(rules, store, member):
    friend = member_enroll(
        email="friend@example.org", first_name="Friend", referral_code=member.referral_code
    )

    buy(store, friend, "f1")
    buy(store, friend, "f2")

    referral = Referral.objects.get()
    assert (referral.referrer, referral.referred, referral.status) == (member, friend, "rewarded")
    assert referral.purchase.external_id == "f1"
    assert entries(member, "referral") == [250]
    assert entries(friend, "referral") == [100]
    assert ledger_violations() == []


def test_a_self_referral_is_refused_and_recorded(rules, store):
    referrer = factories.MemberFactory(phone="+15550199")
    # Enrolment already refuses the same email or phone; a link made another way (staff) is
    # still checked when the purchase lands.
    twin = factories.MemberFactory(phone="+15550199", referred_by=referrer)

    buy(store, twin, "t1")

    referral = Referral.objects.get()
    assert (referral.status, referral.reason) == ("refused", "self_referral")
    assert entries(referrer, "referral") == entries(twin, "referral") == []


def test_farming_past_the_monthly_cap_is_refused_and_recorded(rules, store, member):
    Program.objects.filter(pk=1).update(referral_monthly_cap=2)
    friends = [factories.MemberFactory(referred_by=member) for _ in range(3)]

    for i, friend in enumerate(friends):
        buy(store, friend, f"p{i}")

    statuses = list(Referral.objects.order_by("id").values_list("status", "reason"))
    assert statuses == [("rewarded", ""), ("rewarded", ""), ("refused", "monthly_cap")]
    assert entries(member, "referral") == [250, 250]
    assert entries(friends[2], "referral") == []


def test_the_cap_counts_per_calendar_month(rules, store, member):
    Program.objects.filter(pk=1).update(referral_monthly_cap=1)
    last_month = NOW.replace(day=1) - timedelta(days=3)
    old_friend = factories.MemberFactory()
    Referral.objects.create(
        referrer=member,
        referred=old_friend,
        status="rewarded",
        created_at=datetime.combine(last_month.date(), datetime.min.time(), tzinfo=NOW.tzinfo),
    )
    friend = factories.MemberFactory(referred_by=member)

    buy(store, friend, "p1")

    assert Referral.objects.get(referred=friend).status == "rewarded"
