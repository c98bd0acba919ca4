"""The member portal's core pages: what they show, that a member sees only their own data,
and that each runs a fixed number of queries whatever the length of the history."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from members.models import AuditEvent, Member, Tier
from tests import factories
from tests.portal.conftest import give_history, verified_user

PAGES = ["portal:dashboard", "portal:history", "portal:profile", "portal:card"]


@pytest.mark.parametrize("name", PAGES)
def test_pages_need_a_login(client, program, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("name", PAGES)
def test_a_login_without_a_member_gets_a_friendly_page(client, program, name):
    staff = factories.UserFactory(is_staff=True)
    client.force_login(staff)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert b"staff login" in response.content


def test_a_verified_login_without_a_member_can_join(client, program):
    user = verified_user("late@example.org", first_name="Lee")
    client.force_login(user)
    assert b"Join Rewards Club" in client.get(reverse("portal:dashboard")).content
    response = client.post(reverse("portal:join"))
    assert response.status_code == 302
    member = Member.objects.get(user=user)
    assert member.email == "late@example.org" and member.tier.code == "bronze"


def test_dashboard_shows_balance_pending_tier_and_expiry(member_client, portal_member):
    give_history(portal_member, 10, start=timezone.now() - timedelta(days=20))
    portal_member.refresh_from_db()
    response = member_client.get(reverse("portal:dashboard"))
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(rf'data-testid="points-available">{portal_member.points_available}<', html)
    assert portal_member.points_pending > 0
    assert f'data-testid="points-pending">{portal_member.points_pending}<' in html
    assert "Bronze" in html and "more to reach <strong>Silver</strong>" in html
    assert "Expiring next" in html and "<svg" in html
    assert "Points earned and used per month" in html


def test_dashboard_says_what_keeping_the_tier_takes(member_client, portal_member):
    portal_member.tier = Tier.objects.get(code="gold")
    portal_member.tier_held_until = timezone.now() + timedelta(days=60)
    portal_member.save()
    # four purchases of $25 in the last 100 days: $100 of the $1,500 needed
    give_history(portal_member, 5, start=timezone.now() - timedelta(days=100))
    html = member_client.get(reverse("portal:dashboard")).content.decode()
    assert "Spend $1,400 by" in html and "to keep Gold" in html


@pytest.mark.parametrize("size", [5, 200])
@pytest.mark.parametrize("name", PAGES)
def test_query_count_is_fixed_whatever_the_history(
    member_client, portal_member, django_assert_max_num_queries, name, size
):
    # On a tier with a threshold, the dashboard also works out what keeping it takes.
    Member.objects.filter(pk=portal_member.pk).update(
        tier=Tier.objects.get(code="silver"), tier_held_until=timezone.now() + timedelta(days=90)
    )
    give_history(portal_member, size)
    with django_assert_max_num_queries(MAX_QUERIES[name]):
        response = member_client.get(reverse(name))
    assert response.status_code == 200


# session, user, member, then the page's own reads (the dashboard, on other databases than
# PostgreSQL: tier progress, keep-the-tier, recent, pending, expiring, the chart; offers,
# category affinity and reward options; the paid plan, the household; the streak; the profile:
# its badges).
MAX_QUERIES = {"portal:dashboard": 18, "portal:history": 5, "portal:profile": 4, "portal:card": 7}


@pytest.mark.postgres
def test_the_dashboard_reads_a_year_of_history_in_one_query(
    member_client, portal_member, django_assert_max_num_queries
):
    Member.objects.filter(pk=portal_member.pk).update(
        tier=Tier.objects.get(code="silver"), tier_held_until=timezone.now() + timedelta(days=90)
    )
    give_history(portal_member, 200)
    member_client.get(reverse("portal:dashboard"))  # the process keeps the program and the tiers

    # The session (through the cache: none), the user, the member, and everything the page shows
    # of the ledger in one; then one each for the paid plan, the household, the offers, the
    # category affinity, the reward options and the streak. None of them grows with the history.
    with django_assert_max_num_queries(9) as captured:
        response = member_client.get(reverse("portal:dashboard"))

    assert response.status_code == 200
    assert "django_session" not in captured.captured_queries[0]["sql"]
    html = response.content.decode()
    assert 'data-testid="tier-keep"' in html and "Points earned and used per month" in html


def test_history_filters_pages_and_sorts(member_client, portal_member):
    give_history(portal_member, 45)
    first = member_client.get(reverse("portal:history")).content.decode()
    assert "Page 1 of 3" in first
    redeemed = member_client.get(reverse("portal:history"), {"kind": "redeem"}).content.decode()
    assert redeemed.count("kind-redeem") == 9 and "kind-earn" not in redeemed
    oldest_first = member_client.get(reverse("portal:history"), {"sort": "created_at"}).content.decode()
    assert 'aria-sort="ascending"' in oldest_first
    assert re.search(r"Purchase p-\d+-0<", oldest_first)


def test_a_member_sees_only_their_own_history(client, program, portal_member):
    give_history(portal_member, 5)
    other = verified_user("other@example.org")
    factories.MemberFactory(email=other.email, user=other, first_name="Otto")
    client.force_login(other)
    for name in PAGES:
        html = client.get(reverse(name), {"member": portal_member.member_number}).content.decode()
        assert "Maya" not in html, name
        assert f">{portal_member.member_number}<" not in html
    assert "No entries match" in client.get(reverse("portal:history")).content.decode()


def test_profile_saves_preferences_and_audits_them(member_client, portal_member):
    response = member_client.post(
        reverse("portal:profile"),
        {"first_name": "Maya", "last_name": "M.", "birth_date": "1990-04-02", "reminder_opt_in": "on"},
    )
    assert response.status_code == 302
    portal_member.refresh_from_db()
    assert str(portal_member.birth_date) == "1990-04-02"
    assert (portal_member.marketing_opt_in, portal_member.reminder_opt_in) == (False, True)
    event = AuditEvent.objects.get(member=portal_member, action="member.profile_update")
    assert set(event.details) == {"last_name", "birth_date"}
    # The birthday is set once: the field is disabled and a forged change is ignored.
    member_client.post(reverse("portal:profile"), {"first_name": "Maya", "birth_date": "1991-01-01"})
    portal_member.refresh_from_db()
    assert str(portal_member.birth_date) == "1990-04-02"


def test_profile_shows_errors_in_words(member_client, portal_member):
    response = member_client.post(reverse("portal:profile"), {"first_name": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


def test_every_portal_page_renders_for_the_demo_member(client, db):
    from io import StringIO

    from django.core.management import call_command

    from members.models import User

    call_command("seed_demo", "--force", stdout=StringIO())
    client.force_login(User.objects.get(email="member@example.com"))
    for url in [
        reverse("portal:dashboard"),
        reverse("portal:history"),
        reverse("portal:history") + "?kind=redeem&since=2020-01-01&sort=-points&page=1",
        reverse("portal:profile"),
        reverse("rewards:catalog"),
        reverse("rewards:catalog") + "?affordable=1&category=Vouchers",
        reverse("rewards:detail", args=["voucher-5"]) + "?confirm=1",
        reverse("rewards:vouchers"),
        reverse("earn:index"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
    assert b"<svg" in client.get(reverse("portal:profile")).content  # the membership card


def test_history_ignores_a_bad_filter_instead_of_failing(member_client, portal_member):
    give_history(portal_member, 3)
    response = member_client.get(reverse("portal:history"), {"since": "not-a-date", "kind": "nope"})
    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()


def test_a_negative_balance_after_a_refund_is_explained(member_client, portal_member):
    Member.objects.filter(pk=portal_member.pk).update(points_available=-40)
    html = member_client.get(reverse("portal:dashboard")).content.decode()
    assert 'data-testid="points-available">-40<' in html
    assert "the next 40 points you earn settle it" in html
