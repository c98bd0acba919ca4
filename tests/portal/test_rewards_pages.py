"""The portal's reward pages: the catalog with its filters and lock reasons, redeeming after a
confirmation step, errors in words, vouchers with their QR codes, and fixed query counts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from members.models import LedgerEntry
from rewards.demo import seed_program as seed_rewards
from rewards.models import Redemption, Reward
from tests import factories
from tests.portal.conftest import verified_user
from tests.rewards.support import fund, make_reward

TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def catalog(program):
    seed_rewards()
    make_reward(
        "later",
        name="Summer picnic",
        category="Experiences",
        available_from=timezone.now() + timedelta(days=10),
    )
    return {reward.code: reward for reward in Reward.objects.all()}


def test_catalog_shows_categories_and_lock_reasons(member_client, portal_member, catalog):
    fund(portal_member, 600, "fund-600")
    html = member_client.get(reverse("rewards:catalog")).content.decode()
    assert "$5 off" in html or catalog["voucher-5"].name in html
    assert "For Gold members and above" in html  # vip-event
    assert "1,200 more points needed" in html  # voucher-20 at 1,800
    assert re.search(r"Available from \d+ \w+ \d{4}", html)
    for category in {r.category for r in catalog.values() if r.category}:
        assert f">{category}</a>" in html


def test_catalog_can_show_only_what_the_member_can_afford(member_client, portal_member, catalog):
    fund(portal_member, 600, "fund-600")
    html = member_client.get(reverse("rewards:catalog"), {"affordable": "1"}).content.decode()
    assert catalog["voucher-5"].name in html and catalog["free-coffee"].name in html
    assert catalog["voucher-20"].name not in html
    only = member_client.get(reverse("rewards:catalog"), {"category": catalog["free-coffee"].category})
    assert catalog["voucher-20"].name not in only.content.decode()


def test_redeeming_takes_a_confirmation_step_then_issues_a_voucher(member_client, portal_member, catalog):
    fund(portal_member, 600, "fund-600")
    url = reverse("rewards:detail", args=["voucher-5"])
    page = member_client.get(url).content.decode()
    assert 'href="?confirm=1"' in page and "Confirm and redeem" not in page
    confirm = member_client.get(url, {"confirm": "1"}).content.decode()
    assert "You are about to spend <strong>500 points</strong>" in confirm
    token = re.search(r'name="token" value="([0-9a-f]{32})"', confirm).group(1)

    response = member_client.post(url, {"token": token})
    assert response.status_code == 302 and response["Location"].startswith(reverse("rewards:vouchers"))
    redemption = Redemption.objects.get(member=portal_member)
    assert redemption.reward.code == "voucher-5" and redemption.created_by == portal_member.user
    portal_member.refresh_from_db()
    assert portal_member.points_available == 100
    assert LedgerEntry.objects.filter(member=portal_member, kind="redeem", points=-500).count() == 1

    # The same form sent twice (a double click) redeems once.
    member_client.post(url, {"token": token})
    assert Redemption.objects.filter(member=portal_member).count() == 1

    vouchers = member_client.get(reverse("rewards:vouchers")).content.decode()
    assert redemption.voucher_code in vouchers and "<svg" in vouchers and "Ready to use" in vouchers


def test_a_refused_redemption_is_explained_in_words(member_client, portal_member, catalog):
    fund(portal_member, 100, "fund-100")
    response = member_client.post(reverse("rewards:detail", args=["voucher-5"]), {"token": TOKEN})
    assert response.status_code == 200
    assert "You do not have enough available points for this reward yet." in response.content.decode()
    assert not Redemption.objects.exists()
    gold_only = member_client.post(reverse("rewards:detail", args=["vip-event"]), {"token": TOKEN[::-1]})
    assert "This reward needs the Gold tier or higher." in gold_only.content.decode()


def test_a_reward_out_of_reach_shows_how_far_the_member_has_come(member_client, portal_member, catalog):
    fund(portal_member, 600, "fund-600")  # voucher-20 costs 1,800
    page = member_client.get(reverse("rewards:detail", args=["voucher-20"])).content.decode()
    assert '<progress class="progress" value="33" max="100" aria-label="Points towards this reward">' in page


def test_a_post_without_a_csrf_token_is_refused(client, member_user, portal_member, catalog):
    from django.test import Client

    fund(portal_member, 600, "fund-600")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(member_user)
    response = strict.post(reverse("rewards:detail", args=["voucher-5"]), {"token": TOKEN})
    assert response.status_code == 403 and not Redemption.objects.exists()


def test_a_member_cancels_their_own_voucher_but_not_someone_elses(member_client, portal_member, catalog):
    from rewards.services import reward_redeem

    fund(portal_member, 600, "fund-600")
    mine = reward_redeem(member_id=portal_member.pk, reward_code="voucher-5", notify=False).redemption
    other_user = verified_user("else@example.org")
    other = factories.MemberFactory(email=other_user.email, user=other_user)
    fund(other, 600, "fund-other")
    theirs = reward_redeem(member_id=other.pk, reward_code="voucher-5", notify=False).redemption

    assert member_client.post(reverse("rewards:voucher_cancel", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "issued"
    vouchers = member_client.get(reverse("rewards:vouchers")).content.decode()
    assert theirs.voucher_code not in vouchers

    member_client.post(reverse("rewards:voucher_cancel", args=[mine.pk]))
    mine.refresh_from_db()
    portal_member.refresh_from_db()
    assert mine.status == "cancelled" and portal_member.points_available == 600


@pytest.mark.parametrize("vouchers", [1, 30])
def test_reward_pages_run_a_fixed_number_of_queries(
    member_client, portal_member, catalog, django_assert_max_num_queries, vouchers
):
    from rewards.services import reward_redeem

    fund(portal_member, 150 * vouchers, "fund")
    for i in range(vouchers):
        reward_redeem(
            member_id=portal_member.pk, reward_code="free-coffee", idempotency_key=f"q{i}", notify=False
        )
    # session, user, member (with tier), then the page's own reads
    for url, most in [
        (reverse("rewards:catalog"), 4),
        (reverse("rewards:detail", args=["voucher-5"]), 5),
        (reverse("rewards:vouchers"), 4),
    ]:
        with django_assert_max_num_queries(most):
            assert member_client.get(url).status_code == 200


def test_an_unknown_reward_is_404(member_client, portal_member, catalog):
    assert member_client.get(reverse("rewards:detail", args=["no-such-thing"])).status_code == 404
