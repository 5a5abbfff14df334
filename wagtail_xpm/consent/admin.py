"""The consent ledger in the admin: a panel on the contact's page and a CSV of it as proof.

The panel's rows come from :func:`ledger_context` (``ContactInspectView`` adds them to its
context; the panel is ``wagtail_xpm/admin/_consent_ledger.html``). The CSV is an export of
personal data: ``export_contact`` on the contact's site (the URL's guard in
contacts/admin/viewsets.py, docs/permissions.md), logged in Wagtail's audit log, every cell
formula-escaped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from .. import access, audit
from ..contacts import exports
from ..models import ConsentEvent, Contact

# Rows shown on the contact's page; the CSV has them all.
PANEL_ROWS = 50
COLUMNS = [
    "date",
    "action",
    "subscribed_after",
    "by",
    "user",
    "page",
    "page_id",
    "wording",
    "ip_prefix",
    "detail",
]


def events_for(contact: Contact) -> QuerySet[ConsentEvent]:
    """The contact's rows, and those left by an earlier record of the same address (deleted
    or erased: the ledger keeps the address)."""
    where = Q(contact=contact)
    if contact.email_key:
        where |= Q(contact__isnull=True, email_key=contact.email_key)
    return (
        ConsentEvent.objects.filter(where, connection_id=contact.connection_id)
        .select_related("user", "page")
        .order_by("-created_at", "-pk")
    )


def by_whom(event: ConsentEvent) -> str:
    """Who made the change, readable: "Jane Editor (a user of the site)", "The person"..."""
    actor = event.get_actor_display()
    if event.user is not None:
        name = event.user.get_full_name() or event.user.get_username()
        return f"{name} ({str(actor).lower()})"
    esp = (event.detail or {}).get("esp") if event.actor == ConsentEvent.Actor.ESP else ""
    return f"{actor} ({esp})" if esp else str(actor)


def ledger_context(contact: Contact, user: Any) -> dict[str, Any]:
    """What the contact page's consent panel needs (the view's ``consent`` context)."""
    rows = list(events_for(contact)[: PANEL_ROWS + 1])
    return {
        "events": [
            {"event": event, "by": by_whom(event), "mail_error": _mail_error(event)}
            for event in rows[:PANEL_ROWS]
        ],
        "more": len(rows) > PANEL_ROWS,
        "csv_url": (
            reverse("wagtail_xpm_contact:consent_ledger", args=[contact.pk])
            if access.holds(user, access.EXPORT_CONTACT, contact)
            and access.holds(user, access.SEE_CONTACTS, contact)
            else ""
        ),
    }


def _mail_error(event: ConsentEvent) -> str:
    return str((event.detail or {}).get("mail_error") or "")


def _csv_rows(contact: Contact) -> Iterator[dict[str, Any]]:
    for event in events_for(contact).iterator(chunk_size=500):
        yield {
            "date": timezone.localtime(event.created_at).isoformat(),
            "action": str(event.get_action_display()),
            "subscribed_after": event.subscribed,
            "by": by_whom(event),
            "user": event.user.get_username() if event.user is not None else "",
            "page": event.page.title if event.page is not None else "",
            "page_id": event.page_id or "",
            "wording": event.wording,
            "ip_prefix": event.ip_prefix,
            "detail": json.dumps(event.detail or {}, ensure_ascii=False, sort_keys=True),
        }


def ledger_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """One contact's consent ledger as CSV: the proof of when and how they consented."""
    # The URL's guard (contacts/admin/viewsets.py) answers 404 for another site's contact;
    # checked again here so the view is safe wherever it is routed.
    contact = get_object_or_404(Contact.objects.select_related("connection"), pk=pk)
    access.require(request.user, access.SEE_CONTACTS, contact)
    access.require(request.user, access.EXPORT_CONTACT, contact)
    rows = events_for(contact).count()
    audit.record(
        contact,
        audit.EXPORT,
        request.user,
        # By number: the audit log outlives an erasure (wagtail_xpm/rights/erasure.py).
        what=_("the consent record of contact #%(pk)s as CSV") % {"pk": contact.pk},
        rows=rows,
    )
    response = StreamingHttpResponse(
        exports.csv_lines(COLUMNS, _csv_rows(contact)), content_type="text/csv; charset=utf-8"
    )
    name = slugify(contact.email or contact.name) or f"contact-{contact.pk}"
    response["Content-Disposition"] = f'attachment; filename="consent-{name}.csv"'
    return response
