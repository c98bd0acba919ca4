"""Fixtures of the security tests: two members with logins (a victim with a full history and
an intruder), and every URL of the site, enumerated from the resolver so that a page added
later is covered without touching these tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from members.ledger.services import points_credit
from members.models import LedgerEntry, Member, Purchase
from tests import factories


@pytest.fixture(autouse=True)
def _fresh_cache(db):
    # Rate-limit counters must not leak between tests (Redis keeps them across runs).
    cache.clear()
    yield
    cache.clear()


def verified_user(email: str, **extra):
    user = factories.UserFactory(email=email, **extra)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


@dataclass
class Victim:
    member: Member
    redemption_id: int
    voucher_code: str
    purchase_external_id: str

    @property
    def markers(self) -> list[str]:
        """Strings that belong to this member alone and must never reach anyone else."""
        m = self.member
        return [
            m.email,
            m.first_name,
            m.last_name,
            m.member_number,
            m.referral_code,
            self.voucher_code,
            self.purchase_external_id,
        ]

    def state(self) -> tuple:
        """Everything about the member another visitor could try to change."""
        m = Member.objects.select_related("user").get(pk=self.member.pk)
        from rewards.models import Redemption

        return (
            m.points_available,
            m.points_pending,
            m.first_name,
            m.last_name,
            m.email,
            m.phone,
            m.status,
            m.birth_date,
            m.marketing_opt_in,
            m.reminder_opt_in,
            m.user.password,
            m.user.email,
            list(EmailAddress.objects.filter(user=m.user).values_list("email", "verified", "primary")),
            LedgerEntry.objects.filter(member=m).count(),
            list(Redemption.objects.filter(member=m).order_by("pk").values_list("pk", "status")),
        )


@pytest.fixture
def victim(program) -> Victim:
    from rewards.demo import seed_program as seed_rewards
    from rewards.services import reward_redeem

    seed_rewards()
    user = verified_user("quentin.victim@example.org", first_name="Quentinus", last_name="Victimsworth")
    member = factories.MemberFactory(
        email=user.email, first_name="Quentinus", last_name="Victimsworth", user=user
    )
    store = factories.StoreFactory(code="victim-store", name="Victim Store")
    bought_at = timezone.now() - timedelta(days=40)
    purchase = Purchase.objects.create(
        member=member,
        store=store,
        external_id="secret-sale-8812",
        amount=Decimal("900.00"),
        currency="USD",
        purchased_at=bought_at,
        available_at=bought_at + timedelta(days=14),
        points_awarded=900,
    )
    points_credit(
        member_id=member.pk,
        points=900,
        idempotency_key=f"victim:{purchase.pk}",
        source_type=LedgerEntry.Source.PURCHASE,
        source_id=purchase.external_id,
        earned_at=bought_at,
        available_at=bought_at,
        now=bought_at,
    )
    redeemed = reward_redeem(member_id=member.pk, reward_code="voucher-5", notify=False)
    member.refresh_from_db()
    return Victim(
        member=member,
        redemption_id=redeemed.redemption.pk,
        voucher_code=redeemed.redemption.voucher_code,
        purchase_external_id=purchase.external_id,
    )


@pytest.fixture
def intruder(program):
    user = verified_user("ivy.intruder@example.org", first_name="Ivy", last_name="Intruder")
    factories.MemberFactory(email=user.email, first_name="Ivy", last_name="Intruder", user=user)
    return user


def _patterns(patterns, prefix: str = "", namespace: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}:{entry.namespace}" if entry.namespace and namespace else entry.namespace
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern), ns or namespace)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry, namespace


def _candidates(name: str, victim: Victim) -> list[str]:
    """Values to put in a URL argument: the victim's own ids wherever one could fit."""
    m = victim.member
    by_name = {
        "code": ["voucher-5"],
        "slug": ["voucher-5"],
        "voucher_code": [victim.voucher_code],
        "member_number": [m.member_number],
        "external_id": [victim.purchase_external_id],
        "app_label": ["members"],
        "object_id": [str(m.pk)],
        "uidb36": ["1"],
        "key": ["1-set-password"],
    }
    return [*by_name.get(name, []), str(victim.redemption_id), str(m.pk), m.member_number, "1"]


def site_urls(victim: Victim) -> list[str]:
    """One concrete URL for every named route outside the API, its arguments filled with the
    victim's ids (falling back to other values where those do not fit the route)."""
    urls: set[str] = set()
    for route, pattern, namespace in _patterns(get_resolver().url_patterns):
        if route.lstrip("^").startswith("api/") or not pattern.name:
            continue
        view_name = f"{namespace}:{pattern.name}" if namespace else pattern.name
        arg_names = list(pattern.pattern.regex.groupindex)
        url = _reverse(view_name, arg_names, victim)
        if url:
            urls.add(url)
    return sorted(urls)


def _reverse(view_name: str, arg_names: list[str], victim: Victim) -> str | None:
    if not arg_names:
        try:
            return reverse(view_name)
        except NoReverseMatch:
            return None
    options = [_candidates(name, victim) for name in arg_names]
    for attempt in range(max(len(o) for o in options)):
        kwargs = {
            name: opts[min(attempt, len(opts) - 1)] for name, opts in zip(arg_names, options, strict=True)
        }
        try:
            return reverse(view_name, kwargs=kwargs)
        except NoReverseMatch:
            continue
    return None
