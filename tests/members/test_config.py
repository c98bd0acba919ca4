"""The program, the tiers, the campaigns and the stores' keys that each process keeps
(``members.config``): a change by staff (admin saves, the tier-draft publish's bulk update, a
revoked key) reaches the very next request of this process and of every other one."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.signals import request_finished, request_started
from django.db import connections, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from campaigns.models import Campaign
from members import config
from members.api_keys import api_key_revoke
from members.models import ApiKey, Member, Program, Tier
from tests import factories
from tests.api.conftest import client_with_key

pytestmark = pytest.mark.django_db
URL = "/api/v1/purchases/"
NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def till(store, api_key):
    return client_with_key(api_key)


@pytest.fixture
def store(db):
    return factories.StoreFactory()


@pytest.fixture
def api_key(store) -> str:
    from members.api_keys import api_key_create

    return api_key_create(store=store, name="till")[1]


def buy(till, member: Member, external_id: str, amount: str = "100.00"):
    payload = {
        "member": member.member_number,
        "external_id": external_id,
        "amount": amount,
        "currency": "USD",
        "purchased_at": (NOW - timedelta(hours=1)).isoformat(),
    }
    response = till.post(URL, payload, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_program_saved_in_admin_reaches_the_next_purchase(till, member):
    first = buy(till, member, "p1")  # the process now keeps the program
    program = Program.load()
    program.return_window_days = 30
    program.save()

    second = buy(till, member, "p2")

    purchased_at = NOW - timedelta(hours=1)
    assert parse_datetime(first["available_at"]) == purchased_at + timedelta(days=14)
    assert parse_datetime(second["available_at"]) == purchased_at + timedelta(days=30)


def test_a_program_updated_in_bulk_reaches_the_next_purchase(till, member):
    buy(till, member, "p1")
    Program.objects.filter(pk=1).update(base_earn_rate=Decimal("2"))

    assert buy(till, member, "p2")["points_awarded"] == 200


def test_published_tier_thresholds_reach_the_next_tier_check(till, member):
    buy(till, member, "p1", amount="50.00")  # bronze; silver is 500 away
    tiers = list(Tier.objects.all())
    for tier in tiers:  # as the tier-draft publish does: one bulk update of every tier
        tier.threshold = {"bronze": 0, "silver": 100, "gold": 1500, "platinum": 5000}[tier.code]
    Tier.objects.bulk_update(tiers, ["threshold", "multiplier"])

    buy(till, member, "p2", amount="60.00")

    member.refresh_from_db()
    assert member.tier.code == "silver"


def test_a_tier_multiplier_saved_in_admin_reaches_the_next_purchase(till, member):
    buy(till, member, "p1")
    bronze = Tier.objects.get(code="bronze")
    bronze.multiplier = Decimal("1.50")
    bronze.save()

    awards = buy(till, member, "p2")["awards"]

    assert awards == [{"source": "base", "points": 100}, {"source": "tier:bronze", "points": 50}]


def test_a_campaign_created_changed_or_retargeted_applies_at_once(till, member):
    buy(till, member, "p1")
    campaign = Campaign.objects.create(
        code="double",
        name="Double",
        kind=Campaign.Kind.MULTIPLIER,
        multiplier=Decimal("2"),
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=1),
    )
    assert buy(till, member, "p2")["points_awarded"] == 200

    campaign.multiplier = Decimal("3")
    campaign.save()
    assert buy(till, member, "p3")["points_awarded"] == 300

    campaign.tiers.add(Tier.objects.get(code="gold"))  # no longer for a bronze member
    assert buy(till, member, "p4")["points_awarded"] == 100


def test_spending_a_campaign_budget_keeps_the_campaigns(till, member, django_assert_max_num_queries):
    Campaign.objects.create(
        code="bonus",
        name="Bonus",
        kind=Campaign.Kind.FIXED_BONUS,
        bonus_points=10,
        budget_points=1000,
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=1),
    )
    buy(till, member, "p1")
    stamp = config._read_stamp()

    buy(till, member, "p2")

    assert config._read_stamp() == stamp  # the budget's UPDATE is a counter, not a change
    assert Campaign.objects.get(code="bonus").spent_points == 20


def test_a_revoked_key_is_refused_at_once(till, member):
    buy(till, member, "p1")  # the process now keeps the key
    api_key_revoke(key=ApiKey.objects.get())

    response = till.post(URL, {"member": member.member_number}, format="json")

    assert response.status_code == 401


def test_a_closed_store_is_refused_at_once(till, member, store):
    buy(till, member, "p1")
    store.is_active = False
    store.save()

    assert till.post(URL, {"member": member.member_number}, format="json").status_code == 401


def test_a_change_rolled_back_is_not_kept(program):
    assert config.program().return_window_days == 14
    with pytest.raises(RuntimeError), transaction.atomic():
        Program.objects.filter(pk=1).update(return_window_days=3)
        assert config.program().return_window_days == 3  # the change is seen inside its transaction
        raise RuntimeError

    assert config.program().return_window_days == 14


@pytest.mark.usefixtures("wsgi_keeps_test_connection")  # the signals without closing the connection
def test_a_request_reads_the_stamp_once(program, django_assert_num_queries):
    request_started.send(sender=None)
    try:
        config.program()
        config.cache.set(config.STAMP_KEY, "moved by another process")
        with django_assert_num_queries(0):
            assert config.program().return_window_days == 14  # the same request: not read again
    finally:
        request_finished.send(sender=None)
    with django_assert_num_queries(1):
        config.program()  # the next read sees the stamp moved, and reloads


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_another_process_sees_a_change_on_its_next_request(program):
    """A thread keeps its own copies, as another process does; it shares the cache (the stamp)
    and the database, not the memory."""
    asked, answered = threading.Event(), threading.Event()
    seen: list[int] = []

    def other_process() -> None:
        try:
            for _ in range(2):
                asked.wait(10)
                asked.clear()
                request_started.send(sender=None)
                seen.append(config.program().return_window_days)
                request_finished.send(sender=None)
                answered.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_process)
    thread.start()
    asked.set()
    assert answered.wait(10)
    answered.clear()
    program = Program.load()
    program.return_window_days = 21
    program.save()
    asked.set()
    assert answered.wait(10)
    thread.join(10)

    assert seen == [14, 21]


def test_without_the_cache_every_read_goes_to_the_database(program, monkeypatch, django_assert_num_queries):
    config.program()

    def down(*args, **kwargs):
        raise ConnectionError("the cache is down")

    monkeypatch.setattr(config.cache, "get", down)
    monkeypatch.setattr(config.cache, "set", down)
    config.forget()
    program = Program.load()
    program.return_window_days = 9
    program.save()  # the bump cannot reach the cache: the save still goes through

    with django_assert_num_queries(1):
        assert config.program().return_window_days == 9
