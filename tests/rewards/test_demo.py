from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from members.ledger.invariants import ledger_violations
from members.models import LedgerEntry, Member
from rewards.models import Redemption, Reward


def state():
    return (
        list(Reward.objects.order_by("code").values_list("code", "stock", "points_cost")),
        list(Redemption.objects.order_by("pk").values_list("reward__code", "status", "points_returned")),
        LedgerEntry.objects.count(),
        Member.objects.get(email="member@example.com").points_available,
    )


def test_program_only_seeds_the_contracts_four_rewards(db):
    call_command("seed_demo", "--program-only", stdout=StringIO())

    rewards = {r.code: r for r in Reward.objects.select_related("min_tier")}
    assert set(rewards) == {"voucher-5", "voucher-20", "free-coffee", "vip-event"}
    assert (rewards["voucher-5"].points_cost, rewards["voucher-5"].cash_value) == (500, 5)
    assert (rewards["voucher-20"].points_cost, rewards["voucher-20"].cash_value) == (1800, 20)
    assert (rewards["free-coffee"].kind, rewards["free-coffee"].points_cost) == ("free_product", 150)
    assert rewards["free-coffee"].stock == 100
    vip = rewards["vip-event"]
    assert (vip.kind, vip.points_cost, vip.min_tier.code, vip.stock) == ("experience", 2500, "gold", 20)
    assert Redemption.objects.count() == 0


def test_the_demo_is_idempotent_and_its_images_exist(db, settings):
    call_command("seed_demo", "--force", stdout=StringIO())
    first = state()
    call_command("seed_demo", "--force", stdout=StringIO())

    assert state() == first
    assert len(first[0]) == 10
    # today's three (one used, one issued, one cancelled) after a year of used vouchers
    assert sorted(status for _code, status, _ in first[1][-3:]) == ["cancelled", "issued", "used"]
    assert {status for _code, status, _ in first[1][:-3]} == {"used"}
    assert ledger_violations() == []
    static = settings.BASE_DIR / "static"
    assert all((static / reward.image).is_file() for reward in Reward.objects.all())
