"""The website CRM contact behind a submission: created or updated, with its consent.

New people become ``source=form`` contacts; what they typed is locked against later syncs
(``form_locked_fields``). People the CRM already knows (usually from XPM) only get blanks
filled in: one enquiry should not rename a client's record. Marketing consent given on the
form subscribes the contact (fresh consent outranks an old unsubscribe); a form sent without
consent never unsubscribes anyone, and a new contact without consent starts unsubscribed.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Contact, LeadSubmission, XpmConnection, email_key

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
    return contact


def _upsert(submission: LeadSubmission, connection: XpmConnection, key: str) -> Contact:
    contact = (
        Contact.objects.select_for_update().filter(connection=connection, email_key=key).first()
    )
    if contact is None:
        contact = Contact(
            connection=connection,
            email=submission.email.strip(),
            source=Contact.Source.FORM,
            subscribed=submission.consent,
            unsubscribed_at=None if submission.consent else timezone.now(),
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
    if submission.consent and not contact.subscribed:
        contact.subscribed = True
        contact.unsubscribed_at = None
        changed |= {"subscribed", "unsubscribed_at"}
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
