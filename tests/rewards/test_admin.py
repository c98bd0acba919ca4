"""Admin: the catalog with stock, the redemption queue's fulfil and cancel actions, vouchers."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from members.models import AuditEvent
from rewards.models import Redemption
from rewards.services import reward_redeem, voucher_use
from tests.factories import UserFactory
from tests.rewards.support import balances, fund

pytestmark = pytest.mark.usefixtures("ledger_ok")


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def redemptions(member, rewards):
    fund(member, 1000, "p")
    return [
        reward_redeem(member_id=member.pk, reward_code=code, notify=False).redemption
        for code in ["free-coffee", "voucher-5", "free-coffee"]
    ]


def test_the_catalog_shows_stock_in_a_fixed_number_of_queries(
    admin_client, rewards, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("admin:rewards_reward_changelist"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "unlimited" in page and ">100<" in page and "VIP evening" in page


def test_reward_and_redemption_pages_render(admin_client, redemptions):
    redemption = redemptions[0]
    for url in [
        reverse("admin:rewards_reward_change", args=[redemption.reward_id]),
        reverse("admin:rewards_reward_add"),
        reverse("admin:rewards_redemption_changelist") + "?status=issued",
        reverse("admin:rewards_redemption_change", args=[redemption.pk]),
        reverse("admin:rewards_voucher_changelist"),
    ]:
        assert admin_client.get(url).status_code == 200, url


def test_a_voucher_is_found_by_its_code_as_typed(admin_client, redemptions):
    code = redemptions[1].voucher_code
    url = reverse("admin:rewards_voucher_changelist")

    response = admin_client.get(url, {"q": code.lower().replace("-", "")})

    assert code in response.content.decode()
    assert redemptions[0].voucher_code not in response.content.decode()


def test_the_fulfil_action_marks_issued_redemptions_used(admin_client, redemptions):
    voucher_use(code=redemptions[2].voucher_code)

    response = admin_client.post(
        reverse("admin:rewards_redemption_changelist"),
        {"action": "fulfil", "_selected_action": [r.pk for r in redemptions[:3]]},
        follow=True,
    )

    assert response.status_code == 200
    assert set(Redemption.objects.values_list("status", flat=True)) == {"used"}
    assert AuditEvent.objects.filter(action="redemption_fulfilled").count() == 2
    page = response.content.decode()
    assert "2 redemptions fulfilled" in page and "already used" in page


def test_the_cancel_action_returns_points(admin_client, member, redemptions):
    assert balances(member) == (200, 0)

    admin_client.post(
        reverse("admin:rewards_voucher_changelist"),
        {"action": "cancel", "_selected_action": [redemptions[0].pk, redemptions[1].pk]},
    )

    assert balances(member) == (850, 0)
    assert list(Redemption.objects.order_by("pk").values_list("status", flat=True)) == [
        "cancelled",
        "cancelled",
        "issued",
    ]
    assert AuditEvent.objects.filter(action="redemption_cancelled").count() == 2


def test_a_changed_reward_keeps_its_stock_rules(admin_client, rewards):
    reward = rewards["free-coffee"]
    data = {
        "code": reward.code,
        "name": "Coffee",
        "kind": reward.kind,
        "category": reward.category,
        "description": "",
        "image": reward.image,
        "points_cost": 160,
        "cash_value": "3.50",
        "discount_percent": "",
        "sku": "",
        "event_starts_at_0": "",
        "event_starts_at_1": "",
        "venue": "",
        "stock": 40,
        "per_member_limit": "",
        "min_tier": "",
        "available_from_0": "",
        "available_from_1": "",
        "available_until_0": timezone.now().date().isoformat(),
        "available_until_1": "00:00:00",
        "is_active": "on",
    }
    response = admin_client.post(reverse("admin:rewards_reward_change", args=[reward.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    reward.refresh_from_db()
    assert (reward.name, reward.points_cost, reward.stock) == ("Coffee", 160, 40)
