"""The site in German and French: the switcher keeps the member's language, pages and mail are
translated, and money and numbers follow the language and the program's currency."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from campaigns.engagement.demo import seed_program as seed_engagement
from campaigns.engagement.models import Event
from campaigns.models import Offer, OfferTarget
from members.formats import money
from members.jobs.notify import tier_changes_notify
from members.ledger.services import points_credit
from members.models import Program, Tier, TierChange
from tests import factories


def test_the_switcher_keeps_the_members_language(member_client, portal_member):
    response = member_client.post(reverse("set_language"), {"language": "de", "next": "/portal/"})
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    portal_member.refresh_from_db()
    assert portal_member.language == "de"

    page = member_client.get(reverse("portal:dashboard")).content.decode()
    assert '<html lang="de">' in page
    assert "Verfügbare Punkte" in page and "Punkteverlauf" not in page
    assert 'action="/i18n/setlang/"' in page  # the switcher is a plain form


def test_the_members_language_follows_them_to_a_new_browser(client, member_user, portal_member):
    # Given a member who chose German in another browser
    portal_member.language = "de"
    portal_member.save(update_fields=["language"])

    with translation.override("en"):  # whatever the login activates stays in this test
        # When they log in with the form in a browser with no language cookie
        response = client.post(
            reverse("account_login"), {"login": member_user.email, "password": "a-long-test-password"}
        )
        page = client.get(response["Location"]).content.decode()

    # Then the cookie carries their language and the dashboard is in German, message and all
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert '<html lang="de">' in page
    assert "Verfügbare Punkte" in page and "Available points" not in page
    assert "Erfolgreich als" in page  # allauth's message, made during the login request


def test_a_member_without_a_language_keeps_the_browsers(client, member_user):
    with translation.override("en"):
        response = client.post(
            reverse("account_login"),
            {"login": member_user.email, "password": "a-long-test-password"},
            HTTP_ACCEPT_LANGUAGE="fr",
        )
        page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert '<html lang="fr">' in page


def test_an_unknown_language_changes_nothing(member_client, portal_member):
    member_client.post(reverse("set_language"), {"language": "xx", "next": "/portal/"})
    portal_member.refresh_from_db()
    assert portal_member.language == ""


def test_french_pages_from_the_browser_language(client, program):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="fr-CH,fr;q=0.9").content.decode()
    assert "Comment ça marche" in page


def test_numbers_and_money_follow_the_language(member_client, portal_member):
    program = Program.load()
    program.currency = "CHF"
    program.save()
    points_credit(member_id=portal_member.pk, points=123456, idempotency_key="k", source_type="system")
    with translation.override("de"):
        assert money(Decimal("1234.5"), "CHF") == "1.234,50\u00a0CHF"
        assert money(Decimal("12"), "EUR") == "12\u00a0€"
    with translation.override("fr"):
        assert money(Decimal("1234.5"), "CHF") == "1\u00a0234,50\u00a0CHF"
    with translation.override("en"):
        assert money(Decimal("1234.5"), "USD") == "$1,234.50"
        assert money(Decimal("1234.5"), "CHF") == "CHF\u00a01,234.50"

    member_client.post(reverse("set_language"), {"language": "de", "next": "/portal/"})
    page = member_client.get(reverse("portal:dashboard")).content.decode()
    assert "123.456" in page  # German grouping
    assert "CHF" in page and "$" not in page  # the program's currency, not dollars


def test_mail_goes_out_in_the_members_language(portal_member):
    portal_member.language = "fr"
    portal_member.save()
    silver = Tier.objects.get(code="silver")
    change = TierChange.objects.create(
        member=portal_member, from_tier=portal_member.tier, to_tier=silver, reason=TierChange.Reason.PURCHASE
    )
    assert tier_changes_notify(change_ids=[change.pk]) == 1
    [message] = mail.outbox
    assert message.subject == "Bienvenue au niveau Silver"
    assert "Félicitations" in message.body
    assert "Félicitations" in message.alternatives[0][0]
    assert '<html lang="fr">' in message.alternatives[0][0]


def test_the_portal_pages_in_german(member_client, portal_member):
    """Given a member with points, an offer to activate, a challenge and an event, in German:
    every page of the portal and the messages its forms answer are in German."""
    now = timezone.now()
    points_credit(member_id=portal_member.pk, points=2500, idempotency_key="de", source_type="system")
    offer = Offer.objects.create(
        code="coffee-club", name="Coffee Club", kind=Offer.Kind.SPEND_BONUS, bonus_points=25,
        requires_activation=True, days_after_activation=7,
        starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=20),
    )  # fmt: skip
    OfferTarget.objects.create(offer=offer, member=portal_member)
    seed_engagement()
    Event.objects.create(
        code="tasting", name="Spring tasting", place="High Street", capacity=20, points=150,
        starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=2, hours=3),
        check_in_opens_at=now + timedelta(days=2), check_in_closes_at=now + timedelta(days=2, hours=4),
    )  # fmt: skip
    friend = factories.MemberFactory(last_name="Keller")
    member_client.post(reverse("set_language"), {"language": "de", "next": "/portal/"})

    def page(name: str, *args) -> str:
        text = member_client.get(reverse(name, args=args)).content.decode()
        assert '<html lang="de">' in text
        return text

    def answer(name: str, data: dict, *args) -> str:
        return member_client.post(reverse(name, args=args), data, follow=True).content.decode()

    dashboard = page("portal:dashboard")
    assert "Verfügbare Punkte" in dashboard and "Deine Serie" in dashboard
    assert "Deine Angebote" in dashboard and "Aktiviere es vor dem Einkauf" in dashboard

    offers = page("earn:offers")
    assert "Meine Angebote" in offers and "Aktivierbar bis" in offers and ">Aktivieren<" in offers
    assert "Coffee Club ist bis" in answer("earn:offer-activate", {}, "coffee-club")

    challenges = page("engagement:challenges")
    assert "Deine Challenges" in challenges and "+150 Punkte" in challenges
    assert "0 von 3 innerhalb von 30 Tagen" in challenges

    events = page("engagement:events")
    assert "Community-Anlässe" in events and "Ich komme" in events and "0 von 20 Plätzen belegt." in events
    assert "Du bist dabei. Bis bald!" in answer("engagement:rsvp", {}, "tasting")

    transfer = page("portal:transfer")
    assert "Punkte senden" in transfer and "Mitgliedsnummer der Person" in transfer
    confirm = answer(
        "portal:transfer", {"member_number": friend.member_number, "last_name": "Keller", "points": 300}
    )
    assert "Vor dem Senden prüfen" in confirm and "300 Punkte senden" in confirm
    stranger = answer(
        "portal:transfer", {"member_number": friend.member_number, "last_name": "Nobody", "points": 300}
    )
    assert "Kein Mitglied hat diese Mitgliedsnummer und diesen Nachnamen." in stranger

    for text in (dashboard, offers, challenges, events, transfer, confirm):
        for english in ("Your offers", "My offers", "Your challenges", "Community events", "Send points"):
            assert english not in text
