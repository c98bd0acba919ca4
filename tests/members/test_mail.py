"""Every mail is text with an HTML alternative, in the one base with the program's name and a
footer; a purchase at the till that crosses a tier threshold mails the member."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from campaigns.services import purchase_record
from members.models import Program, TierChange
from rewards.demo import seed_program as seed_rewards
from rewards.services import reward_redeem
from tests import factories
from tests.rewards.support import fund


def _html(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def _renamed_program() -> Program:
    program = Program.load()
    program.name = "Club Helvetia"
    program.save()
    return program


def test_a_till_upgrade_mails_the_member(member, django_capture_on_commit_callbacks):
    _renamed_program()
    store = factories.StoreFactory()
    with django_capture_on_commit_callbacks(execute=True):
        purchase_record(
            store=store,
            member_number=member.member_number,
            external_id="big-1",
            amount="600.00",
            currency="USD",
            purchased_at=timezone.now() - timedelta(minutes=5),
        )
    assert TierChange.objects.filter(member=member, reason=TierChange.Reason.PURCHASE).exists()
    [message] = mail.outbox
    assert message.to == [member.email]
    assert "Silver" in message.subject
    assert "Club Helvetia" in message.body and "/portal/profile/" in message.body
    html = _html(message)
    assert "Club Helvetia" in html and "Silver" in html and "Choose which mails you get" in html


def test_the_redemption_confirmation_is_multipart(member, django_capture_on_commit_callbacks):
    seed_rewards()
    fund(member, 600, "mail-test")
    with django_capture_on_commit_callbacks(execute=True):
        redeemed = reward_redeem(member_id=member.pk, reward_code="voucher-5")
    [message] = mail.outbox
    assert redeemed.redemption.voucher_code in message.body
    assert redeemed.redemption.voucher_code in _html(message)
    assert Program.load().name in message.body


def test_allauth_mail_uses_the_same_base(client, program):
    _renamed_program()
    client.post(
        reverse("account_signup"),
        {
            "first_name": "Ana",
            "email": "ana@example.org",
            "password1": "a-long-and-unusual-password-7",
            "password2": "a-long-and-unusual-password-7",
        },
    )
    [message] = mail.outbox
    assert message.subject.startswith("[Club Helvetia] ")
    assert "/accounts/confirm-email/" in message.body and "Club Helvetia" in message.body
    assert "/accounts/confirm-email/" in _html(message)
