"""A submission's status changes outside an attempt, each one conditional UPDATE.

The condition is the guard: of two workers (or a worker and an admin) acting on one row,
exactly one wins, and a row already sent is never touched (docs/leads.md, "Nothing lost").
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import F, Q
from django.utils import timezone

from ...models import LeadSubmission

Status = LeadSubmission.Status


def claim(submission_id: int, now: datetime | None = None) -> LeadSubmission | None:
    """Take a due pending row for this worker (one conditional UPDATE: exactly one winner)."""
    now = now or timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + timedelta(seconds=1))
    won = LeadSubmission.objects.filter(due, pk=submission_id, status=Status.PENDING).update(
        status=Status.SENDING,
        claimed_at=now,
        attempts=F("attempts") + 1,
        next_attempt_at=None,
        updated_at=now,
    )
    if not won:
        return None
    return LeadSubmission.objects.select_related("connection", "site", "contact").get(
        pk=submission_id
    )


def requeue(submission: LeadSubmission) -> bool:
    """Make a failed, spam or website-only row pending again (the admin's Retry)."""
    updated = LeadSubmission.objects.filter(
        pk=submission.pk, status__in=[Status.FAILED, Status.SPAM, Status.LOCAL, Status.PENDING]
    ).update(
        status=Status.PENDING,
        next_attempt_at=None,
        claimed_at=None,
        error_code="",
        attempts=0,
        updated_at=timezone.now(),
    )
    return bool(updated)


def mark_spam(submission: LeadSubmission, reason: str) -> bool:
    """File a row that was not sent yet as spam (a sent lead is already in XPM)."""
    updated = LeadSubmission.objects.filter(
        pk=submission.pk,
        status__in=[Status.PENDING, Status.FAILED, Status.LOCAL],
    ).update(
        status=Status.SPAM,
        spam_reason=reason[:255],
        next_attempt_at=None,
        updated_at=timezone.now(),
    )
    return bool(updated)
