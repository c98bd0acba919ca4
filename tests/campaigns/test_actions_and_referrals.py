"""Action rules the system awards (sign-up, birthday) and referrals: both sides earn on the
referred member's first purchase; self-referral and farming are refused and recorded."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.demo import seed_program as seed_rules
from campaigns.inputs import PurchaseInput
from campaigns.models import Referral
from campaigns.services import birthday_bonuses_award, purchase_record, signup_bonus_award
from campaigns.tasks import birthday_bonuses_award_task
from members.ledger.invariants import ledger_violations
from members.ledger.services import points_credit, points_debit, points_reverse
from members.models import JobRun, LedgerEntry, Member, PointLot, Program
from members.services import member_enroll
from tests import factories
from tests.jobs.support import Killed, killed_after

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

    assert (first.members, again.members, next_year.members) == (1, 0, 1)
    assert (first.points, again.points, next_year.points) == (200, 0, 200)
    assert entries(born_today, "activity") == [200, 200]
    assert entries(other_day, "activity") == entries(closed, "activity") == entries(no_date, "activity") == []
    keys = set(LedgerEntry.objects.values_list("idempotency_key", flat=True))
    assert keys == {f"birthday:{born_today.pk}:2026", f"birthday:{born_today.pk}:2027"}


def test_leap_day_birthdays_are_paid_on_28_february_in_other_years(rules):
    leap = factories.MemberFactory(birth_date=date(2000, 2, 29))

    assert birthday_bonuses_award(on=date(2027, 2, 28)).members == 1
    assert birthday_bonuses_award(on=date(2028, 2, 28)).members == 0
    assert birthday_bonuses_award(on=date(2028, 2, 29)).members == 1
    assert entries(leap, "activity") == [200, 200]


def test_the_birthday_task_pays_todays_birthdays(rules):
    today = timezone.localdate()
    birthday = today.replace(year=1990) if (today.month, today.day) != (2, 29) else date(1992, 2, 29)
    member = factories.MemberFactory(birth_date=birthday)

    outcome = birthday_bonuses_award_task.apply().get()

    assert (outcome.job, outcome.outcome, outcome.rows_changed) == ("birthday_bonuses", "succeeded", 1)
    assert entries(member, "activity") == [200]


def test_the_birthday_command_pays_that_days_birthdays(rules):
    member = factories.MemberFactory(birth_date=date(1990, 6, 15))
    out = StringIO()

    call_command("birthday_bonuses", "--as-of", "2026-06-15", stdout=out)
    call_command("birthday_bonuses", "--as-of", "2026-06-15", stdout=out)

    first, second = out.getvalue().splitlines()
    assert first.startswith("birthday_bonuses as of 2026-06-15T00:00:00") and "members 1, points 200" in first
    assert "members 0, points 0" in second
    assert entries(member, "activity") == [200]


def birthday_state() -> dict:
    """Every row the birthday job writes, without ids that depend on insertion order."""
    return {
        "members": list(
            Member.objects.order_by("pk").values_list(
                "pk", "points_available", "points_pending", "last_activity_at"
            )
        ),
        "entries": sorted(
            LedgerEntry.objects.values_list("member_id", "kind", "points", "balance_after", "idempotency_key")
        ),
        "lots": sorted(
            PointLot.objects.values_list("member_id", "points", "remaining", "is_pending", "expires_at")
        ),
    }


def birthday_members(count: int, born: date = date(1990, 6, 15)) -> list[Member]:
    """``count`` members born on ``born``, between members born on other days."""
    members = []
    for i in range(count):
        factories.MemberFactory(birth_date=born.replace(day=born.day + 1))
        members.append(factories.MemberFactory(birth_date=born.replace(year=born.year + i)))
    return members


def test_a_birthday_run_killed_halfway_and_run_again_pays_each_member_once(rules, monkeypatch):
    today = date(2026, 6, 15)
    birthday_members(5)
    before = birthday_state()

    clean_point = transaction.savepoint()
    clean = birthday_bonuses_award(on=today, chunk_size=2)
    clean_state = birthday_state()
    transaction.savepoint_rollback(clean_point)
    assert birthday_state() == before

    with monkeypatch.context() as patch:
        killed_after(patch, "birthday_bonuses", chunks=2)
        with pytest.raises(Killed):
            birthday_bonuses_award(on=today, chunk_size=2)
    killed = JobRun.objects.get(name="birthday_bonuses", outcome=JobRun.Outcome.FAILED)
    assert (killed.chunks_done, killed.chunks_total, killed.rows_changed) == (2, 5, 2)
    partial = birthday_state()
    assert partial != before and partial != clean_state

    rerun = birthday_bonuses_award(on=today, chunk_size=2)
    again = birthday_bonuses_award(on=today, chunk_size=3)

    assert birthday_state() == clean_state
    assert (clean.members, clean.points) == (5, 1000)
    assert (rerun.members, again.members) == (3, 0)
    assert ledger_violations() == []


def test_a_birthday_bonus_pays_a_debt_first_as_any_credit_does(rules):
    """The job credits set-based; what it writes is what ``points_credit`` writes for one member."""
    paid_by_job, paid_by_service = birthday_members(2)
    as_of = timezone.make_aware(datetime(2026, 6, 15))
    earlier = as_of - timedelta(days=1)
    for member in (paid_by_job, paid_by_service):
        # Spent 100 points, then a refund clawed back 50 of them: 50 owed.
        points_credit(
            member_id=member.pk,
            points=100,
            idempotency_key=f"p{member.pk}",
            source_type="purchase",
            source_id=f"p{member.pk}",
            now=earlier,
        )
        points_debit(
            member_id=member.pk,
            points=100,
            idempotency_key=f"r{member.pk}",
            source_type="redemption",
            now=earlier,
        )
        points_reverse(
            member_id=member.pk,
            source_type="purchase",
            source_id=f"p{member.pk}",
            points=50,
            idempotency_key=f"refund{member.pk}",
            now=earlier,
        )
    points_credit(
        member_id=paid_by_service.pk,
        points=200,
        kind="bonus",
        idempotency_key=f"birthday:{paid_by_service.pk}:2026",
        source_type="activity",
        source_id="birthday",
        description="Birthday bonus",
        now=as_of,
    )

    result = birthday_bonuses_award(on=date(2026, 6, 15))

    assert (result.members, result.points) == (1, 200)

    def written(member: Member) -> tuple:
        member.refresh_from_db()
        entry = LedgerEntry.objects.get(idempotency_key=f"birthday:{member.pk}:2026")
        lot = entry.lot
        return (
            (member.points_available, member.points_pending, member.last_activity_at),
            (
                entry.kind,
                entry.points,
                entry.balance_after,
                entry.source_type,
                entry.source_id,
                entry.description,
                entry.created_at,
            ),
            (lot.points, lot.remaining, lot.is_pending, lot.available_at, lot.expires_at),
            list(entry.allocations.values_list("lot_id", "points")) == [(lot.pk, 50)],
        )

    assert written(paid_by_job) == written(paid_by_service)
    assert written(paid_by_job)[0] == (150, 0, as_of)
    assert ledger_violations() == []


def test_a_birthday_chunk_takes_the_same_queries_for_two_members_as_for_eight(rules):
    members = birthday_members(10)
    from campaigns.services.actions import birthday_bonuses_chunk

    as_of = timezone.make_aware(datetime(2026, 6, 15, 6))
    with CaptureQueriesContext(connection) as two:
        paid_two = birthday_bonuses_chunk(as_of=as_of, first_id=members[0].pk - 1, last_id=members[1].pk)
    with CaptureQueriesContext(connection) as eight:
        paid_eight = birthday_bonuses_chunk(as_of=as_of, first_id=members[1].pk + 1, last_id=members[9].pk)

    assert (paid_two.members, paid_eight.members) == (2, 8)
    assert len(two.captured_queries) == len(eight.captured_queries)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_birthday_runs_at_once_pay_each_member_once(program, threads):
    seed_rules()
    birthday_members(6)

    results = threads(2, lambda i: birthday_bonuses_award(on=date(2026, 6, 15), chunk_size=3))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.members for r in results) == 6
    assert LedgerEntry.objects.filter(idempotency_key__startswith="birthday:").count() == 6
    assert ledger_violations() == []


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


@pytest.mark.parametrize("alias", ["rita+alias@example.com", "Rita+Shop@Example.com"])
def test_an_alias_of_the_referrers_own_address_is_not_paid(rules, store, alias):
    """Over the API as a store would: Rita enrols her own alias with her referral code; the
    alias's first purchase pays nobody a referral."""
    from rest_framework.test import APIClient

    from members.api_keys import api_key_create

    rita = member_enroll(email="rita@example.com", first_name="Rita")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(store=store, name='till')[1]}")

    body = {"email": alias, "first_name": "Rita", "last_name": "R", "referral_code": rita.referral_code}
    enrolled = client.post("/api/v1/members/", body, format="json")
    assert enrolled.status_code == 201, enrolled.json()
    alias_member = Member.objects.get(member_number=enrolled.json()["member_number"])
    buy(store, alias_member, "a1")

    assert entries(rita, "referral") == entries(alias_member, "referral") == []
    assert ledger_violations() == []


def test_a_gmail_alias_linked_by_staff_is_refused_when_the_purchase_lands(rules, store):
    referrer = factories.MemberFactory(email="rita.smith@gmail.com")
    twin = factories.MemberFactory(email="ritasmith+2@googlemail.com", referred_by=referrer)

    buy(store, twin, "t1")

    assert (Referral.objects.get().status, Referral.objects.get().reason) == ("refused", "self_referral")


@pytest.mark.postgres
def test_a_first_purchase_locks_the_referrer_with_the_member_in_id_order(rules, store, member):
    friend = member_enroll(
        email="friend@example.org", first_name="Friend", referral_code=member.referral_code
    )
    assert member.pk < friend.pk  # the referrer enrolled first, as referrers do

    def member_locks(external_id: str) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            buy(store, friend, external_id)
        return [
            q["sql"]
            for q in queries.captured_queries
            if "FOR UPDATE" in q["sql"] and "members_member" in q["sql"]
        ]

    first = member_locks("f1")
    later = member_locks("f2")

    # One statement takes both rows, in id order, before anything else (the purchase's lock: the
    # member by number and, while they have no purchase, their referrer): never the new member
    # first and the referrer after it, which would deadlock against a job locking in id order.
    assert "ORDER BY m.id FOR UPDATE OF m" in first[0] and "referred_by_id" in first[0]
    assert Referral.objects.get().status == "rewarded"
    # Later purchases pay no referral: the purchase's lock is the only one.
    assert len(later) == 1 and "ORDER BY m.id FOR UPDATE OF m" in later[0]
    # What the statement locks: a referred member with no purchase yet comes with their referrer,
    # in ascending id; a member who bought before comes alone.
    from campaigns.services import purchases
    from members.locks import lock_member_rows

    newcomer = member_enroll(email="new@example.org", first_name="New", referral_code=member.referral_code)
    cases = ((newcomer.member_number, [member.pk, newcomer.pk]), (friend.member_number, [friend.pk]))
    for number, expected in cases:
        with transaction.atomic():
            rows = lock_member_rows(f"SELECT m.id{purchases._LOCK_FROM}", {"number": number})
        assert [row[0] for row in rows] == expected


def test_a_birthday_pays_only_when_the_date_was_on_file_30_days_before(rules):
    """Given two members born on 15 June: one set the date 30 days before, the other 29 days
    before (to collect the bonus soon). Only the first is paid; a year later both are."""
    from campaigns.services.actions import BIRTH_DATE_NOTICE

    today = date(2026, 6, 15)
    start_of_day = timezone.make_aware(datetime(2026, 6, 15))
    deadline = start_of_day - BIRTH_DATE_NOTICE
    in_time = factories.MemberFactory(birth_date=date(1990, 6, 15), birth_date_set_at=deadline)
    too_late = factories.MemberFactory(
        birth_date=date(1990, 6, 15), birth_date_set_at=deadline + timedelta(days=1)
    )

    assert birthday_bonuses_award(on=today).members == 1
    assert entries(in_time, "activity") == [200] and entries(too_late, "activity") == []
    assert birthday_bonuses_award(on=date(2027, 6, 15)).members == 2


def test_a_member_sets_the_birth_date_once_and_it_starts_the_30_days(rules, member):
    from members.errors import InvalidRequest
    from members.services import member_profile_update

    profile = {"actor": None, "first_name": "M", "marketing_opt_in": False, "reminder_opt_in": False}
    updated = member_profile_update(member=member, birth_date=date(1990, 6, 15), **profile)
    assert updated.birth_date_set_at is not None
    assert abs(updated.birth_date_set_at - timezone.now()) < timedelta(minutes=1)
    with pytest.raises(InvalidRequest):
        member_profile_update(member=member, birth_date=date(1991, 1, 1), **profile)


def test_a_full_refund_of_the_purchase_that_paid_a_referral_reverses_both_credits_once(rules, store, member):
    """Given a friend whose first purchase paid the referral on both sides: a partial refund
    leaves the bonuses; refunding the rest reverses both, once; refunding is then over."""
    from campaigns.services import refund_record

    code = member.referral_code
    friend = member_enroll(email="friend@example.org", first_name="Friend", referral_code=code)
    buy(store, friend, "f1", "50.00")
    assert entries(member, "referral") == [250] and entries(friend, "referral") == [100]

    refund_record(store=store, purchase_external_id="f1", external_id="r1", amount="20.00")
    assert Referral.objects.get().status == "rewarded"
    assert entries(member, "referral") == [250]

    refund_record(store=store, purchase_external_id="f1", external_id="r2", amount="30.00")
    refund_record(store=store, purchase_external_id="f1", external_id="r2", amount="30.00")  # a replay

    referral = Referral.objects.get()
    assert (referral.status, referral.reason) == ("reversed", "purchase_refunded")
    assert entries(member, "referral") == [250, -250]
    assert entries(friend, "referral") == [100, -100]
    assert ledger_violations() == []


def test_a_refund_of_a_later_purchase_leaves_the_referral_paid(rules, store, member):
    from campaigns.services import refund_record

    code = member.referral_code
    friend = member_enroll(email="friend@example.org", first_name="Friend", referral_code=code)
    buy(store, friend, "f1")
    buy(store, friend, "f2")

    refund_record(store=store, purchase_external_id="f2", external_id="r2", amount="50.00")

    assert Referral.objects.get().status == "rewarded"
    assert entries(member, "referral") == [250]


def test_a_birth_date_corrected_in_admin_restarts_the_30_days(rules, member, rf, staff_user):
    from django.contrib import admin as django_admin

    class ChangedBirthDate:
        changed_data = ["birth_date"]

    long_ago = timezone.now() - timedelta(days=400)
    Member.objects.filter(pk=member.pk).update(birth_date=date(1990, 6, 15), birth_date_set_at=long_ago)
    member.refresh_from_db()
    member.birth_date = date(1990, 6, 16)

    django_admin.site._registry[Member].save_model(rf.post("/"), member, ChangedBirthDate(), change=True)

    member.refresh_from_db()
    assert abs(member.birth_date_set_at - timezone.now()) < timedelta(minutes=1)
