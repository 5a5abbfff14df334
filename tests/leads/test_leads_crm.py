"""The website CRM contact behind an enquiry: created or updated (source "form"), with consent."""

from __future__ import annotations

import pytest
from leads_helpers import make_submission

from wagtail_xpm import services
from wagtail_xpm.leads import crm
from wagtail_xpm.models import ConsentConfirmation, Contact, LeadSubmission

pytestmark = pytest.mark.django_db


def test_new_person_becomes_a_form_contact_linked_to_their_new_prospect(
    lead_site, running_sandbox, deliver
):
    sub = make_submission(
        lead_site,
        name="Hana Kowalski",
        email="Hana@Kowalski.example",
        phone="021 555 0101",
        consent=True,
    )

    deliver(sub)

    sub.refresh_from_db()
    contact = sub.contact
    assert contact.source == Contact.Source.FORM
    assert (contact.name, contact.email, contact.phone) == (
        "Hana Kowalski",
        "Hana@Kowalski.example",
        "021 555 0101",
    )
    assert contact.email_key == "hana@kowalski.example"
    # Consent ticked on a form waits for the confirmation email's link (double opt-in).
    assert contact.subscribed is False and contact.unsubscribed_at is None
    assert ConsentConfirmation.objects.filter(contact=contact, used_at__isnull=True).exists()
    # What the visitor typed is theirs: a sync will not overwrite it.
    assert set(contact.form_locked_fields) == {"name", "phone"}
    # Delivery told the contact which XPM client and contact it became.
    assert (contact.xpm_client_id, contact.xpm_contact_id) == (
        sub.xpm_client_uuid,
        sub.xpm_contact_uuid,
    )
    assert contact.is_prospect


def test_a_sync_adopts_the_form_contact_instead_of_duplicating_it(
    lead_site, running_sandbox, deliver
):
    sub = make_submission(lead_site, name="Hana Kowalski", email="hana@kowalski.example")
    deliver(sub)

    run = services.run_sync(lead_site, trigger="cli")

    assert run.status == "succeeded", run.message
    [contact] = Contact.objects.filter(connection=lead_site, email_key="hana@kowalski.example")
    assert contact.pk == LeadSubmission.objects.get().contact_id
    assert contact.primary_client is not None
    sub.refresh_from_db()
    assert contact.primary_client.uuid == sub.xpm_client_uuid
    assert contact.xpm_contact_id == sub.xpm_contact_uuid
    assert contact.primary_client.is_prospect


def test_without_consent_a_new_contact_starts_unsubscribed(lead_site, deliver):
    sub = make_submission(lead_site, name="Ari Moana", email="ari@moana.example", consent=False)
    deliver(sub)
    contact = Contact.objects.get(email_key="ari@moana.example")
    assert contact.subscribed is False
    assert not ConsentConfirmation.objects.filter(contact=contact).exists()


def test_known_unsubscribed_contact_keeps_their_record_and_is_asked_to_confirm(
    lead_site, running_sandbox
):
    services.run_sync(lead_site, trigger="cli")
    known = Contact.objects.get(connection=lead_site, email_key="wiremu.thompson23@xtra.example")
    known.subscribed = False
    known.phone = ""
    known.save()
    sub = make_submission(
        lead_site,
        name="Wiremu (typed differently)",
        email="wiremu.thompson23@xtra.example",
        phone="09 555 1234",
        consent=True,
    )

    contact = crm.record_contact(sub, lead_site)

    assert contact.pk == known.pk
    assert contact.name == known.name  # one enquiry does not rename a client's record
    assert contact.source == Contact.Source.XPM
    # A form alone never subscribes someone who unsubscribed: they are sent a confirmation.
    assert contact.subscribed is False
    assert ConsentConfirmation.objects.filter(contact=contact, used_at__isnull=True).exists()
    # Blanks are filled in, and kept against syncs.
    assert contact.phone == "09 555 1234" and "phone" in contact.form_locked_fields


def test_no_consent_never_unsubscribes_a_known_contact(lead_site, running_sandbox):
    services.run_sync(lead_site, trigger="cli")
    known = Contact.objects.get(connection=lead_site, email_key="wiremu.thompson23@xtra.example")
    assert known.subscribed
    sub = make_submission(lead_site, name="Wiremu", email=known.email, consent=False)

    crm.record_contact(sub, lead_site)

    known.refresh_from_db()
    assert known.subscribed is True


def test_recording_twice_changes_nothing(lead_site):
    sub = make_submission(lead_site, name="Ari Moana", email="ari@moana.example", consent=True)
    first = crm.record_contact(sub, lead_site)
    second = crm.record_contact(sub, lead_site)
    assert first.pk == second.pk
    assert Contact.objects.filter(email_key="ari@moana.example").count() == 1
    # A retried delivery asks for the confirmation once.
    assert ConsentConfirmation.objects.filter(contact=first).count() == 1


def test_visitor_without_email_has_no_crm_contact(lead_site):
    sub = make_submission(lead_site, name="Phone Only", email="", phone="0400 000 000")
    assert crm.record_contact(sub, lead_site) is None
