"""/staff/: who may see it, what it shows, the CSV downloads and a fixed number of queries."""

import re
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from members.ledger.services import points_credit
from members.models import LedgerEntry, Member, Purchase, Tier
from tests import factories

pytestmark = pytest.mark.django_db
URL = reverse("staff:dashboard")


def add_members(count: int) -> None:
    """``count`` members with a purchase and points each (a handful of statements per member,
    only to build the data)."""
    bronze = Tier.objects.get(code="bronze")
    store = factories.StoreFactory(code="bulk-store", name="Bulk store")
    start = Member.objects.count()
    members = Member.objects.bulk_create(
        Member(email=f"bulk{start + i}@example.org", first_name="Bulk", tier=bronze) for i in range(count)
    )
    now = timezone.now()
    Purchase.objects.bulk_create(
        Purchase(member=m, store=store, external_id=f"bulk-{m.pk}", amount=Decimal("12.50"), currency="USD",
                 purchased_at=now - timedelta(days=3), available_at=now + timedelta(days=11))
        for m in members
    )  # fmt: skip
    for member in members:
        points_credit(
            member_id=member.pk, points=12, idempotency_key=f"bulk-{member.pk}",
            source_type=LedgerEntry.Source.PURCHASE, source_id=f"bulk-{member.pk}",
        )  # fmt: skip


def test_a_program_manager_sees_the_figures(client, manager):
    add_members(3)
    client.force_login(manager)

    response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Program figures" in html
    assert html.count("<svg") == 3
    assert "no ledger check recorded yet" in html
    figures = response.context["figures"]
    assert (figures.membership.members, figures.liability.points_available) == (3, 36)
    assert "0.36" in html  # 36 points x 0.01
    # Charts are inline SVG: nothing is fetched from another host.
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', html)


def test_the_figures_report_the_latest_recorded_ledger_check(client, manager):
    add_members(2)
    client.force_login(manager)
    call_command("check_ledger", stdout=StringIO())

    html = client.get(URL).content.decode()

    assert "the ledger check passed" in html and "last recorded" in html
    member = Member.objects.first()
    Member.objects.filter(pk=member.pk).update(points_available=999)  # break the balance invariant
    with pytest.raises(CommandError):
        call_command("check_ledger", stdout=StringIO(), stderr=StringIO())

    html = client.get(URL).content.decode()

    assert re.search(r"the ledger check FAILED with \d+ violation", html)


def test_each_table_downloads_as_csv(client, manager):
    add_members(2)
    client.force_login(manager)

    response = client.get(URL, {"export": "points"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    lines = response.content.decode().strip().splitlines()
    assert lines[0] == "Month,Issued,Redeemed,Expired,Reversed,Net change"
    assert len(lines) == 13
    assert lines[-1].endswith(",24,0,0,0,24")
    for name in ["summary", "tiers", "tier_moves", "campaigns", "rewards"]:
        assert client.get(URL, {"export": name}).status_code == 200
    summary = client.get(URL, {"export": "summary"}).content.decode()
    assert "Members,2" in summary and "Liability: total (USD),0.24" in summary
    assert client.get(URL, {"export": "nope"}).status_code == 404


@pytest.mark.parametrize("role", ["agent", "store_manager"])
def test_other_staff_roles_are_sent_to_admin_without_the_figures(client, request, role):
    client.force_login(request.getfixturevalue(role))

    response = client.get(URL)

    assert (response.status_code, response["Location"]) == (302, reverse("admin:index"))
    assert client.get(URL, {"export": "summary"}).status_code == 302


def test_members_and_visitors_are_sent_to_log_in(client, member):
    assert client.get(URL).status_code == 302
    client.force_login(factories.UserFactory(email="plain@example.org"))
    assert client.get(URL).status_code == 302


def test_the_number_of_queries_does_not_grow_with_the_members(client, manager, django_assert_max_num_queries):
    client.force_login(manager)
    add_members(5)
    with CaptureQueriesContext(connection) as five:
        assert client.get(URL).status_code == 200

    add_members(195)
    with django_assert_max_num_queries(len(five.captured_queries)) as two_hundred:
        response = client.get(URL)
    assert response.status_code == 200

    assert response.context["figures"].membership.members == 200
    assert len(two_hundred.captured_queries) == len(five.captured_queries)
    assert len(five.captured_queries) <= 20


def test_adjustments_waiting_for_approval_are_flagged(client, manager, member):
    from loyalty_site.staff.services import adjustment_request

    client.force_login(manager)
    assert 'data-testid="pending-adjustments"' not in client.get(URL).content.decode()

    adjustment_request(member_id=member.pk, points=5000, reason="Goodwill", requested_by=manager)

    html = client.get(URL).content.decode()
    assert "1 points adjustment waits for a second staff member" in html


def test_the_tables_and_charts_read_in_the_staff_members_language(client, manager):
    add_members(1)
    client.force_login(manager)

    with translation.override("en"):
        page = client.get(URL, headers={"Accept-Language": "fr"}).content.decode()
        summary = client.get(URL, {"export": "summary"}, headers={"Accept-Language": "de"}).content.decode()

    assert "Variation nette" in page and "Engagement : total (USD)" in page
    assert "Changements de niveau par mois" in page  # a chart's title
    lines = summary.strip().splitlines()
    assert lines[0] == "Kennzahl,Wert" and lines[-1].startswith("Verbindlichkeit: gesamt (USD),")


def test_csv_cells_that_would_be_formulas_are_text(client, manager):
    """Given a campaign named like a spreadsheet formula, its CSV row starts the name with an
    apostrophe, while negative numbers stay numbers."""
    from campaigns.models import Campaign
    from loyalty_site.staff.tables import csv_cell

    now = timezone.now()
    Campaign.objects.create(
        code="evil", name='=HYPERLINK("http://example.com","x")', kind=Campaign.Kind.FIXED_BONUS,
        bonus_points=10, starts_at=now - timedelta(days=3), ends_at=now + timedelta(days=3),
    )  # fmt: skip
    client.force_login(manager)

    body = client.get(URL, {"export": "campaigns"}).content.decode()

    assert "'=HYPERLINK" in body
    assert [csv_cell(v) for v in ["@SUM(A1)", "+1+1", "-2", "-3.50", "12%", "plain", None, -7]] == [
        "'@SUM(A1)", "'+1+1", "-2", "-3.50", "12%", "plain", "", "-7"
    ]  # fmt: skip
