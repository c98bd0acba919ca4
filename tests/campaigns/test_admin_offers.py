"""Segments and offers in admin: the count and a sample, the refresh on demand, an uploaded
list of members, figures on the offer's page."""

from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse

from campaigns.demo import seed_offers
from campaigns.models import Offer, OfferTarget, Segment
from members.jobs import job_run
from members.models import Purchase
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, program):
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))
    seed_offers()
    return client


def test_a_segment_page_shows_its_count_and_a_sample(admin_client):
    member = factories.MemberFactory()
    from django.utils import timezone

    then = timezone.now() - timezone.timedelta(days=90)
    Purchase.objects.create(
        member=member, store=factories.StoreFactory(), external_id="old", amount=1, currency="USD",
        purchased_at=then, available_at=then,
    )  # fmt: skip
    job_run(name="refresh_segments", notify=False)
    lapsed = Segment.objects.get(code="lapsed")

    html = admin_client.get(reverse("admin:campaigns_segment_change", args=[lapsed.pk])).content.decode()

    assert f"1 member: {member.member_number}" in html
    assert admin_client.get(reverse("admin:campaigns_segment_changelist")).status_code == 200


def test_the_refresh_action_queues_the_job_after_commit(admin_client, django_capture_on_commit_callbacks):
    lapsed = Segment.objects.get(code="lapsed")
    with (
        mock.patch("campaigns.tasks.segments_refresh_task.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        admin_client.post(
            reverse("admin:campaigns_segment_changelist"),
            {"action": "refresh_now", "_selected_action": [lapsed.pk]},
        )
    delay.assert_called_once_with()


def test_staff_upload_a_list_of_members_to_an_offer(admin_client):
    offer = Offer.objects.get(code="come-back")
    member = factories.MemberFactory()
    url = reverse("admin:campaigns_offer_change", args=[offer.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and "targeted 0" in page.content.decode()

    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(
        starts_at_0=offer.starts_at.strftime("%Y-%m-%d"), starts_at_1=offer.starts_at.strftime("%H:%M:%S"),
        ends_at_0=offer.ends_at.strftime("%Y-%m-%d"), ends_at_1=offer.ends_at.strftime("%H:%M:%S"),
        segment=offer.segment_id, member_numbers=f"{member.member_number}\nNOPE",
    )  # fmt: skip
    response = admin_client.post(url, data, follow=True)

    assert response.status_code == 200, response.content
    assert OfferTarget.objects.filter(offer=offer, member=member).exists()
    assert "NOPE" in response.content.decode()
