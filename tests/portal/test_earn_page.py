"""The portal's "ways to earn" page: rules as configured, the referral link, and the
social-share submission with its review status."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns.demo import seed_program as seed_rules
from campaigns.models import Activity
from campaigns.services import activity_approve
from tests import factories


@pytest.fixture
def rules(program):
    seed_rules()


def test_earn_page_lists_the_rules_and_the_referral_link(member_client, portal_member, rules):
    html = member_client.get(reverse("earn:index")).content.decode()
    assert "Write a product review" in html and "+50 points" in html
    assert f"/accounts/signup/?ref={portal_member.referral_code}" in html
    assert "You get <strong>250 points</strong> and your friend gets <strong>100</strong>" in html
    # The copy button is an enhancement: hidden until the script shows it; the link is selectable.
    assert 'data-copy="#referral-link"' in html and "readonly" in html


def test_a_social_share_waits_for_review_and_shows_its_status(member_client, portal_member, rules):
    url = reverse("earn:index")
    response = member_client.post(url, {"url": "https://social.example/posts/42"})
    assert response.status_code == 302
    activity = Activity.objects.get(member=portal_member)
    assert activity.status == "pending" and activity.url == "https://social.example/posts/42"
    assert "Waiting for approval" in member_client.get(url).content.decode()

    member_client.post(url, {"url": "https://social.example/posts/42"})  # the same link again
    assert Activity.objects.filter(member=portal_member).count() == 1

    activity_approve(activity_id=activity.pk, staff_user=factories.UserFactory(is_staff=True))
    html = member_client.get(url).content.decode()
    assert "Approved" in html and "+25" in html
    portal_member.refresh_from_db()
    assert portal_member.points_available == 25


def test_a_bad_link_is_explained(member_client, portal_member, rules):
    response = member_client.post(reverse("earn:index"), {"url": "not a link"})
    assert response.status_code == 200
    assert "Enter a valid URL." in response.content.decode()
    assert not Activity.objects.exists()


def test_the_share_limit_is_explained(member_client, portal_member, rules):
    for i in range(5):
        member_client.post(reverse("earn:index"), {"url": f"https://social.example/p/{i}"})
    response = member_client.post(reverse("earn:index"), {"url": "https://social.example/p/6"})
    assert "You have reached the limit for shares" in response.content.decode()
    assert Activity.objects.filter(member=portal_member).count() == 5


@pytest.mark.parametrize("shares", [1, 12])
def test_earn_page_runs_a_fixed_number_of_queries(
    member_client, portal_member, rules, django_assert_max_num_queries, shares
):
    for i in range(shares):
        member_client.post(reverse("earn:index"), {"url": f"https://social.example/q/{i}"})
        Activity.objects.update(created_at="2020-01-01T00:00:00Z")  # keep under the monthly limit
    with django_assert_max_num_queries(9):
        assert member_client.get(reverse("earn:index")).status_code == 200
