"""Step 2 of a delivery: add the lead (``lead.api/add``) on the client step 1 stored.

The lead is owned by the site's lead owner, with the optional lead category, named
"Website enquiry: <name>" (``LEAD_NAME_TEMPLATE``) and described by ``description.py``.
XPM has no idempotency key, so the add is marked *started* on the row before it is sent;
an attempt that finds the mark looks the lead up among ``lead.api/current`` (by name,
client and the reference in its description) before ever sending it again (docs/leads.md).
"""

from __future__ import annotations

from dataclasses import replace

from django.utils import timezone
from django.utils.translation import gettext as _

from ...conf import get_setting
from ...models import LeadSubmission
from ...xpm import problems
from ...xpm.client import XpmClient
from ...xpm.errors import XpmApiError
from ...xpm.types import NewLead, XpmLead
from .client_step import find_or_create_client
from .description import describe, reference_of
from .row import DeliveryRow


def lead_name(submission: LeadSubmission) -> str:
    template = get_setting("LEAD_NAME_TEMPLATE") or "Website enquiry: {name}"
    who = submission.name or submission.company or submission.email or "website visitor"
    return template.format(name=who)[:255]


def add_lead(row: DeliveryRow, client: XpmClient, owner: str, category: str) -> None:
    """Store the lead XPM has for this row (``xpm_lead_uuid``), adding it if need be."""
    sub = row.sub
    if not sub.xpm_lead_name:
        row.save(xpm_lead_name=lead_name(sub))
    if sub.lead_add_started_at:
        existing = _existing_lead(row, client)
        if existing is not None:
            row.save(xpm_lead_uuid=existing.uuid)
            return
    row.save(lead_add_started_at=timezone.now(), owner_uuid=owner, category_uuid=category)
    new = NewLead(
        name=sub.xpm_lead_name,
        client_uuid=sub.xpm_client_uuid,
        owner_uuid=owner,
        description=describe(sub),
        contact_uuid=sub.xpm_contact_uuid or None,
        category_uuid=category or None,
    )
    lead = _add_lead(row, client, new)
    row.save(xpm_lead_uuid=lead.uuid)


def _add_lead(row: DeliveryRow, client: XpmClient, new: NewLead) -> XpmLead:
    """``lead.api/add``; a refusal XPM explains is corrected once where that is safe.

    A refusal means nothing was created, so sending a corrected request is not a blind
    retry. A stale contact or category is dropped (the lead matters more); a client the
    website CRM remembered but XPM no longer has is looked up again.
    """
    for _attempt in range(3):
        try:
            return client.add_lead(new)
        except XpmApiError as exc:
            if exc.about == problems.CONTACT and new.contact_uuid:
                row.note(_("Sent without the contact: XPM did not accept the stored one."))
                row.save(xpm_contact_uuid="")
                new = replace(new, contact_uuid=None)
            elif exc.about == problems.CATEGORY and new.category_uuid:
                row.note(_("Sent without a lead category: XPM no longer knows the one chosen."))
                new = replace(new, category_uuid=None)
            elif (
                exc.about == problems.CLIENT
                and row.sub.client_matched_by == LeadSubmission.MatchedBy.CRM
                and not row.refound
            ):
                row.refound = True
                row.note(_("The website's record of this person's XPM client was out of date."))
                row.save(xpm_client_uuid="", xpm_contact_uuid="", client_matched_by="")
                find_or_create_client(row, client, row.sub.connection)
                new = replace(
                    new,
                    client_uuid=row.sub.xpm_client_uuid,
                    contact_uuid=row.sub.xpm_contact_uuid or None,
                )
            else:
                raise
    return client.add_lead(new)


def _existing_lead(row: DeliveryRow, client: XpmClient) -> XpmLead | None:
    """The lead a lost ``lead.api/add`` answer may have created, if XPM has it."""
    sub = row.sub
    reference = reference_of(sub)
    taken = set(
        LeadSubmission.objects.exclude(pk=sub.pk)
        .exclude(xpm_lead_uuid="")
        .filter(xpm_client_uuid=sub.xpm_client_uuid)
        .values_list("xpm_lead_uuid", flat=True)
    )
    candidates = [
        lead
        for lead in client.current_leads()
        if lead.client is not None
        and lead.client.uuid.lower() == sub.xpm_client_uuid.lower()
        and (lead.name or "").strip() == sub.xpm_lead_name.strip()
        and lead.uuid not in taken
    ]
    for lead in candidates:
        if reference in (lead.description or ""):
            return lead
    # Some XPM lists leave descriptions out: then the name and client must do.
    blind = [lead for lead in candidates if lead.description is None]
    return blind[0] if blind else None
