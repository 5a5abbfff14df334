"""Huey tasks: thin, id-based wrappers around services."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import background, bulkexport, services
from .models import XpmConnection
from .sync.runs import SyncAlreadyRunning


@db_task()
def check_connection(connection_id: int) -> bool:
    connection = XpmConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return False
    return services.check_connection(connection).ok


@db_task()
def sync_connection(run_id: int) -> str:
    """Run one queued sync. Idempotent: a finished or concurrently running run is left alone."""
    try:
        return services.execute_sync_run(run_id).status
    except SyncAlreadyRunning:
        return "skipped"


background.register("sync_connection", sync_connection)


@db_periodic_task(crontab(minute="*/5"))
def schedule_syncs() -> None:
    """Every five minutes: queue syncs whose per-site interval has passed."""
    services.schedule_due_syncs()


@db_periodic_task(crontab(minute="17", hour="3"))
def keep_tokens_fresh() -> None:
    """Daily: refresh idle connections so their 60-day refresh tokens never lapse."""
    services.keep_tokens_fresh()


@db_task()
def write_contact_export(export_id: int) -> str:
    """Write one background contacts export (wagtail_xpm/bulkexport.py); a duplicate
    delivery finds it no longer queued and does nothing."""
    from .views import contact_exports

    export = contact_exports.run(export_id)
    return export.status if export is not None else "skipped"


background.register(bulkexport.TASK, write_contact_export)


@db_periodic_task(crontab(minute="41"))
def expire_contact_exports() -> None:
    """Hourly: delete background exports (files and rows) past EXPORT_KEEP_FOR."""
    bulkexport.expire()
