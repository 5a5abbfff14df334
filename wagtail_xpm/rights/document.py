"""The access request's document: everything the website holds about one contact, as one
JSON object a privacy officer can read in a browser or a text editor and hand over.

Each section is a list of plain records with readable keys; dates are ISO 8601 in UTC;
choices are given as words (``"status": "Sent"``), not codes. ``about`` explains each
section in a sentence, so the file can be sent to the person as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Contact, FieldMapping
from ..privacy import masked_data
from .held import Held

FORMAT = "wagtail-xpm access request, version 1"


def _when(value) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _words(instance, name: str) -> str:
    """A choice field's label (``get_<name>_display``), or "" when blank."""
    value = getattr(instance, name)
    return str(getattr(instance, f"get_{name}_display")()) if value else ""


def _contact(contact: Contact, hidden: Iterable[str]) -> dict[str, Any]:
    data = masked_data(contact.data or {}, hidden)
    labels = dict(
        FieldMapping.objects.filter(connection=contact.connection_id).values_list("key", "label")
    )
    return {
        "id": contact.pk,
        "name": contact.name,
        "email": contact.email,
        "phone": contact.phone,
        "mobile": contact.mobile,
        "position": contact.position,
        "source": _words(contact, "source"),
        "subscribed": contact.subscribed,
        "unsubscribed_at": _when(contact.unsubscribed_at),
        "xpm_client_id": contact.xpm_client_id,
        "xpm_contact_id": contact.xpm_contact_id,
        "xpm_client_name": contact.client_name,
        "archived_in_xpm": contact.is_archived,
        "prospect_in_xpm": contact.is_prospect,
        "no_longer_in_xpm": contact.xpm_removed,
        "created_at": _when(contact.created_at),
        "updated_at": _when(contact.updated_at),
        "last_synced_at": _when(contact.last_synced_at),
        "fields_typed_on_the_website": list(contact.form_locked_fields or []),
        # Mapped XPM fields under the firm's labels (a key no longer mapped keeps its key).
        "xpm_fields": [
            {"label": labels.get(key, key), "key": key, "value": value}
            for key, value in sorted(data.items())
        ],
        "tax_numbers_masked": sorted(set(hidden) & set(data)),
    }


def build(contact: Contact, *, hidden: Iterable[str] = (), by: str = "") -> dict[str, Any]:
    """The document for ``contact``; tax-number keys in ``hidden`` are masked."""
    held = Held(contact)
    site = contact.connection.site
    hidden = frozenset(hidden)
    return {
        "format": FORMAT,
        "generated_at": _when(timezone.now()),
        "generated_by": by,
        "site": site.site_name or site.hostname,
        "practice": contact.connection.tenant_name,
        "about": {
            "contact": _(
                "The person's record in the website's CRM, with the XPM fields "
                "the firm copies from XPM."
            ),
            "xpm_clients": _("The XPM clients the person is a contact of, as last synced."),
            "website_enquiries": _("What the person sent through the website's forms."),
            "campaigns": _(
                "Campaign emails the person was on the list of, and what happened. "
                "Opens and clicks are not recorded."
            ),
            "delivery_events": _(
                "Bounces, complaints and unsubscribes the email service reported for the address."
            ),
            "suppression": _("Whether campaign emails to the address are stopped, and why."),
            "consent_records": _(
                "Every change of the person's marketing consent, kept as "
                "proof (the address's network, never the full address)."
            ),
            "consent_confirmations": _("Double opt-in confirmation emails sent to the address."),
            "opt_outs_sent_to_xpm": _("Opt-outs written to the person's records in XPM."),
        },
        "contact": _contact(contact, hidden),
        "xpm_clients": [
            {
                "client": link.client.name,
                "xpm_client_id": link.client.uuid,
                "xpm_contact_id": link.xpm_contact_id,
                "position": link.position,
                "primary_contact_in_xpm": link.is_primary,
                "client_archived": link.client.is_archived,
                "client_deleted_or_gone": link.client.is_deleted or link.client.is_missing,
                "opted_out_in_xpm": link.xpm_opted_out,
            }
            for link in held.links()
        ],
        "website_enquiries": [
            {
                "id": row.pk,
                "submitted_at": _when(row.submit_time),
                "form": row.form_title,
                "page_address": row.source_url,
                "fields": {
                    str((row.field_labels or {}).get(name) or name): value
                    for name, value in (row.form_data or {}).items()
                },
                "marketing_consent": row.consent,
                "ip_address": row.remote_addr,
                "browser": row.user_agent,
                "status": _words(row, "status"),
                "sent_to_xpm_at": _when(row.sent_at),
                "xpm_client": row.xpm_client_name,
                "xpm_lead": row.xpm_lead_name,
                "notes": row.notes,
            }
            for row in held.enquiries()
        ],
        "campaigns": [
            {
                "campaign": row.campaign.name,
                "subject": row.campaign.subject,
                "email": row.email,
                "status": _words(row, "status"),
                "left_out_because": _words(row, "reason"),
                "sent_at": _when(row.sent_at),
                "unsubscribed_at": _when(row.unsubscribed_at),
                "error": row.error,
            }
            for row in held.campaign_rows()
        ],
        "delivery_events": [
            {
                "event": event.event_type,
                "email_service": event.esp,
                "campaign": event.campaign.name if event.campaign else None,
                "occurred_at": _when(event.occurred_at),
                "detail": event.detail,
            }
            for event in held.delivery_events()
        ],
        "suppression": [
            {
                "email": row.email_key,
                "reason": _words(row, "reason"),
                "since": _when(row.suppressed_at),
                "soft_bounces": row.soft_bounces,
                "detail": row.detail,
                "email_service": row.esp,
            }
            for row in held.suppressions()
        ],
        "consent_records": [
            {
                "at": _when(row.created_at),
                "what": _words(row, "action"),
                "subscribed_after": row.subscribed,
                "by": _words(row, "actor"),
                "page": row.page.title if row.page else None,
                "wording": row.wording,
                "network": row.ip_prefix,
                "email": row.email_key,
            }
            for row in held.consent_events()
        ],
        "consent_confirmations": [
            {
                "email": row.email_key,
                "created_at": _when(row.created_at),
                "sent_at": _when(row.sent_at),
                "confirmed_at": _when(row.used_at),
                "voided_at": _when(row.voided_at),
                "wording": row.wording,
                "network": row.ip_prefix,
            }
            for row in held.confirmations()
        ],
        "opt_outs_sent_to_xpm": [
            {
                "xpm_contact_id": row.xpm_contact_id,
                "opted_out": row.opted_out,
                "status": _words(row, "status"),
                "created_at": _when(row.created_at),
                "sent_at": _when(row.sent_at),
            }
            for row in held.opt_out_writes()
        ],
    }
