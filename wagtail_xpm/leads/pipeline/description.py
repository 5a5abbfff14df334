"""A submission in words: the lead's description sent to XPM, its reference, its owner.

The description carries every field the visitor filled in and a ``Website reference`` line;
that line is how an attempt after a lost ``lead.api/add`` answer recognises the lead it
already created (``lead_step.py``, docs/leads.md "Nothing lost"). It is written in English
on purpose: it is read in XPM by the practice, not shown on the website.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.formats import date_format

from ...models import LeadSubmission, PracticeStaff, XpmConnection


def reference_of(submission: LeadSubmission) -> str:
    """A marker in the lead's description tying it to this row (used to find lost leads)."""
    host = submission.site.hostname if submission.site_id and submission.site else "website"
    return f"Website reference: {host}-{submission.pk}"


def display_value(value: Any) -> str:
    """A form answer as one line of text (a checkbox as Yes/No, a multiple choice joined)."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value).strip()


def describe(submission: LeadSubmission) -> str:
    """The lead's description: the message, every field, where it came from, the reference."""
    sub = submission
    lines: list[str] = []
    if sub.message:
        lines += [sub.message.strip(), ""]
    for label, value in (
        ("Name", sub.name),
        ("Email", sub.email),
        ("Phone", sub.phone),
        ("Company", sub.company),
    ):
        if value:
            lines.append(f"{label}: {value}")
    roles = sub.field_roles or {}
    labels = sub.field_labels or {}
    for name, value in (sub.form_data or {}).items():
        text = display_value(value)
        if name in roles.values() or not text:
            continue
        lines.append(f"{labels.get(name) or name.replace('_', ' ').capitalize()}: {text}")
    if "consent" in roles:
        lines.append(f"Marketing consent: {'Yes' if sub.consent else 'No'}")
    lines.append("")
    if sub.form_title:
        lines.append(f"Form: {sub.form_title}")
    if sub.source_url:
        lines.append(f"Page: {sub.source_url}")
    when = timezone.localtime(sub.submit_time) if sub.submit_time else timezone.localtime()
    lines.append(f"Sent: {date_format(when, 'j M Y, H:i T')}")
    lines.append(reference_of(sub))
    return "\n".join(lines)


def owner_label(connection: XpmConnection | None, uuid: str) -> str:
    """The lead owner's name from the staff mirror, else the UUID XPM was sent."""
    if not uuid:
        return ""
    staff = PracticeStaff.objects.filter(connection=connection, uuid__iexact=uuid).first()
    return str(staff) if staff else uuid
