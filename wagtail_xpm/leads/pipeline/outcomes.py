"""After an attempt: the row pending again later, or failed with its reason.

Which problems are retried and which wait for a person is decided in ``delivery.py``; this
module stores the decision on the row (``LEAD_RETRY_*``, ``LEAD_MAX_ATTEMPTS``: docs/leads.md)
and returns the ``Outcome`` the Huey task acts on (``leads/tasks.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import ngettext

from ...conf import get_setting
from ...models import LeadSubmission
from . import notices

logger = logging.getLogger(__name__)

Status = LeadSubmission.Status


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt did; ``retry_in`` asks the caller to try again later."""

    status: str
    retry_in: float | None = None
    message: str = ""


def backoff_seconds(attempts: int) -> float:
    base = float(get_setting("LEAD_RETRY_BASE_SECONDS"))
    cap = float(get_setting("LEAD_RETRY_MAX_SECONDS"))
    return min(base * 2 ** max(attempts - 1, 0), cap)


def retry(
    submission: LeadSubmission,
    message: str,
    *,
    minimum: float | None = None,
    code: str = "",
) -> Outcome:
    """A problem worth retrying: pending again with backoff, or failed after too many tries."""
    if submission.attempts >= int(get_setting("LEAD_MAX_ATTEMPTS")):
        return fail(
            submission,
            code or LeadSubmission.ERROR_UNREACHABLE,
            ngettext(
                "Gave up after %(attempts)s attempt. Last problem: %(problem)s",
                "Gave up after %(attempts)s attempts. Last problem: %(problem)s",
                submission.attempts,
            )
            % {"attempts": submission.attempts, "problem": message},
        )
    wait = max(backoff_seconds(submission.attempts), minimum or 0)
    return postpone(submission, message, wait, code=code)


def postpone(submission: LeadSubmission, message: str, wait: float, *, code: str = "") -> Outcome:
    submission.status = Status.PENDING
    submission.next_attempt_at = timezone.now() + timedelta(seconds=wait)
    submission.claimed_at = None
    submission.last_error = message
    submission.error_code = code
    submission.save(
        update_fields=[
            "status",
            "next_attempt_at",
            "claimed_at",
            "last_error",
            "error_code",
            "updated_at",
        ]
    )
    logger.info("Lead submission %s will be retried in %.0fs", submission.pk, wait)
    return Outcome(Status.PENDING, retry_in=wait, message=message)


def fail(submission: LeadSubmission, code: str, message: str) -> Outcome:
    """A problem a person must fix: failed, with the reason, and the admins are told."""
    submission.status = Status.FAILED
    submission.claimed_at = None
    submission.next_attempt_at = None
    submission.last_error = message
    submission.error_code = code
    submission.save(
        update_fields=[
            "status",
            "claimed_at",
            "next_attempt_at",
            "last_error",
            "error_code",
            "updated_at",
        ]
    )
    logger.warning("Lead submission %s failed (%s)", submission.pk, code)
    notices.failed(submission, code, message)
    return Outcome(Status.FAILED, message=message)
