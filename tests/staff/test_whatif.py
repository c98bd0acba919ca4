"""The tier what-if: a draft previewed with the tier job's own query, and published by a
service that is audited."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from loyalty_site.staff.models import TierDraft
from loyalty_site.staff.services import NotPermitted, tier_draft_publish, tier_draft_save
from loyalty_site.staff.whatif import tier_what_if
from members.errors import InvalidRequest
from members.models import AuditEvent, Member, Purchase, Tier
from tests import factories

pytestmark = pytest.mark.django_db
URL = reverse("staff:tiers")
NOW = timezone.now().replace(microsecond=0)

DRAFT = {
    "bronze": {"threshold": "0.00", "multiplier": "1.00"},
    "silver": {"threshold": "300.00", "multiplier": "1.50"},
    "gold": {"threshold": "900.00", "multiplier": "1.50"},
    "platinum": {"threshold": "5000.00", "multiplier": "2.00"},
}


@pytest.fixture
def three_members(program):
    """M1 bronze, held, spent 400 lately; M2 gold, hold ended, spent 1000 in the year of which 200
    lately; M3 silver, held, spent nothing."""
    tiers = {t.code: t for t in Tier.objects.all()}
    store = factories.StoreFactory()
    held, ended = NOW + timedelta(days=100), NOW - timedelta(days=1)
    m1 = factories.MemberFactory(tier=tiers["bronze"], tier_held_until=held)
    m2 = factories.MemberFactory(tier=tiers["gold"], tier_held_until=ended)
    factories.MemberFactory(tier=tiers["silver"], tier_held_until=held)
    for member, amount, days_ago in [(m1, "400", 10), (m2, "200", 5), (m2, "800", 100)]:
        when = NOW - timedelta(days=days_ago)
        Purchase.objects.create(
            member=member, store=store, external_id=f"p-{member.pk}-{days_ago}", amount=Decimal(amount),
            currency="USD", purchased_at=when, available_at=when + timedelta(days=14),
        )  # fmt: skip
    return tiers


def test_the_preview_counts_moves_and_prices_next_month(three_members):
    what_if = tier_what_if(draft=DRAFT, as_of=NOW)

    rows = {row.code: row for row in what_if.rows}
    # With the draft M1 (400 >= 300) goes up to silver and M2 (1000 >= 900) stays gold.
    assert (what_if.members, what_if.up, what_if.down) == (3, 1, 0)
    assert (rows["bronze"].members, rows["bronze"].up) == (1, 1)
    assert [rows[c].after for c in ["bronze", "silver", "gold", "platinum"]] == [0, 2, 1, 0]
    # With the current tiers M1 stays bronze and M2 (1000 < 1500, hold ended) goes down to silver.
    assert [rows[c].after_now for c in ["bronze", "silver", "gold", "platinum"]] == [1, 2, 0, 0]
    # Next month, now: 400 x 1.00 + 200 x 1.25 = 650 points; draft: 400 x 1.50 + 200 x 1.50 = 900.
    assert (what_if.points_now, what_if.points_draft, what_if.points_delta) == (650, 900, 250)
    assert (what_if.money_now, what_if.money_draft, what_if.money_delta) == (
        Decimal("6.50"),
        Decimal("9.00"),
        Decimal("2.50"),
    )
    assert rows["silver"].changed and not rows["platinum"].changed


def test_publishing_applies_the_draft_and_is_audited(three_members, manager):
    draft = tier_draft_save(tiers=DRAFT, staff_user=manager)

    tier_draft_publish(draft_id=draft.pk, staff_user=manager)

    silver, gold = Tier.objects.get(code="silver"), Tier.objects.get(code="gold")
    assert (silver.threshold, silver.multiplier, gold.threshold) == (
        Decimal("300.00"),
        Decimal("1.50"),
        Decimal("900.00"),
    )
    draft.refresh_from_db()
    assert draft.published_by == manager and draft.published_at is not None
    event = AuditEvent.objects.get(action="tiers_published")
    assert event.actor == manager
    assert event.details["changes"] == {
        "silver": {"threshold": ["500.00", "300.00"], "multiplier": ["1.25", "1.50"]},
        "gold": {"threshold": ["1500.00", "900.00"], "multiplier": ["1.50", "1.50"]},
    }
    # Members are not moved by publishing: the tier job does that.
    assert Member.objects.filter(tier__code="bronze").count() == 1


def test_a_draft_must_make_sense(program, manager):
    bad = {**DRAFT, "gold": {"threshold": "200", "multiplier": "0"}}
    with pytest.raises(InvalidRequest) as error:
        tier_draft_save(tiers=bad, staff_user=manager)
    assert set(error.value.fields) == {"gold"}
    with pytest.raises(InvalidRequest):
        tier_draft_save(tiers={**DRAFT, "bronze": {"threshold": "10", "multiplier": "1"}}, staff_user=manager)
    assert not TierDraft.objects.exists()


def test_only_program_managers_draft_and_publish(program, agent, manager):
    with pytest.raises(NotPermitted):
        tier_draft_save(tiers=DRAFT, staff_user=agent)
    draft = tier_draft_save(tiers=DRAFT, staff_user=manager)
    with pytest.raises(NotPermitted):
        tier_draft_publish(draft_id=draft.pk, staff_user=agent)
    assert Tier.objects.get(code="silver").threshold == Decimal("500.00")


def test_the_page_previews_and_publishes(client, three_members, manager, django_assert_max_num_queries):
    client.force_login(manager)
    form = {f"{code}-{field}": value for code, values in DRAFT.items() for field, value in values.items()}

    response = client.post(URL, {**form, "action": "preview"})
    assert response.status_code == 302
    assert LogEntry.objects.get(content_type__model="tierdraft").user == manager
    with django_assert_max_num_queries(25):
        page = client.get(URL)
    html = page.content.decode()
    assert page.context["what_if"].up == 1
    assert 'data-testid="moves-up">1<' in html and "+2.50" in html and "<svg" in html

    response = client.post(URL, {"action": "publish"})
    assert response.status_code == 302
    assert Tier.objects.get(code="silver").threshold == Decimal("300.00")
    logged = LogEntry.objects.filter(content_type__model="tier").order_by("id")
    assert [entry.object_repr for entry in logged] == ["Silver", "Gold"]
    assert "threshold 500.00 → 300.00" in logged[0].change_message
    assert AuditEvent.objects.filter(action="admin_changed", details__model="members.tier").count() == 2


def test_the_page_refuses_a_bad_draft(client, program, manager):
    client.force_login(manager)
    form = {f"{code}-{field}": value for code, values in DRAFT.items() for field, value in values.items()}
    form["gold-threshold"] = "100"

    response = client.post(URL, {**form, "action": "preview"})

    assert response.status_code == 200
    assert "above the one below it" in response.content.decode()
    assert not TierDraft.objects.exists()


@pytest.mark.parametrize("role", ["agent", "store_manager"])
def test_other_roles_may_not_open_the_what_if(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(URL).status_code == 403


def test_admin_shows_tier_thresholds_but_changes_them_only_through_the_what_if(client, program, manager):
    silver = Tier.objects.get(code="silver")
    client.force_login(manager)
    url = reverse("admin:members_tier_change", args=[silver.pk])

    page = client.get(url)
    response = client.post(
        url, {"code": "silver", "name": "Silver+", "rank": 2, "threshold": "1", "multiplier": "9"}
    )

    assert "what-if" in page.content.decode()
    assert response.status_code == 302
    silver.refresh_from_db()
    assert (silver.name, silver.threshold, silver.multiplier) == (
        "Silver+",
        Decimal("500.00"),
        Decimal("1.25"),
    )
