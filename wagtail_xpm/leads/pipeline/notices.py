"""Telling the admins that a submission failed (``notifications.py``: email, and Slack).

A failure a person fixes elsewhere (no lead owner chosen, the site not connected) holds
back every enquiry of the site alike, so it is told once per site and cause per hour, with
the count waiting; any other failure is told once per submission, with its link.
"""

from __future__ import annotations

from django.core.cache import cache
from django.urls import reverse

from ...links import admin_base_url
from ...models import LeadSubmission
from ...notifications import notify

Status = LeadSubmission.Status


def failed(submission: LeadSubmission, code: str, message: str) -> None:
    """Tell the admins about a submission that just failed with ``code``."""
    if code in (LeadSubmission.ERROR_NO_OWNER, LeadSubmission.ERROR_NOT_CONNECTED):
        _notify_waiting(submission, code, message)
    else:
        notify(
            "lead_failed",
            submission=submission,
            reason=message,
            admin_url=admin_url(submission),
        )


def _notify_waiting(submission: LeadSubmission, code: str, message: str) -> None:
    """One "enquiries are waiting" notice per site and cause per hour, not one per enquiry."""
    key = f"wagtail_xpm:leads-waiting:{submission.site_id}:{code}"
    try:
        first = cache.add(key, 1, timeout=3600)
    except Exception:  # noqa: BLE001 - without a cache, tell every time rather than never
        first = True
    if not first:
        return
    count = LeadSubmission.objects.filter(
        site_id=submission.site_id, status=Status.FAILED, error_code=code
    ).count()
    notify(
        "leads_waiting",
        site=submission.site,
        reason=message,
        count=count,
        admin_url=admin_url(None),
    )


def admin_url(submission: LeadSubmission | None) -> str:
    """Absolute admin URL of a submission (or of the listing), when the base URL is known."""
    base = admin_base_url()
    if submission is None:
        path = reverse("wagtail_xpm_leadsubmission:index")
    else:
        path = reverse("wagtail_xpm_leadsubmission:inspect", args=[submission.pk])
    return f"{base}{path}" if base else path
