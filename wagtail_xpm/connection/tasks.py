"""Huey tasks for the Xero connection: thin, id-based adapters around ``services``."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from .. import priorities, services
from ..models import XpmConnection


@db_task(priority=priorities.short())
def check_connection(connection_id: int) -> bool:
    connection = XpmConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return False
    return services.check_connection(connection).ok


@db_periodic_task(crontab(minute="17", hour="3"), priority=priorities.short())
def keep_tokens_fresh() -> None:
    """Daily: refresh idle connections so their 60-day refresh tokens never lapse."""
    services.keep_tokens_fresh()
