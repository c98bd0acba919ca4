"""The portal's transfer pages and the dashboard's plan and household, through the test client:
the confirmation step, errors that change nothing, a double submit sent once, and the query
counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.services.purchases import purchase_record
from members.ledger.invariants import ledger_violations
from members.ledger.services import points_credit
from members.memberships import membership_start
from members.models import Household, HouseholdMember, LedgerEntry, Transfer
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_ledger(db):
    yield
    assert ledger_violations() == []


@pytest.fixture
def friend(program):
    return factories.MemberFactory(first_name="Liam", last_name="Lindqvist")


def seed(member, points=1000):
    points_credit(
        member_id=member.pk,
        points=points,
        idempotency_key=f"seed-{member.pk}",
        source_type=LedgerEntry.Source.SYSTEM,
    )


def form(friend, points=300, **extra):
    return {"member_number": friend.member_number, "last_name": "lindqvist", "points": points, **extra}


def test_the_form_then_the_confirmation_then_sent_once(
    member_client, portal_member, friend, mailoutbox, django_capture_on_commit_callbacks
):
    seed(portal_member)
    page = member_client.get("/portal/transfer/")
    assert page.status_code == 200 and b"Left this month" in page.content

    confirm = member_client.post("/portal/transfer/", form(friend))
    assert confirm.status_code == 200
    assert b"Liam Lindqvist" in confirm.content and b"700" in confirm.content
    assert not Transfer.objects.exists()  # nothing until confirmed
    token = confirm.context["form"].initial["token"]
    body = {**form(friend), "message": "", "token": token}

    with django_capture_on_commit_callbacks(execute=True):
        sent = member_client.post("/portal/transfer/confirm/", body)
        again = member_client.post("/portal/transfer/confirm/", body)  # a double click

    assert sent.status_code == again.status_code == 302
    assert Transfer.objects.count() == 1
    portal_member.refresh_from_db()
    friend.refresh_from_db()
    assert (portal_member.points_available, friend.points_available) == (700, 300)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [friend.email]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"last_name": "Lind"}, b"No member has that member number and surname"),
        ({"points": 0}, b"greater than or equal to 1"),
        ({"member_number": ""}, b"This field is required"),
    ],
)
def test_bad_input_shows_the_form_again_and_changes_nothing(
    member_client, portal_member, friend, change, message
):
    seed(portal_member)
    response = member_client.post("/portal/transfer/", {**form(friend), **change})
    assert response.status_code == 200 and message in response.content
    assert not Transfer.objects.exists()


def test_more_than_the_balance_or_the_limit_is_refused_at_the_confirmation(
    member_client, portal_member, friend
):
    seed(portal_member, 6000)
    body = {**form(friend, points=5001), "message": "", "token": "abc"}
    response = member_client.post("/portal/transfer/confirm/", body)
    assert response.status_code == 200 and b"5,000 points a month" in response.content
    body = {**form(friend, points=4000), "message": "", "token": "abd"}
    member_client.post("/portal/transfer/confirm/", body)
    response = member_client.post("/portal/transfer/confirm/", {**body, "points": 2500, "token": "abe"})
    assert b"1,000 are left" in response.content
    assert Transfer.objects.count() == 1


def test_sending_to_oneself_is_refused(member_client, portal_member):
    seed(portal_member)
    response = member_client.post(
        "/portal/transfer/",
        {"member_number": portal_member.member_number, "last_name": portal_member.last_name, "points": 5},
    )
    assert b"yourself" in response.content


def test_the_dashboard_shows_the_plan_its_value_against_the_price_and_the_household(
    member_client, portal_member, friend, django_assert_max_num_queries
):
    store = factories.StoreFactory()
    membership_start(
        store=store, member_number=portal_member.member_number, plan_code="plus", external_id="M-1"
    )
    purchase_record(
        store=store,
        member_number=portal_member.member_number,
        external_id="T-1",
        amount=Decimal("200.00"),
        currency="USD",
        purchased_at=timezone.now(),
    )
    household = Household.objects.create(name="The Member household")
    HouseholdMember.objects.create(household=household, member=portal_member)
    HouseholdMember.objects.create(household=household, member=friend)
    seed(friend, 40)

    member_client.get("/portal/")
    with django_assert_max_num_queries(24):
        response = member_client.get("/portal/")

    text = response.content.decode()
    # 200 x gold 1.5 = 300; x plus 1.5 = 450: 150 extra points, worth $1.50, against $49
    assert 'has earned you <strong data-testid="plan-extra-points">150</strong> extra points' in text
    assert "$1.50" in text and "$49" in text
    assert "does not renew by itself" in text
    assert 'data-testid="household-total">40<' in text  # pending points are not available yet


def test_the_transfer_page_has_a_fixed_query_count(
    member_client, portal_member, friend, django_assert_max_num_queries
):
    seed(portal_member)
    with django_assert_max_num_queries(12):
        member_client.get("/portal/transfer/")
    with django_assert_max_num_queries(14):
        member_client.post("/portal/transfer/", form(friend))
