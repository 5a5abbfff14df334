"""Sending queued opt-outs to XPM: one ``XpmOptOutWrite`` row, one ``PUT
client.api/contact/{uuid}/customfield`` (docs/xpm-api.md 6.2), safely repeatable.

The rules are the leads' (wagtail_xpm/leads/pipeline/): a row is claimed with one
conditional UPDATE; network trouble, 5xx, 429 and refusals are retried with backoff
(``LEAD_RETRY_*``) and the row is failed, visible to staff, after ``LEAD_MAX_ATTEMPTS``;
XPM's daily limit waits; the leads' daily reserve is never spent. A row is never deleted.
Writing a checkbox is idempotent, so a write whose answer was lost is simply sent again.

The website stays unsubscribed whatever happens here: the unsubscribe was committed before
the row was queued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..conf import get_setting
from ..connection import budget
from ..models import (
    ConsentEvent,
    ContactClientLink,
    PracticeCustomField,
    XpmConnection,
    XpmOptOutWrite,
    XpmSiteSettings,
)
from ..xpm import problems
from ..xpm.client import XpmClient
from ..xpm.errors import (
    XpmDailyLimitReached,
    XpmError,
    XpmNotFoundError,
    XpmRateLimited,
)
from . import ledger
from .xpm_optout import field_problem, opt_out_field

logger = logging.getLogger(__name__)

Status = XpmOptOutWrite.Status
ClientFactory = Callable[[XpmConnection], XpmClient]

# Grace before the sweeper queues a brand-new row itself (its own task should be running).
FRESH_GRACE = timedelta(seconds=60)
# How long to wait when nothing can be sent yet (not connected, no field, the budget).
WAIT = timedelta(hours=1)
# ...and behind an earlier write to the same XPM contact that is being sent.
FOLLOW_WAIT = timedelta(seconds=30)
RATE_LIMIT_WAIT = 60.0
# A recorded day budget is trusted this long; after that one call finds out again.
BUDGET_FRESH = timedelta(hours=1)


@dataclass(frozen=True)
class Outcome:
    """What one attempt did; ``retry_in`` asks the caller to queue the row again later."""

    status: str
    retry_in: float | None = None
    message: str = ""


def _stuck_after() -> timedelta:
    return timedelta(seconds=float(get_setting("LEAD_STUCK_SECONDS")))


def claim(row_id: int, now: datetime) -> XpmOptOutWrite | None:
    """Take a due pending row (exactly one winner). While it is being sent,
    ``next_attempt_at`` is the end of the worker's lease: past it, the sweeper takes the
    row back (the worker died)."""
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + timedelta(seconds=1))
    won = XpmOptOutWrite.objects.filter(due, pk=row_id, status=Status.PENDING).update(
        status=Status.SENDING,
        attempts=F("attempts") + 1,
        next_attempt_at=now + _stuck_after(),
    )
    if not won:
        return None
    return XpmOptOutWrite.objects.select_related("connection", "connection__site", "contact").get(
        pk=row_id
    )


def _wait_reason(row: XpmOptOutWrite, now: datetime) -> str:
    """Why nothing should be sent for ``row`` now (no call made, no attempt counted)."""
    connection = row.connection
    if not connection.is_usable:
        return _(
            "The website is not connected to Xero Practice Manager; the opt-out is sent once it is."
        )
    field = opt_out_field(connection)
    if not field:
        return _(
            "No XPM opt-out field is chosen in the Xero Practice Manager settings; the "
            "opt-out is sent once one is."
        )
    problem = field_problem(connection, field)
    if problem:
        return problem
    reserve = XpmSiteSettings.for_site(connection.site).daily_call_reserve
    remaining = connection.day_calls_remaining
    checked = connection.day_calls_checked_at
    if remaining is not None and checked and checked > now - BUDGET_FRESH and remaining <= reserve:
        return _(
            "XPM's daily call budget is down to the %(reserve)s calls kept for website "
            "enquiries; the opt-out is sent when it recovers."
        ) % {"reserve": reserve}
    if _follows(row):
        return _("An earlier change for this XPM contact is being sent; this one follows it.")
    return ""


def _follows(row: XpmOptOutWrite) -> bool:
    return (
        XpmOptOutWrite.objects.filter(
            connection_id=row.connection_id,
            xpm_contact_id=row.xpm_contact_id,
            status=Status.SENDING,
        )
        .exclude(pk=row.pk)
        .exists()
    )


def deliver(row_id: int, *, client_factory: ClientFactory, now: datetime | None = None) -> Outcome:
    """One attempt for one row. Safe to call twice, concurrently, or after a crash."""
    now = now or timezone.now()
    row = XpmOptOutWrite.objects.filter(pk=row_id).select_related("connection").first()
    if row is None:
        return Outcome("missing")
    if row.status != Status.PENDING or (
        row.next_attempt_at and row.next_attempt_at > now + timedelta(seconds=1)
    ):
        return Outcome(row.status)  # taken, finished, or not due yet
    reason = _wait_reason(row, now)
    if reason:
        wait = FOLLOW_WAIT if _follows(row) else WAIT
        XpmOptOutWrite.objects.filter(pk=row.pk, status=Status.PENDING).update(
            next_attempt_at=now + wait, last_error=reason
        )
        return Outcome(Status.PENDING, retry_in=wait.total_seconds(), message=reason)
    claimed = claim(row_id, now)
    if claimed is None:
        return Outcome(row.status)
    return _attempt(claimed, client_factory)


def _attempt(row: XpmOptOutWrite, client_factory: ClientFactory) -> Outcome:
    connection = row.connection
    field = opt_out_field(connection)
    try:
        client = client_factory(connection)
        try:
            client.set_contact_custom_flag(row.xpm_contact_id, field, row.opted_out)
        finally:
            budget.record(connection.pk, client.day_remaining)
            client.close()
    except XpmDailyLimitReached as exc:
        wait = max(exc.retry_after or 0, 60) if exc.retry_after else WAIT.total_seconds()
        return _postpone(row, _explain(exc), wait)
    except XpmRateLimited as exc:
        return _retry(row, _explain(exc), minimum=exc.retry_after or RATE_LIMIT_WAIT)
    except XpmNotFoundError as exc:
        if exc.about == problems.CUSTOM_FIELD:
            # XPM no longer knows the field: the settings page and the sync say so.
            PracticeCustomField.objects.filter(connection=connection, uuid__iexact=field).update(
                is_current=False
            )
        return _retry(row, _explain(exc))
    except XpmError as exc:
        return _retry(row, _explain(exc))
    except Exception as exc:  # noqa: BLE001 - a bug must not strand the row in "sending"
        logger.exception("Unexpected error sending XPM opt-out write %s", row.pk)
        return _retry(
            row,
            _("Something unexpected went wrong on the website (%(error)s).")
            % {"error": type(exc).__name__},
        )
    _sent(row, field)
    return Outcome(Status.SENT)


def _explain(exc: XpmError) -> str:
    return _("XPM did not accept the opt-out: %(error)s") % {"error": exc}


def _sent(row: XpmOptOutWrite, field: str) -> None:
    now = timezone.now()
    XpmOptOutWrite.objects.filter(pk=row.pk).update(
        status=Status.SENT, sent_at=now, next_attempt_at=None, last_error=""
    )
    # XPM now holds this value: the next sync compares with it (a tick staff add later is
    # then a change, and this write is not mistaken for one).
    ContactClientLink.objects.filter(
        client__connection=row.connection, xpm_contact_id__iexact=row.xpm_contact_id
    ).update(xpm_opted_out=row.opted_out)
    if row.contact is not None:
        ledger.record(
            row.contact,
            # A confirmed new subscription unticks the box: say which way it went.
            ConsentEvent.Action.OPT_OUT_SENT_XPM
            if row.opted_out
            else ConsentEvent.Action.OPT_OUT_CLEARED_XPM,
            subscribed=row.contact.subscribed,
            actor=ConsentEvent.Actor.SYSTEM,
            detail={
                "xpm_contact_id": row.xpm_contact_id,
                "opted_out": row.opted_out,
                "field": field,
                "write": row.pk,
            },
        )


def backoff_seconds(attempts: int) -> float:
    base = float(get_setting("LEAD_RETRY_BASE_SECONDS"))
    cap = float(get_setting("LEAD_RETRY_MAX_SECONDS"))
    return min(base * 2 ** max(attempts - 1, 0), cap)


def _retry(row: XpmOptOutWrite, message: str, *, minimum: float | None = None) -> Outcome:
    """Pending again with backoff, or failed (kept, shown to staff) after too many tries."""
    if row.attempts >= int(get_setting("LEAD_MAX_ATTEMPTS")):
        message = ngettext(
            "Gave up after %(attempts)s attempt. Last problem: %(problem)s",
            "Gave up after %(attempts)s attempts. Last problem: %(problem)s",
            row.attempts,
        ) % {"attempts": row.attempts, "problem": message}
        XpmOptOutWrite.objects.filter(pk=row.pk).update(
            status=Status.FAILED, next_attempt_at=None, last_error=message
        )
        logger.warning("XPM opt-out write %s failed: %s", row.pk, message)
        return Outcome(Status.FAILED, message=message)
    wait = max(backoff_seconds(row.attempts), minimum or 0)
    return _postpone(row, message, wait)


def _postpone(row: XpmOptOutWrite, message: str, wait: float) -> Outcome:
    XpmOptOutWrite.objects.filter(pk=row.pk).update(
        status=Status.PENDING,
        next_attempt_at=timezone.now() + timedelta(seconds=wait),
        last_error=message,
    )
    logger.info("XPM opt-out write %s will be retried in %.0fs", row.pk, wait)
    return Outcome(Status.PENDING, retry_in=wait, message=message)


@dataclass
class SweepResult:
    interrupted: list[int]
    due: list[int]


def sweep(*, now: datetime | None = None, limit: int = 500) -> SweepResult:
    """What should be sent now (the caller queues ``due``): rows whose worker's lease ran
    out (it died while sending) go back to pending; pending rows whose time came, or fresh
    rows whose own task never ran."""
    now = now or timezone.now()
    stuck = list(
        XpmOptOutWrite.objects.filter(status=Status.SENDING, next_attempt_at__lt=now).values_list(
            "pk", flat=True
        )[:limit]
    )
    if stuck:
        XpmOptOutWrite.objects.filter(pk__in=stuck, status=Status.SENDING).update(
            status=Status.PENDING,
            next_attempt_at=now,
            last_error=_(
                "Sending was interrupted (the background worker stopped); it is sent again."
            ),
        )
    due = list(
        XpmOptOutWrite.objects.filter(status=Status.PENDING)
        .filter(
            Q(next_attempt_at__lte=now)
            | Q(next_attempt_at__isnull=True, created_at__lte=now - FRESH_GRACE)
            | Q(pk__in=stuck)
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return SweepResult(interrupted=stuck, due=due)
