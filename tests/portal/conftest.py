"""Fixtures of the member portal: a verified login with its member, a history of a chosen
length."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from members.ledger.services import points_credit, points_debit
from members.models import LedgerEntry, Member, Purchase
from tests import factories


def verified_user(email: str, **extra):
    user = factories.UserFactory(email=email, **extra)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


@pytest.fixture
def member_user(program):
    user = verified_user("maya@example.org", first_name="Maya", last_name="Member")
    factories.MemberFactory(email=user.email, first_name="Maya", last_name="Member", user=user)
    return user


@pytest.fixture
def portal_member(member_user) -> Member:
    return Member.objects.get(user=member_user)


@pytest.fixture
def member_client(client, member_user):
    client.force_login(member_user)
    return client


def give_history(member: Member, entries: int, *, start=None) -> None:
    """``entries`` ledger entries spread over the last year: credits, some pending, and a
    debit every fifth entry."""
    now = timezone.now()
    start = start or now - timedelta(days=360)
    step = (now - start) / max(entries, 1)
    store = factories.StoreFactory(code="portal-store", name="Portal Store")
    for i in range(entries):
        at = start + step * i
        if i % 5 == 4:
            points_debit(
                member_id=member.pk,
                points=5,
                idempotency_key=f"test:debit:{member.pk}:{i}",
                source_type=LedgerEntry.Source.REDEMPTION,
                source_id=str(i),
                description="Voucher",
                now=at,
            )
            continue
        purchase = Purchase.objects.create(
            member=member,
            store=store,
            external_id=f"p-{member.pk}-{i}",
            amount=Decimal("25.00"),
            currency="USD",
            purchased_at=at,
            available_at=at + timedelta(days=14),
            points_awarded=25,
        )
        # Points whose return window has closed by now are credited as available, as the
        # release job would have left them; the rest stay pending.
        arrives = at + timedelta(days=14)
        points_credit(
            member_id=member.pk,
            points=25,
            idempotency_key=f"test:credit:{member.pk}:{i}",
            source_type=LedgerEntry.Source.PURCHASE,
            source_id=purchase.external_id,
            earned_at=at,
            available_at=arrives if arrives > now else at,
            now=at,
        )
