"""Erasing what the website alone holds about a person, on their request.

What goes: their website enquiries, their pending double opt-in confirmations, the delivery
events of their address, and their name and address on campaign rows (the rows stay,
anonymous, so a campaign's counts do not change after the fact). What stays, and why
(docs/privacy.md "Access requests and erasure"):

* the address on the suppression list (``EmailSuppression``, reason "erased"), so no campaign
  of this install ever emails it again (the sender and the snapshot skip it like a bounce);
* the consent ledger, plus one ``erased`` row: the proof of what the person agreed to and
  that the address must not be mailed (``ConsentEvent.email_key``);
* the contact itself while XPM still holds the person as a contact of a client: the sync
  would bring it back. A sync never deletes a contact: once the person is erased in XPM it
  flags them "No longer in XPM", and erasing again here then removes the record.

Every enquiry deleted is logged under its number like Website enquiries -> Delete
(``leads/actions.py``), and the erasure itself under the contact's number (``audit.ERASURE``),
never the person's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from .. import audit
from ..campaigns.snapshot import refresh_counts
from ..consent import ledger, xpm_optout
from ..leads.actions import enquiry_label
from ..models import Campaign, CampaignRecipient, ConsentEvent, Contact, EmailSuppression
from ..models.leads import enquiry_delete_allowed
from .held import Held

Row = CampaignRecipient.Status


def contact_label(pk: int) -> str:
    """How logs name an erased person: their record's number."""
    return _("Contact #%(id)s") % {"id": pk}


@dataclass
class Plan:
    """What an erasure of ``contact`` would do, in counts and in words."""

    contact: Contact
    enquiries: int
    xpm_leads: int
    campaign_rows: int
    delivery_events: int
    confirmations: int
    consent_records: int
    xpm_clients: list[str]
    keys: list[str] = field(default_factory=list)

    @property
    def deletes_contact(self) -> bool:
        return not self.xpm_clients

    def erased(self) -> list[str]:
        """Sentences: what the erasure removes."""
        lines = []
        if self.deletes_contact:
            lines.append(
                _("The contact record: name, email, phone, XPM fields and links to XPM clients.")
            )
        else:
            lines.append(
                _(
                    "Their marketing subscription: they are unsubscribed, and fields typed on "
                    "the website are given back to XPM at the next sync."
                )
            )
        if self.enquiries:
            lines.append(
                ngettext("%(n)s website enquiry.", "%(n)s website enquiries.", self.enquiries)
                % {"n": self.enquiries}
            )
        if self.campaign_rows:
            lines.append(
                ngettext(
                    "Their name and address on %(n)s campaign list (the row stays, anonymous, "
                    "so the campaign's counts do not change).",
                    "Their name and address on %(n)s campaign lists (the rows stay, anonymous, "
                    "so the campaigns' counts do not change).",
                    self.campaign_rows,
                )
                % {"n": self.campaign_rows}
            )
        if self.delivery_events:
            lines.append(
                ngettext(
                    "%(n)s bounce or complaint report.",
                    "%(n)s bounce and complaint reports.",
                    self.delivery_events,
                )
                % {"n": self.delivery_events}
            )
        if self.confirmations:
            lines.append(
                ngettext(
                    "%(n)s double opt-in confirmation.",
                    "%(n)s double opt-in confirmations.",
                    self.confirmations,
                )
                % {"n": self.confirmations}
            )
        return lines

    def remains(self) -> list[str]:
        """Sentences: what stays after the erasure, and why."""
        lines = []
        if self.xpm_clients:
            lines.append(
                _(
                    "The contact record (name, email, phone, XPM fields): XPM still holds this "
                    "person as a contact of %(clients)s, and every sync brings them back. Erase "
                    "them in XPM; the next sync then marks them “No longer in XPM”, and erasing "
                    "again here removes the record."
                )
                % {"clients": ", ".join(self.xpm_clients)}
            )
        if self.keys:
            lines.append(
                _(
                    "The address %(email)s on the list of addresses never to email, so no "
                    "campaign sends to it again."
                )
                % {"email": ", ".join(self.keys)}
            )
        lines.append(
            ngettext(
                "%(n)s consent record and a record of this erasure: the proof of what the "
                "person agreed to and that the address must not be emailed.",
                "%(n)s consent records and a record of this erasure: the proof of what the "
                "person agreed to and that the address must not be emailed.",
                self.consent_records,
            )
            % {"n": self.consent_records}
        )
        if self.xpm_leads:
            lines.append(
                ngettext(
                    "%(n)s lead created in XPM from an enquiry: it stays in XPM.",
                    "%(n)s leads created in XPM from enquiries: they stay in XPM.",
                    self.xpm_leads,
                )
                % {"n": self.xpm_leads}
            )
        lines.append(_("Site history entries about this contact, naming it by number only."))
        return lines


def plan(contact: Contact) -> Plan:
    held = Held(contact)
    enquiries = held.enquiries()
    return Plan(
        contact=contact,
        enquiries=enquiries.count(),
        xpm_leads=enquiries.exclude(xpm_lead_uuid="").count(),
        campaign_rows=held.campaign_rows().exclude(email="", name="", contact=None).count(),
        delivery_events=held.delivery_events().count(),
        confirmations=held.confirmations().count(),
        consent_records=held.consent_events().count(),
        xpm_clients=[link.client.name or link.client.uuid for link in held.xpm_links()],
        keys=held.keys,
    )


@dataclass
class Erased:
    """What an erasure did."""

    contact_id: int
    contact_deleted: bool
    counts: dict[str, int]
    xpm_clients: list[str]


def erase(contact: Contact, *, user: Any) -> Erased:
    """Erase ``contact``'s website-only data (see the module's docstring), in one transaction."""
    held = Held(contact)
    pk = contact.pk
    now = timezone.now()
    with transaction.atomic():
        the_plan = plan(contact)
        counts = {
            "enquiries": _delete_enquiries(held, user),
            "campaign_rows": _anonymise_campaign_rows(held),
            "delivery_events": held.delivery_events().delete()[0],
            "confirmations": held.confirmations().delete()[0],
        }
        for key in held.keys:
            EmailSuppression.objects.update_or_create(
                email_key=key,
                defaults={
                    "reason": EmailSuppression.Reason.ERASED,
                    "suppressed_at": now,
                    "soft_bounces": 0,
                    "detail": "",
                    "esp": "",
                },
            )
        if contact.email_key:
            ledger.record(
                contact,
                ConsentEvent.Action.ERASED,
                subscribed=False,
                actor=ConsentEvent.Actor.USER,
                user=user,
                detail={"contact_deleted": the_plan.deletes_contact, **counts},
            )
        audit.record(
            contact,
            audit.ERASURE,
            user,
            what=contact_label(pk),
            title=contact_label(pk),
            contact_deleted=the_plan.deletes_contact,
            xpm_clients=len(the_plan.xpm_clients),
            **counts,
        )
        # Earlier entries (edits, exports...) named the person: by number from now on.
        ModelLogEntry.objects.for_instance(contact).update(label=contact_label(pk))
        if the_plan.deletes_contact:
            contact.delete()
        else:
            Contact.objects.filter(pk=pk).update(
                subscribed=False,
                unsubscribed_at=contact.unsubscribed_at if not contact.subscribed else now,
                form_locked_fields=[],
            )
            # XPM keeps the person: its opt-out field tells the firm's staff not to market
            # to them either (when the site shares opt-outs with XPM; docs/privacy.md).
            contact.refresh_from_db()
            counts["xpm_opt_outs_queued"] = xpm_optout.queue_for(contact, opted_out=True)
    return Erased(
        contact_id=pk,
        contact_deleted=the_plan.deletes_contact,
        counts=counts,
        xpm_clients=the_plan.xpm_clients,
    )


def _delete_enquiries(held: Held, user: Any) -> int:
    """Delete the person's enquiries the one allowed way: each logged under its number."""
    deleted = 0
    for enquiry in list(held.enquiries()):
        log(
            instance=enquiry,
            action="wagtail.delete",
            user=user,
            deleted=True,
            title=enquiry_label(enquiry),
        )
        with enquiry_delete_allowed():
            enquiry.delete()
        deleted += 1
    return deleted


def _anonymise_campaign_rows(held: Held) -> int:
    """Campaign rows lose the person (contact, name, address, errors); status and times stay.

    A row still waiting in a campaign being sent is left out first, as an unsubscribe."""
    rows = held.campaign_rows()
    campaign_ids = set(rows.values_list("campaign_id", flat=True))
    rows.filter(status=Row.PENDING).update(
        status=Row.EXCLUDED, reason=CampaignRecipient.Reason.UNSUBSCRIBED
    )
    changed = rows.update(contact=None, email="", name="", error="", message_id="")
    for campaign in Campaign.objects.filter(pk__in=campaign_ids, status__in=_ACTIVE):
        refresh_counts(campaign)
    return changed


_ACTIVE = (
    Campaign.Status.QUEUED,
    Campaign.Status.SENDING,
    Campaign.Status.PAUSED,
    Campaign.Status.SCHEDULED,
)
