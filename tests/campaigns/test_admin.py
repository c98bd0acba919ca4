"""The earning admin pages open, and a campaign is created in admin with its targets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from members.models import Tier
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, program):
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_changelists_open_with_demo_data(admin_client):
    from django.core.management import call_command

    call_command("seed_demo", "--force")

    for model in ["campaign", "actionrule", "activity", "referral", "award", "purchaseimport"]:
        assert admin_client.get(reverse(f"admin:campaigns_{model}_changelist")).status_code == 200, model
    assert admin_client.get(reverse("admin:campaigns_purchaseimport_add")).status_code == 200


def test_staff_create_a_campaign_with_targets(admin_client):
    store = factories.StoreFactory()
    gold = Tier.objects.get(code="gold")
    now = timezone.now()

    response = admin_client.post(
        reverse("admin:campaigns_campaign_add"),
        {
            "name": "Gold weekend",
            "code": "gold-weekend",
            "kind": "multiplier",
            "is_active": "on",
            "multiplier": "2",
            "bonus_points": "0",
            "threshold_amount": "0",
            "starts_at_0": now.date().isoformat(),
            "starts_at_1": "00:00:00",
            "ends_at_0": (now + timedelta(days=2)).date().isoformat(),
            "ends_at_1": "00:00:00",
            "tiers": [gold.pk],
            "stores": [store.pk],
            "min_spend": "0",
            "priority": "5",
        },
    )

    assert response.status_code == 302
    campaign = Campaign.objects.get(code="gold-weekend")
    assert list(campaign.tiers.all()) == [gold] and list(campaign.stores.all()) == [store]
    assert campaign.spent_points == 0
