"""What should be delivered now: the safety net behind each row's own task.

``sweep_leads`` (``leads/tasks.py``, every two minutes) and the admin, after the site
settings are saved, queue what this finds: rows whose time came, rows a dead worker left in
``sending``, and failures whose cause a person has since fixed (docs/leads.md, "Nothing
lost").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ...conf import get_setting
from ...models import LeadSubmission, XpmConnection, XpmSiteSettings
from .site_connection import connection_of

Status = LeadSubmission.Status

# Grace before the sweeper queues a brand-new row itself (its own task should be running).
FRESH_GRACE = timedelta(seconds=60)
# Failures fixed by a person elsewhere (settings, reconnect): the sweeper re-queues them.
SELF_HEALING = (
    LeadSubmission.ERROR_NO_OWNER,
    LeadSubmission.ERROR_OWNER_INVALID,
    LeadSubmission.ERROR_NOT_CONNECTED,
    LeadSubmission.ERROR_CONNECTION,
)


@dataclass
class SweepResult:
    requeued_stuck: list[int]
    due: list[int]
    healed: list[int]


def sweep(*, now: datetime | None = None, limit: int = 500) -> SweepResult:
    """Find what should be delivered now; the caller queues ``due`` (ids).

    * rows stuck in ``sending`` longer than ``LEAD_STUCK_SECONDS`` (their worker died) go
      back to pending;
    * pending rows whose time came (or fresh rows whose own task never ran);
    * failed rows whose cause a person has since fixed: a lead owner now chosen (or changed
      after XPM refused the old one), or the site connected again.
    """
    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=float(get_setting("LEAD_STUCK_SECONDS")))
    stuck = list(
        LeadSubmission.objects.filter(
            status=Status.SENDING, claimed_at__lt=stuck_before
        ).values_list("pk", flat=True)[:limit]
    )
    if stuck:
        LeadSubmission.objects.filter(pk__in=stuck, status=Status.SENDING).update(
            status=Status.PENDING,
            next_attempt_at=now,
            claimed_at=None,
            last_error=_(
                "The delivery was interrupted (the background worker stopped); it is tried "
                "again, and nothing already created in XPM is created twice."
            ),
            updated_at=now,
        )
    healed = _healed(now, limit)
    due = list(
        LeadSubmission.objects.filter(status=Status.PENDING)
        .filter(
            Q(next_attempt_at__lte=now)
            | Q(next_attempt_at__isnull=True, submit_time__lte=now - FRESH_GRACE)
            | Q(pk__in=stuck + healed)
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return SweepResult(requeued_stuck=stuck, due=due, healed=healed)


def _healed(now: datetime, limit: int) -> list[int]:
    failed = LeadSubmission.objects.filter(status=Status.FAILED, error_code__in=SELF_HEALING)
    healed: list[int] = []
    for row in failed.select_related("connection", "site")[:limit]:
        if not _cause_gone(row, connection_of(row)):
            continue
        healed.append(row.pk)
    if healed:
        LeadSubmission.objects.filter(pk__in=healed, status=Status.FAILED).update(
            status=Status.PENDING, next_attempt_at=now, error_code="", updated_at=now
        )
    return healed


def _cause_gone(row: LeadSubmission, connection: XpmConnection | None) -> bool:
    code = row.error_code
    if code in (LeadSubmission.ERROR_NOT_CONNECTED, LeadSubmission.ERROR_CONNECTION):
        if connection is None or not connection.is_usable:
            return False
        # An auth refusal is only worth retrying after someone reconnected.
        if code == LeadSubmission.ERROR_CONNECTION:
            return bool(connection.connected_at and connection.connected_at > row.updated_at)
        return True
    site = row.site or (connection.site if connection else None)
    if site is None:
        return False
    owner = XpmSiteSettings.for_site(site).lead_owner_uuid
    if code == LeadSubmission.ERROR_NO_OWNER:
        return bool(owner)
    return bool(owner) and owner != row.owner_uuid


def waiting_for_owner(site_id: int) -> int:
    """How many of the site's enquiries wait for a lead owner to be chosen."""
    return LeadSubmission.objects.filter(
        site_id=site_id,
        status__in=[Status.FAILED, Status.PENDING],
        error_code=LeadSubmission.ERROR_NO_OWNER,
    ).count()
