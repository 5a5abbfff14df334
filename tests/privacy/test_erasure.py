"""Erasure on request: the website-only data goes, the proof stays; a contact XPM still
holds remains, and the pages say what remains and why."""

from __future__ import annotations

import pytest
from django.urls import reverse
from wagtail.models import ModelLogEntry

from tests.privacy.test_access_request import refusal
from wagtail_xpm import audit
from wagtail_xpm.campaigns import tracking
from wagtail_xpm.models import (
    CampaignRecipient,
    ConsentConfirmation,
    ConsentEvent,
    Contact,
    ContactClientLink,
    DeliveryEvent,
    EmailSuppression,
    LeadSubmission,
    PracticeClient,
)

pytestmark = pytest.mark.django_db

KEY = "pat.person@example.com"


def url(contact) -> str:
    return reverse("wagtail_xpm_contact:erase", args=[contact.pk])


def make_website_only(world) -> Contact:
    """The person as a form contact XPM never knew (no client link)."""
    ContactClientLink.objects.filter(contact=world.person).delete()
    Contact.objects.filter(pk=world.person.pk).update(
        source=Contact.Source.FORM, xpm_contact_id="", xpm_client_id="", primary_client=None
    )
    return Contact.objects.get(pk=world.person.pk)


def website_data_gone(world, pk: int) -> None:
    assert not LeadSubmission.objects.filter(pk=world.enquiry.pk).exists()
    assert not DeliveryEvent.objects.filter(email_key=KEY).exists()
    assert not ConsentConfirmation.objects.filter(email_key=KEY).exists()
    (row,) = CampaignRecipient.objects.filter(campaign=world.campaign)
    # Anonymous, so the campaign's counts stay true; what happened stays.
    assert (row.contact_id, row.email, row.name, row.message_id) == (None, "", "", "")
    assert row.status == CampaignRecipient.Status.SENT and row.sent_at is not None
    suppression = EmailSuppression.objects.get(email_key=KEY)
    assert suppression.reason == EmailSuppression.Reason.ERASED
    erased = ConsentEvent.objects.get(action=ConsentEvent.Action.ERASED)
    assert erased.email_key == KEY and erased.subscribed is False
    # The earlier ledger row stays: the proof of what the person agreed to.
    assert ConsentEvent.objects.filter(action=ConsentEvent.Action.SUBSCRIBED_FORM).exists()
    (entry,) = ModelLogEntry.objects.filter(action=audit.ERASURE)
    assert entry.object_id == str(pk) and "Pat" not in entry.label
    assert entry.data["enquiries"] == 1 and entry.data["campaign_rows"] == 1
    # The enquiry's deletion is logged like Website enquiries -> Delete, by number.
    deleted = ModelLogEntry.objects.get(action="wagtail.delete", object_id=str(world.enquiry.pk))
    assert "Pat" not in deleted.label


def test_a_website_only_contact_is_erased_entirely(world):
    person = make_website_only(world)
    page = world.client("eraser_a").get(url(person)).content.decode()
    assert "The contact record: name, email" in page
    response = world.client("eraser_a").post(url(person), {"confirm": "erase"})
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtail_xpm_contact:index")
    assert not Contact.objects.filter(pk=person.pk).exists()
    website_data_gone(world, person.pk)
    # Nothing in the history names the person any more.
    assert not ModelLogEntry.objects.filter(label__icontains="Pat Person").exists()


def test_a_contact_xpm_still_holds_remains_and_the_page_says_why(world):
    person, client = world.person, world.client("eraser_a")
    page = client.get(url(person)).content.decode()
    assert "XPM still holds this person as a contact of Person Holdings" in page
    response = client.post(url(person), {"confirm": "erase"})
    assert response["Location"] == reverse("wagtail_xpm_contact:inspect", args=[person.pk])
    person.refresh_from_db()
    assert person.subscribed is False and person.unsubscribed_at is not None
    assert ContactClientLink.objects.filter(contact=person).exists()
    website_data_gone(world, person.pk)
    shown = client.get(response["Location"]).content.decode()
    assert "XPM still holds them as a contact of Person Holdings" in shown
    assert "never sent to this address" in shown  # the erased suppression, not liftable
    assert reverse("wagtail_xpm_campaigns:lift_suppression", args=[person.pk]) not in shown


def test_once_xpm_no_longer_holds_them_erasing_again_removes_the_record(world):
    # The client deleted in XPM: the sync flags it and its links stop counting.
    PracticeClient.objects.filter(pk=world.person.primary_client_id).update(is_deleted=True)
    world.client("eraser_a").post(url(world.person), {"confirm": "erase"})
    assert not Contact.objects.filter(pk=world.person.pk).exists()


def test_the_contact_page_shows_what_would_be_erased_and_what_remains(world):
    page = world.client("eraser_a").get(
        reverse("wagtail_xpm_contact:inspect", args=[world.person.pk])
    )
    text = page.content.decode()
    assert "data-xpm-erasure-plan" in text and url(world.person) in text
    assert "1 website enquiry." in text
    assert "stays in XPM" not in text  # the enquiry never became an XPM lead
    assert "on the list of addresses never to email" in text
    # Without the permission: neither the plan nor the button.
    other = world.client("viewer").get(
        reverse("wagtail_xpm_contact:inspect", args=[world.person.pk])
    )
    assert url(world.person) not in other.content.decode()


def test_get_and_an_unconfirmed_post_change_nothing(world):
    client = world.client("eraser_a")
    assert client.get(url(world.person)).status_code == 200
    client.post(url(world.person), {})
    assert LeadSubmission.objects.filter(pk=world.enquiry.pk).exists()
    assert not ModelLogEntry.objects.filter(action=audit.ERASURE).exists()


def test_the_post_needs_the_csrf_token(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["eraser_a"])
    assert client.post(url(world.person), {"confirm": "erase"}).status_code == 403
    assert LeadSubmission.objects.filter(pk=world.enquiry.pk).exists()


@pytest.mark.parametrize(
    ("role", "status"), [("viewer", 403), ("exporter_a", 403), ("eraser_a", 404)]
)
def test_refused_without_delete_on_the_contacts_site(world, role, status):
    target = world.other if role == "eraser_a" else world.person
    for response in (
        world.client(role).get(url(target)),
        world.client(role).post(url(target), {"confirm": "erase"}),
    ):
        assert refusal(response) == status
    assert Contact.objects.filter(pk=target.pk).exists()
    assert not ModelLogEntry.objects.filter(action=audit.ERASURE).exists()
    assert EmailSuppression.objects.get(email_key=KEY).reason == "bounced"


def test_an_erased_address_cannot_be_lifted_nor_downgraded_by_a_bounce(world):
    world.client("superuser").post(url(world.person), {"confirm": "erase"})
    assert tracking.lift(world.person.email) is False

    class Complaint:
        event_type, reject_reason, event_id = "complained", None, "ev-2"
        recipient, metadata, timestamp = KEY, {}, None
        mta_response = description = ""

    assert tracking.record_tracking_event(event=Complaint(), esp_name="postmark") == (
        "already suppressed"
    )
    assert EmailSuppression.objects.get(email_key=KEY).reason == "erased"


def test_a_contact_xpm_holds_is_opted_out_in_xpm_too_when_the_site_shares_opt_outs(world):
    from wagtail_xpm.models import XpmOptOutWrite, XpmSiteSettings

    settings = XpmSiteSettings.for_site(world.site_a)
    settings.xpm_opt_out_field_uuid = "field-uuid-1"
    settings.save()
    ContactClientLink.objects.filter(contact=world.person).update(xpm_contact_id="xpm-pat-1")
    world.client("eraser_a").post(url(world.person), {"confirm": "erase"})
    writes = XpmOptOutWrite.objects.filter(contact=world.person)
    assert all(w.opted_out for w in writes)
    # The person's own XPM contact record and the one of their client link.
    assert {w.xpm_contact_id for w in writes} == {"xpm-pat-1", world.person.xpm_contact_id.lower()}
