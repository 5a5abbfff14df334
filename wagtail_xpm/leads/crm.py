"""The website CRM contact behind a submission: created or updated, with its consent.

New people become ``source=form`` contacts; what they typed is locked against later syncs
(``form_locked_fields``). People the CRM already knows (usually from XPM) only get blanks
filled in: one enquiry should not rename a client's record. New contacts start
unsubscribed; marketing consent ticked on the form goes to double opt-in
(wagtail_xpm/consent/optin.py): a confirmation email, or with the site's single opt-in an
immediate subscription (never for someone who unsubscribed before). A form alone never
subscribes a person who unsubscribed, and a form sent without consent unsubscribes nobody.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from ..consent import optin
from ..models import ConsentEvent, Contact, LeadSubmission, XpmConnection, email_key

TYPED_FIELDS = ("name", "phone")


def record_contact(submission: LeadSubmission, connection: XpmConnection) -> Contact | None:
    """Create or update the CRM contact for ``submission``; links it on the row."""
    key = email_key(submission.email)
    if not key:
        return None
    try:
        with transaction.atomic():
            contact = _upsert(submission, connection, key)
    except IntegrityError:
        # Another worker (or a sync) created this email at the same moment: update theirs.
        with transaction.atomic():
            contact = _upsert(submission, connection, key)
    if submission.contact_id != contact.pk:
        submission.contact = contact
        submission.save(update_fields=["contact", "updated_at"])
    if submission.consent:
        _consent(submission, connection, contact)
    return contact


def _consent(submission: LeadSubmission, connection: XpmConnection, contact: Contact) -> None:
    """Consent ticked on this submission, acted on once (deliveries are retried)."""
    if ConsentEvent.objects.filter(contact=contact, detail__submission=submission.pk).exists():
        return
    consent_field = (submission.field_roles or {}).get("consent", "")
    consent = optin.FormConsent(
        # The page the form lives on (for a form block: the page holding the block).
        page=submission.page,
        # The checkbox's label as the visitor saw it.
        wording=(submission.field_labels or {}).get(consent_field, ""),
        address=submission.remote_addr,
        detail={"submission": submission.pk},
    )
    optin.from_form(contact, consent, site=submission.site or connection.site)


def _upsert(submission: LeadSubmission, connection: XpmConnection, key: str) -> Contact:
    contact = (
        Contact.objects.select_for_update().filter(connection=connection, email_key=key).first()
    )
    if contact is None:
        contact = Contact(
            connection=connection,
            email=submission.email.strip(),
            source=Contact.Source.FORM,
            # Subscribed only once the consent is confirmed (or single opt-in): optin.py.
            subscribed=False,
        )
        locked = []
        for name in TYPED_FIELDS:
            value = getattr(submission, name)
            if value:
                setattr(contact, name, value)
                locked.append(name)
        if submission.company:
            contact.client_name = submission.company
        contact.form_locked_fields = locked
        contact.save()
        return contact
    changed: set[str] = set()
    locked = list(contact.form_locked_fields or [])
    for name in TYPED_FIELDS:
        value = getattr(submission, name)
        if value and not getattr(contact, name):
            setattr(contact, name, value)
            changed.add(name)
            if name not in locked:
                locked.append(name)
    if changed:
        contact.form_locked_fields = locked
        changed.add("form_locked_fields")
    if changed:
        contact.save(update_fields=[*changed, "updated_at"])
    return contact


def link_to_xpm(submission: LeadSubmission) -> None:
    """Give a form-made contact the XPM client and contact the lead was attached to.

    A later sync then recognises the person by their XPM contact id. Contacts that already
    carry XPM ids (synced ones) are left to the sync.
    """
    contact = submission.contact
    if contact is None or contact.xpm_contact_id or not submission.xpm_contact_uuid:
        return
    taken = (
        Contact.objects.filter(
            connection_id=contact.connection_id, xpm_contact_id=submission.xpm_contact_uuid
        )
        .exclude(pk=contact.pk)
        .exists()
    )
    if taken:
        return
    contact.xpm_client_id = submission.xpm_client_uuid
    contact.xpm_contact_id = submission.xpm_contact_uuid
    if submission.xpm_client_name:
        contact.client_name = submission.xpm_client_name
    contact.is_prospect = contact.is_prospect or submission.client_created
    try:
        with transaction.atomic():
            contact.save(
                update_fields=[
                    "xpm_client_id",
                    "xpm_contact_id",
                    "client_name",
                    "is_prospect",
                    "updated_at",
                ]
            )
    except IntegrityError:
        pass  # a sync linked the same XPM contact meanwhile; it owns the link now
