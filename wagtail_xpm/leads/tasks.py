"""Huey tasks for website leads: thin, id-based adapters around ``pipeline``.

``deliver_lead`` may run twice for one row (the sweeper and a retry can both queue it):
the pipeline's claim lets one of them work and the other return at once.
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from .. import background, priorities, services
from . import pipeline

logger = logging.getLogger(__name__)


@db_task(priority=priorities.short())
def deliver_lead(submission_id: int) -> str:
    """One delivery attempt; a retryable problem schedules the next one itself."""
    outcome = pipeline.deliver(submission_id, client_factory=services.client_for)
    if outcome.retry_in is not None:
        from .intake import enqueue

        # The sweeper is the safety net should this scheduled task be lost.
        enqueue(submission_id, delay=outcome.retry_in)
    return outcome.status


background.register("deliver_lead", deliver_lead)


@db_periodic_task(crontab(minute="*/2"), priority=priorities.short())
def sweep_leads() -> dict:
    """Every two minutes: queue pending rows that are due, revive interrupted deliveries and
    failures whose cause was fixed (a lead owner chosen, the site reconnected)."""
    from .intake import enqueue

    result = pipeline.sweep()
    for submission_id in result.due:
        enqueue(submission_id)
    if result.due or result.requeued_stuck or result.healed:
        logger.info(
            "Lead sweep: %d queued, %d interrupted, %d unblocked",
            len(result.due),
            len(result.requeued_stuck),
            len(result.healed),
        )
    return {
        "queued": len(result.due),
        "interrupted": len(result.requeued_stuck),
        "unblocked": len(result.healed),
    }
