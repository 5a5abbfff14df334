"""Helpers for the opt-out tests: the sandbox's "Marketing opt-out" and the people in it."""

from __future__ import annotations

from wagtail_xpm.consent import status
from wagtail_xpm.models import ConsentEvent, Contact, ContactClientLink, XpmOptOutWrite
from wagtail_xpm.sandbox.generator import OPT_OUT_FIELD


def opt_out_definition(sandbox):
    return next(d for d in sandbox.state.custom_fields.values() if d.name == OPT_OUT_FIELD)


def xpm_ids(contact: Contact) -> set[str]:
    ids = set(
        ContactClientLink.objects.filter(contact=contact).values_list("xpm_contact_id", flat=True)
    )
    return {i.lower() for i in ids | {contact.xpm_contact_id} if i}


def person_with_two_records() -> Contact:
    """The website contact behind more than one XPM contact record (the same email)."""
    for contact in Contact.objects.filter(subscribed=True).exclude(email_key=""):
        if len(xpm_ids(contact)) > 1:
            return contact
    raise AssertionError("the sandbox practice has nobody with two XPM contact records")


def people_with_one_record() -> list[tuple[Contact, str]]:
    """Subscribed website contacts behind exactly one XPM contact record, with it."""
    found = []
    for contact in Contact.objects.filter(subscribed=True).exclude(email_key="").order_by("pk"):
        ids = xpm_ids(contact)
        if len(ids) == 1:
            found.append((contact, ids.pop()))
    return found


def website_unsubscribe(contact: Contact) -> int:
    """What the email's unsubscribe link does (the consent funnel: the status, the ledger row
    and the XPM writes in one transaction, queued when it commits). Returns the writes now
    waiting for the person."""
    status.unsubscribe(contact, ConsentEvent.Action.UNSUBSCRIBED_LINK, ConsentEvent.Actor.PERSON)
    return XpmOptOutWrite.objects.filter(
        contact=contact, opted_out=True, status=XpmOptOutWrite.Status.PENDING
    ).count()


def sandbox_flag(sandbox, xpm_contact_id: str) -> bool:
    """What XPM holds in the contact's opt-out checkbox."""
    definition = opt_out_definition(sandbox)
    return bool(sandbox.state.contacts[xpm_contact_id.lower()].custom_values.get(definition.uuid))
