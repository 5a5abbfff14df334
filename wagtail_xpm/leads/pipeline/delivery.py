"""One delivery attempt for one stored submission, safely repeatable.

``deliver`` decides whether the row is for this worker now (not for XPM, not due, the
site's deliveries paused, or another worker's claim won) and runs the steps: the
prerequisites (``prerequisites.py``), the client (``client_step.py``), the lead
(``lead_step.py``), each result stored on the row before the next starts (``row.py``).
``_attempt`` sorts what went wrong by what helps (docs/leads.md, the table of problems):

* network trouble, 5xx and 429: retried with backoff, and the site's other deliveries
  pause a moment (``pausing.py``);
* XPM's daily limit: pending until the reset;
* what a person must fix (no lead owner, connection lost, XPM refusing the data): failed
  with a reason in plain words (``wagtail_xpm/wording.py``), the admins told (``notices.py``),
  waiting for a Retry or re-queued once the cause is gone (``sweeper.py``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from ...connection import budget
from ...models import LeadSubmission
from ...wording import explain_lead_failure as explain_failure
from ...xpm import problems
from ...xpm.errors import (
    XpmApiError,
    XpmAuthError,
    XpmConfigurationError,
    XpmDailyLimitReached,
    XpmError,
    XpmRateLimited,
    XpmResponseError,
    XpmTransientError,
)
from .. import crm
from ..configsection import ClientFactory
from .client_step import find_or_create_client
from .lead_step import add_lead
from .outcomes import Outcome, fail, postpone, retry
from .pausing import PAUSE_SECONDS, pause, paused_for
from .prerequisites import Blocked, KeepLocal, require_connection, require_lead_settings
from .row import DeliveryRow
from .site_connection import connection_of
from .transitions import claim

logger = logging.getLogger(__name__)

Status = LeadSubmission.Status

DAILY_LIMIT_WAIT = 3600.0
RATE_LIMIT_WAIT = 60.0


def deliver(
    submission_id: int,
    *,
    client_factory: ClientFactory,
    now: datetime | None = None,
) -> Outcome:
    """Run one attempt for one submission. Safe to call twice, concurrently, or after a crash."""
    row = (
        LeadSubmission.objects.filter(pk=submission_id).select_related("connection", "site").first()
    )
    if row is None:
        return Outcome("missing")
    if row.status == Status.LOCAL:
        # Not for XPM: only the website CRM hears about the person.
        connection = connection_of(row)
        if connection is not None:
            crm.record_contact(row, connection)
        return Outcome(row.status)
    now = now or timezone.now()
    if row.status != Status.PENDING or (
        row.next_attempt_at and row.next_attempt_at > now + timedelta(seconds=1)
    ):
        return Outcome(row.status)  # taken, finished, or not due yet
    paused = paused_for(row.site_id)
    if paused is not None:
        # XPM failed moments ago for this practice: wait with it instead of knocking again.
        wait, reason = paused
        LeadSubmission.objects.filter(pk=row.pk, status=Status.PENDING).update(
            next_attempt_at=now + timedelta(seconds=wait), last_error=reason, updated_at=now
        )
        return Outcome(Status.PENDING, retry_in=wait, message=reason)
    submission = claim(submission_id, now)
    if submission is None:
        return Outcome(row.status)
    outcome = _attempt(submission, client_factory)
    if outcome.status == Status.PENDING and outcome.retry_in and submission.site_id:
        pause(submission.site_id, min(outcome.retry_in, PAUSE_SECONDS), outcome.message)
    return outcome


def _attempt(submission: LeadSubmission, client_factory: ClientFactory) -> Outcome:
    try:
        _send(DeliveryRow(submission), client_factory)
    except KeepLocal:
        submission.status = Status.LOCAL
        submission.claimed_at = None
        submission.save(update_fields=["status", "claimed_at", "updated_at"])
        return Outcome(Status.LOCAL)
    except Blocked as exc:
        return fail(submission, exc.code, exc.message)
    except XpmDailyLimitReached as exc:
        wait = max(exc.retry_after or 0, 60) if exc.retry_after else DAILY_LIMIT_WAIT
        return postpone(submission, explain_failure(exc), wait)
    except XpmRateLimited as exc:
        return retry(submission, explain_failure(exc), minimum=exc.retry_after or RATE_LIMIT_WAIT)
    except (XpmTransientError, XpmResponseError) as exc:
        return retry(submission, explain_failure(exc))
    except (XpmAuthError, XpmConfigurationError) as exc:
        return fail(submission, LeadSubmission.ERROR_CONNECTION, explain_failure(exc))
    except XpmApiError as exc:
        # What XPM refused is read once, from its answer (wagtail_xpm/xpm/problems.py).
        code = (
            LeadSubmission.ERROR_OWNER_INVALID
            if exc.about == problems.OWNER
            else LeadSubmission.ERROR_REFUSED
        )
        return fail(submission, code, explain_failure(exc))
    except XpmError as exc:
        return retry(submission, explain_failure(exc))
    except Exception as exc:  # noqa: BLE001 - a bug must not strand the row in "sending"
        logger.exception("Unexpected error delivering lead submission %s", submission.pk)
        return retry(
            submission,
            _("Something unexpected went wrong on the website (%(error)s).")
            % {"error": type(exc).__name__},
            code=LeadSubmission.ERROR_UNEXPECTED,
        )
    return Outcome(Status.SENT)


def _send(row: DeliveryRow, client_factory: ClientFactory) -> None:
    """The steps of one attempt; a step already done (its result on the row) is skipped."""
    sub = row.sub
    connection = require_connection(row)
    crm.record_contact(sub, connection)
    owner, category = require_lead_settings(sub, connection, client_factory)
    client = client_factory(connection)
    try:
        if not sub.xpm_client_uuid:
            find_or_create_client(row, client, connection)
        if not sub.xpm_lead_uuid:
            add_lead(row, client, owner, category)
    finally:
        budget.record(connection.pk, client.day_remaining)
        client.close()
    row.save(
        status=Status.SENT,
        sent_at=timezone.now(),
        last_error="",
        error_code="",
        claimed_at=None,
    )
    crm.link_to_xpm(sub)
