"""Huey tasks for campaign emails (imported, and so registered, by ``WagtailXpmConfig.ready``)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from .. import background, priorities
from . import send


@db_task(priority=priorities.short())
def send_campaign(campaign_id: int) -> str:
    """Send (or carry on sending) one campaign. Idempotent: the campaign's lease lets one
    worker send it, and rows already sent or claimed are never sent again."""
    return send.run_campaign(campaign_id).status


background.register("send_campaign", send_campaign)


@db_periodic_task(crontab(minute="*"), priority=priorities.short())
def send_due_campaigns() -> None:
    """Every minute: start scheduled campaigns that are due, pick up abandoned sends."""
    for campaign_id in send.due_campaign_ids():
        send_campaign(campaign_id)
