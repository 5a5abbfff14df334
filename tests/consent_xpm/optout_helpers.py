"""Helpers for the opt-out tests: the sandbox's "Marketing opt-out" and the people in it."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from wagtail_xpm.consent import ledger, xpm_optout
from wagtail_xpm.models import ConsentEvent, Contact, ContactClientLink
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
    """What the unsubscribe link does: the status, the ledger row and the XPM writes in one
    transaction (the writes are queued when it commits)."""
    with transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(
            subscribed=False, unsubscribed_at=timezone.now()
        )
        contact.refresh_from_db()
        ledger.record(
            contact,
            ConsentEvent.Action.UNSUBSCRIBED_LINK,
            subscribed=False,
            actor=ConsentEvent.Actor.PERSON,
        )
        return xpm_optout.queue_for(contact, opted_out=True)


def sandbox_flag(sandbox, xpm_contact_id: str) -> bool:
    """What XPM holds in the contact's opt-out checkbox."""
    definition = opt_out_definition(sandbox)
    return bool(sandbox.state.contacts[xpm_contact_id.lower()].custom_values.get(definition.uuid))
