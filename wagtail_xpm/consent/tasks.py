"""Huey tasks for marketing consent: thin, id-based adapters around ``optin`` and
``optout_delivery``.

``send_consent_confirmation`` sends the double opt-in email after the form was answered: a dead
or slow mail server must not hold up the visitor's thank-you page (consent/optin.py records a
failure; the person can send the form again).

``deliver_opt_out`` sends an opt-out to XPM; it may run twice for one row (the sweeper and a
retry can both queue it): the claim lets one of them work and the other return at once.
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from .. import background, priorities, services
from . import optin, optout_delivery
from .xpm_optout import TASK

logger = logging.getLogger(__name__)


@db_task()
def send_consent_confirmation(confirmation_id: int) -> str:
    return optin.send(confirmation_id)


background.register(optin.TASK, send_consent_confirmation)


@db_task(priority=priorities.short())
def deliver_opt_out(row_id: int) -> str:
    """One attempt; a retryable problem schedules the next one itself."""
    outcome = optout_delivery.deliver(row_id, client_factory=services.client_for)
    if outcome.retry_in is not None:
        # The sweeper is the safety net should this scheduled task be lost.
        background.enqueue(TASK, row_id, delay=outcome.retry_in)
    return outcome.status


background.register(TASK, deliver_opt_out)


@db_periodic_task(crontab(minute="*/2"), priority=priorities.short())
def sweep_opt_outs() -> dict:
    """Every two minutes: queue due rows and take back rows a dead worker left sending."""
    result = optout_delivery.sweep()
    for row_id in result.due:
        background.enqueue(TASK, row_id)
    if result.due or result.interrupted:
        logger.info(
            "Opt-out sweep: %d queued, %d interrupted", len(result.due), len(result.interrupted)
        )
    return {"queued": len(result.due), "interrupted": len(result.interrupted)}
