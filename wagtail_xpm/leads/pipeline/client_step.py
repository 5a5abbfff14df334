"""Step 1 of a delivery: find the visitor's XPM client and contact, or create them.

A website CRM contact with the visitor's email (trimmed, any case) gives its primary XPM
client and contact; else ``client.api/search`` by the visitor's company and name, matching
a contact's email; else ``client.api/add`` creates a prospect client with the visitor as its
primary contact. The create is marked *started* on the row before it is sent, so an attempt
after a lost answer searches first and never creates a second client (docs/leads.md).
"""

from __future__ import annotations

from django.utils import timezone

from ...models import Contact, LeadSubmission, XpmConnection, email_key
from ...xpm.client import XpmClient
from ...xpm.types import NewClient, NewContact, XpmClientRecord, XpmContact
from .row import DeliveryRow


def find_or_create_client(row: DeliveryRow, client: XpmClient, connection: XpmConnection) -> None:
    """Store the XPM client and contact the lead goes on (``xpm_client_uuid`` and kin)."""
    known = _crm_match(row, connection)
    if known is not None:
        row.save(
            client_matched_by=LeadSubmission.MatchedBy.CRM,
            xpm_client_uuid=known.xpm_client_id,
            xpm_contact_uuid=known.xpm_contact_id,
            xpm_client_name=known.client_name,
            xpm_client_url=(known.primary_client.web_url if known.primary_client else ""),
        )
        return
    found = _search(row, client)
    if found is not None:
        record, contact = found
        ours = bool(row.sub.client_add_started_at) and bool(record.is_prospect)
        row.save(
            client_matched_by=LeadSubmission.MatchedBy.SEARCH,
            xpm_client_uuid=record.uuid,
            xpm_contact_uuid=contact.uuid if contact else "",
            xpm_client_name=record.name or "",
            xpm_client_url=record.web_url or "",
            client_created=ours,
        )
        return
    _create_client(row, client)


def _crm_match(row: DeliveryRow, connection: XpmConnection) -> Contact | None:
    if not row.key or row.refound:
        return None
    return (
        Contact.objects.filter(connection=connection, email_key=row.key, xpm_removed=False)
        .exclude(xpm_client_id="")
        .exclude(xpm_contact_id="")
        .select_related("primary_client")
        .first()
    )


def new_client_name(submission: LeadSubmission) -> str:
    sub = submission
    return sub.company or sub.name or sub.email or f"Website visitor {sub.pk}"


def _search_terms(submission: LeadSubmission) -> list[str]:
    terms: list[str] = []
    for term in (submission.company, submission.name, new_client_name(submission)):
        term = (term or "").strip()
        if term and term.casefold() not in {t.casefold() for t in terms}:
            terms.append(term)
    return terms


def _search(
    row: DeliveryRow, client: XpmClient
) -> tuple[XpmClientRecord, XpmContact | None] | None:
    """An XPM client with a contact carrying the visitor's email (live clients first)."""
    archived_match = None
    client_email_match = None
    for term in _search_terms(row.sub):
        for record in client.search_clients(term):
            if record.is_deleted:
                continue
            contact = _contact_for(row, record)
            if contact is not None:
                if not record.is_archived:
                    return record, contact
                archived_match = archived_match or (record, contact)
            elif row.key and email_key(record.email) == row.key and not record.is_archived:
                client_email_match = client_email_match or (record, None)
    return archived_match or client_email_match


def _contact_for(row: DeliveryRow, record: XpmClientRecord) -> XpmContact | None:
    for contact in record.contacts:
        if contact.is_deleted:
            continue
        if row.key and email_key(contact.email) == row.key:
            return contact
        if (
            not row.key
            and row.sub.client_add_started_at
            and (record.name or "") == new_client_name(row.sub)
            and (contact.name or "").strip() == (row.sub.name or "").strip()
        ):
            # No email to match on: recognise the prospect our lost create made.
            return contact
    return None


def _create_client(row: DeliveryRow, client: XpmClient) -> None:
    sub = row.sub
    contact_name = sub.name or sub.email or "Website visitor"
    new = NewClient(
        name=new_client_name(sub),
        email=sub.email or None,
        phone=sub.phone or None,
        is_prospect=True,
        contacts=(NewContact(contact_name, email=sub.email or None, phone=sub.phone or None),),
    )
    # Marked before the call: if the answer is lost, the next attempt searches first.
    row.save(client_add_started_at=timezone.now())
    record = client.add_client(new)
    contact = next((c for c in record.contacts if row.key and email_key(c.email) == row.key), None)
    contact = contact or next((c for c in record.contacts if c.is_primary), None)
    contact = contact or (record.contacts[0] if record.contacts else None)
    row.save(
        client_matched_by=LeadSubmission.MatchedBy.CREATED,
        xpm_client_uuid=record.uuid,
        xpm_contact_uuid=contact.uuid if contact else "",
        xpm_client_name=record.name or new.name,
        xpm_client_url=record.web_url or "",
        client_created=True,
    )
