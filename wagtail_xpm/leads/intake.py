"""From a valid form to a stored outbox row and a queued delivery, without waiting for XPM.

The visitor's request does only local work: the spam gate (cache), one INSERT, and queueing
a task after the transaction commits. Everything that needs the site's XPM connection or
settings (which connection, whether the site sends leads at all) is decided by the delivery.
XPM being slow, down or rate limited cannot slow the thank-you page; the Huey task and the
sweeper do the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from wagtail.models import Page, Site

from .. import background
from ..models import LeadSubmission
from . import pipeline, spam

logger = logging.getLogger(__name__)

# The roles a lead needs from a form, in the order a description lists them.
ROLES = ("name", "email", "phone", "company", "message", "consent")
MAX_USER_AGENT = 300


@dataclass
class LeadForm:
    """What intake needs to know about the form a submission came from.

    ``roles`` maps a role (``name``, ``email``, ``phone``, ``company``, ``message``,
    ``consent``) to the form field holding it; ``labels`` maps field names to their labels.
    """

    page: Page | None
    title: str
    kind: str = LeadSubmission.Kind.PAGE
    block_id: str = ""
    send_to_xpm: bool = True
    roles: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)


def json_safe(value: Any) -> Any:
    """Form values as JSON (dates as ISO text, decimals as text, lists kept)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value).strip()


def receive(
    request: HttpRequest,
    *,
    form: LeadForm,
    data: Mapping[str, Any],
    site: Site | None = None,
) -> LeadSubmission | None:
    """Store one validated submission and queue its delivery; returns the row.

    ``data`` is the form's cleaned data without the protection fields. Returns None only
    for a flood beyond the discard threshold (nothing stored).
    """
    verdict = spam.check(request, request.POST)
    if verdict.discard:
        logger.warning("Lead form flood: submission discarded (%s)", verdict.reason)
        return None
    site_id = site.pk if site is not None else _site_id(request, form.page)
    roles = form.roles
    values = {role: data.get(name) for role, name in roles.items() if name in data}
    submission = LeadSubmission(
        page=form.page,
        form_data={name: json_safe(value) for name, value in data.items()},
        site_id=site_id,
        kind=form.kind,
        block_id=form.block_id,
        form_title=form.title[:255],
        source_url=_page_url(request, form.page)[:500],
        field_labels={name: str(label) for name, label in form.labels.items()},
        field_roles={role: name for role, name in roles.items() if name},
        name=_text(values.get("name"))[:255],
        email=_text(values.get("email"))[:254],
        phone=_text(values.get("phone"))[:64],
        company=_text(values.get("company"))[:255],
        message=_text(values.get("message")),
        consent=bool(values.get("consent")),
        remote_addr=spam.client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:MAX_USER_AGENT],
    )
    if verdict.spam:
        submission.status = LeadSubmission.Status.SPAM
        submission.spam_reason = verdict.reason[:255]
    elif not form.send_to_xpm:
        submission.status = LeadSubmission.Status.LOCAL
    paused = pipeline.paused_for(site_id)
    if paused is not None and submission.status == LeadSubmission.Status.PENDING:
        # XPM failed moments ago: no task now; the sweeper sends it after the pause.
        wait, reason = paused
        submission.next_attempt_at = timezone.now() + timedelta(seconds=wait)
        submission.last_error = reason
    submission.save()
    if submission.status != LeadSubmission.Status.SPAM and submission.next_attempt_at is None:
        # Even "website only" rows get a task: it records the person in the website's CRM.
        transaction.on_commit(lambda: enqueue(submission.pk))
    return submission


def _site_id(request: HttpRequest, page: Page | None) -> int | None:
    """The enquiry's site: the one Wagtail routed to, else the page's (from the cached site
    root paths, so the visitor's request costs no query for it)."""
    routed = getattr(request, "_wagtail_site", None)
    if routed is not None:
        return routed.pk
    if page is not None:
        parts = page.get_url_parts(request)
        if parts is not None:
            return parts[0]
    site = Site.find_for_request(request)
    return site.pk if site is not None else None


def _page_url(request: HttpRequest, page: Page | None) -> str:
    """Where the enquiry was made, from the site's address (wagtail_xpm/links.py): the lead's
    description in XPM links to it."""
    from ..links import page_url, public_url

    if page is not None:
        url = page_url(page, request)
        if url:
            return url
    site = Site.find_for_request(request)
    if site is not None:
        return public_url(site, request.path)
    return request.build_absolute_uri(request.path)


def enqueue(submission_id: int, *, delay: float | None = None) -> bool:
    """Queue delivery; a queue outage is logged, not raised (the sweeper catches up)."""
    try:
        background.enqueue("deliver_lead", submission_id, delay=delay)
    except Exception:  # noqa: BLE001 - the row is stored; the sweeper will queue it
        logger.exception("Could not queue delivery of lead submission %s", submission_id)
        return False
    return True
