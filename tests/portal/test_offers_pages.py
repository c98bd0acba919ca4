"""The offers page, activation by a POST form, the dashboard's offers and recommended rewards,
offer mail with its unsubscribe link, and the staff figures per offer."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Offer, OfferActivation, OfferMail, OfferTarget, Segment, SegmentMember
from campaigns.offers import offer_figures
from campaigns.offers_mail import offer_mail_send
from campaigns.recommendations import recommended_rewards
from members.models import Member, Purchase, PurchaseLine
from rewards.models import Reward
from tests import factories

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def make_offer(code: str, members: list[Member], **fields) -> Offer:
    offer = Offer.objects.create(
        code=code, name=code.replace("-", " ").title(), kind=fields.pop("kind", Offer.Kind.SPEND_BONUS),
        bonus_points=25, starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=20), **fields,
    )  # fmt: skip
    OfferTarget.objects.bulk_create([OfferTarget(offer=offer, member=m) for m in members])
    return offer


def test_the_offers_page_lists_offers_with_a_post_form_to_activate(member_client, portal_member):
    make_offer("coffee-club", [portal_member], requires_activation=True, days_after_activation=7)
    make_offer("auto-bonus", [portal_member])
    make_offer("not-yours", [factories.MemberFactory()], requires_activation=True)

    html = member_client.get(reverse("earn:offers")).content.decode()
    assert "Coffee Club" in html and "Auto Bonus" in html and "Not Yours" not in html
    assert 'action="/portal/offers/coffee-club/activate/"' in html
    assert not re.findall(r"<script(?![^>]*\bsrc=)", html) and "style=" not in html  # CSP-safe

    assert member_client.get(reverse("earn:offer-activate", args=["coffee-club"])).status_code == 405
    response = member_client.post(reverse("earn:offer-activate", args=["coffee-club"]))
    assert response.status_code == 302
    assert OfferActivation.objects.get(member=portal_member).channel == "portal"
    assert 'data-testid="offer-active"' in member_client.get(reverse("earn:offers")).content.decode()

    refused = member_client.post(reverse("earn:offer-activate", args=["not-yours"]), follow=True)
    assert "not available" in refused.content.decode()
    assert OfferActivation.objects.count() == 1


@pytest.mark.parametrize("count", [1, 10])
def test_the_offers_page_takes_a_fixed_number_of_queries(
    member_client, portal_member, django_assert_max_num_queries, count
):
    for i in range(count):
        make_offer(f"o-{i}", [portal_member], requires_activation=bool(i % 2))
    with django_assert_max_num_queries(5):
        assert member_client.get(reverse("earn:offers")).status_code == 200


def test_the_dashboard_shows_active_offers_and_recommendations_with_reasons(member_client, portal_member):
    from rewards.demo import seed_program

    seed_program()
    make_offer("welcome-back", [portal_member])
    purchase = Purchase.objects.create(
        member=portal_member, store=factories.StoreFactory(), external_id="x", amount=Decimal("30"),
        currency="USD", purchased_at=NOW - timedelta(days=3), available_at=NOW,
    )  # fmt: skip
    coffee = Reward.objects.exclude(category="").first()
    PurchaseLine.objects.create(purchase=purchase, amount=Decimal("30"), category=coffee.category.upper())

    html = member_client.get(reverse("portal:dashboard")).content.decode()

    assert 'data-testid="dashboard-offers"' in html and "Welcome Back" in html
    recs = recommended_rewards(portal_member)
    assert recs and recs[0].reward.category.lower() == coffee.category.lower()
    assert "you often buy" in recs[0].reason.lower() and "points from it" in recs[0].reason
    assert recs[0].reason in html


def test_offer_mail_goes_only_to_opted_in_members_once_with_an_unsubscribe_link(client, program):
    yes = factories.MemberFactory(marketing_opt_in=True)
    no = factories.MemberFactory(marketing_opt_in=False)
    offer = make_offer("mail-me", [yes, no])

    assert offer_mail_send(offer_id=offer.pk) == 1
    assert offer_mail_send(offer_id=offer.pk) == 0
    [message] = mail.outbox
    assert message.to == [yes.email] and OfferMail.objects.count() == 1
    link = re.search(r"http\S+/portal/offers/unsubscribe/\S+/", message.body).group(0)
    path = link.split("8000", 1)[-1] if "8000" in link else "/" + link.split("/", 3)[3]

    assert "Unsubscribe" in client.get(path).content.decode()
    yes.refresh_from_db()
    assert yes.marketing_opt_in  # a GET changes nothing
    assert 'data-testid="unsubscribed"' in client.post(path).content.decode()
    yes.refresh_from_db()
    assert not yes.marketing_opt_in
    assert client.get("/portal/offers/unsubscribe/forged-token/").status_code == 404


def test_figures_per_offer_compare_those_who_activated_with_those_who_did_not(program):
    segment = Segment.objects.create(code="seg", name="Seg")
    members = factories.MemberFactory.create_batch(4)
    SegmentMember.objects.bulk_create([SegmentMember(segment=segment, member=m) for m in members])
    offer = make_offer("fig", [], segment=segment, requires_activation=True)
    store = factories.StoreFactory()
    for i, (member, amount) in enumerate(zip(members, ["100", "60", "20", "0"], strict=True)):
        if amount != "0":
            Purchase.objects.create(
                member=member, store=store, external_id=f"f{i}", amount=Decimal(amount), currency="USD",
                purchased_at=NOW, available_at=NOW,
            )  # fmt: skip
    for member in members[:2]:
        OfferActivation.objects.create(offer=offer, member=member, activated_at=NOW, valid_until=NOW)

    figures = offer_figures([offer])[offer.pk]

    assert (figures.targeted, figures.activated, figures.used, figures.others) == (4, 2, 0, 2)
    # takers spent 80 each, the others 10 each: 70 more each, for 2 members
    assert figures.incremental_spend == Decimal("140.00")
