"""Everything the website holds about one contact, found once for both the access request
(one JSON document) and the erasure plan.

A person is found by their contact record and by their address: website enquiries, campaign
rows, consent records and delivery events may hold the address without the contact (an
enquiry sent before the contact existed, a contact re-created by a sync). Only the contact's
own practice is searched, except for what is kept per address for the whole install
(``EmailSuppression`` and delivery events without a campaign: docs/privacy.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.db.models import Q, QuerySet

from ..campaigns.snapshot import normalised_address
from ..models import (
    CampaignRecipient,
    ConsentConfirmation,
    ConsentEvent,
    Contact,
    ContactClientLink,
    DeliveryEvent,
    EmailSuppression,
    LeadSubmission,
    XpmOptOutWrite,
)


@dataclass
class Held:
    """The rows that concern ``contact`` (querysets, evaluated when read)."""

    contact: Contact

    @cached_property
    def keys(self) -> list[str]:
        """The contact's address as the tables store it: the trimmed, lower-case email and
        the mailbox a campaign row would hold (``"Jo <jo@x.com>"`` -> ``jo@x.com``)."""
        found = {self.contact.email_key, normalised_address(self.contact.email) or ""}
        return sorted(key for key in found if key)

    @property
    def site_id(self) -> int | None:
        return self.contact.connection.site_id

    def links(self) -> QuerySet[ContactClientLink]:
        return (
            ContactClientLink.objects.filter(contact=self.contact)
            .select_related("client")
            .order_by("-is_primary", "client__name", "pk")
        )

    def xpm_links(self) -> list[ContactClientLink]:
        """The links to clients XPM still has (archived counts: XPM still holds the person;
        a client deleted or gone from XPM does not)."""
        return [
            link for link in self.links() if not (link.client.is_deleted or link.client.is_missing)
        ]

    def enquiries(self) -> QuerySet[LeadSubmission]:
        same_practice = Q(connection_id=self.contact.connection_id) | Q(
            connection__isnull=True, site_id=self.site_id
        )
        by_address = Q(email_key__in=self.keys) & same_practice if self.keys else Q(pk__in=[])
        return LeadSubmission.objects.filter(Q(contact=self.contact) | by_address).order_by(
            "submit_time", "pk"
        )

    def campaign_rows(self) -> QuerySet[CampaignRecipient]:
        by_address = (
            Q(email__in=self.keys, campaign__connection_id=self.contact.connection_id)
            if self.keys
            else Q(pk__in=[])
        )
        return (
            CampaignRecipient.objects.filter(Q(contact=self.contact) | by_address)
            .select_related("campaign")
            .order_by("campaign__created_at", "pk")
        )

    def delivery_events(self) -> QuerySet[DeliveryEvent]:
        if not self.keys:
            return DeliveryEvent.objects.none()
        # Events of this practice's campaigns, and those an ESP sent without naming one.
        return (
            DeliveryEvent.objects.filter(email_key__in=self.keys)
            .filter(
                Q(campaign__connection_id=self.contact.connection_id) | Q(campaign__isnull=True)
            )
            .select_related("campaign")
            .order_by("created_at", "pk")
        )

    def suppressions(self) -> QuerySet[EmailSuppression]:
        return EmailSuppression.objects.filter(email_key__in=self.keys).order_by("pk")

    def consent_events(self) -> QuerySet[ConsentEvent]:
        by_address = (
            Q(email_key__in=self.keys, connection_id=self.contact.connection_id)
            if self.keys
            else Q(pk__in=[])
        )
        return (
            ConsentEvent.objects.filter(Q(contact=self.contact) | by_address)
            .select_related("page", "user")
            .order_by("created_at", "pk")
        )

    def confirmations(self) -> QuerySet[ConsentConfirmation]:
        by_address = (
            Q(email_key__in=self.keys, connection_id=self.contact.connection_id)
            if self.keys
            else Q(pk__in=[])
        )
        return ConsentConfirmation.objects.filter(Q(contact=self.contact) | by_address).order_by(
            "created_at", "pk"
        )

    def opt_out_writes(self) -> QuerySet[XpmOptOutWrite]:
        return XpmOptOutWrite.objects.filter(contact=self.contact).order_by("created_at", "pk")
