"""An address erased on request is never sent a campaign again: not when the list is frozen
(a contact re-created later with the address) and not while a frozen list is being sent."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from tests.privacy.test_erasure import make_website_only
from wagtail_xpm.campaigns import send
from wagtail_xpm.campaigns.send import run_campaign
from wagtail_xpm.campaigns.snapshot import take_snapshot
from wagtail_xpm.models import Campaign, CampaignRecipient, EmailSuppression

pytestmark = pytest.mark.django_db

KEY = "pat.person@example.com"


def fresh_campaign(world) -> Campaign:
    return Campaign.objects.create(
        connection=world.a.connection,
        name="June news",
        subject="Hello",
        from_email="news@example.com",
        body="<p>Hello</p>",
        segment=world.campaign.segment,
    )


def sent_to() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def test_a_contact_recreated_with_an_erased_address_is_left_out(
    world, django_capture_on_commit_callbacks
):
    person = make_website_only(world)
    world.client("eraser_a").post(
        reverse("wagtail_xpm_contact:erase", args=[person.pk]), {"confirm": "erase"}
    )
    # The address comes back (a sync, a form) as a subscribed contact; someone else too.
    world.a.contact("Pat Again", "pat.person@example.com")
    world.a.contact("Sam Other", "sam@example.com")
    campaign = fresh_campaign(world)
    with django_capture_on_commit_callbacks(execute=True):
        send.start(campaign)  # Huey runs the task at once in tests
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
    assert sent_to() == ["sam@example.com"]
    row = CampaignRecipient.objects.get(campaign=campaign, email=KEY)
    assert (row.status, row.reason) == ("excluded", "unsubscribed")


def test_an_address_erased_while_a_campaign_is_being_sent_is_skipped(world):
    again = world.a.contact("Pat Again", "pat.again@example.com")
    world.a.contact("Sam Other", "sam@example.com")
    campaign = fresh_campaign(world)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.QUEUED)
    take_snapshot(campaign)
    assert CampaignRecipient.objects.get(campaign=campaign, contact=again).status == "pending"
    # Erased on another practice's request: the suppression is per address.
    EmailSuppression.objects.create(
        email_key="pat.again@example.com", reason=EmailSuppression.Reason.ERASED
    )
    run_campaign(campaign.pk)
    assert "pat.again@example.com" not in sent_to()
    assert "sam@example.com" in sent_to()
    row = CampaignRecipient.objects.get(campaign=campaign, contact=again)
    assert (row.status, row.reason) == ("excluded", "unsubscribed")
