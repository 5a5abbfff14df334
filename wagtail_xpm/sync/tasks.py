"""Huey tasks for syncs: thin, id-based adapters around ``services`` (the facade:
docs/architecture.md, "A sync, from the schedule to the contacts table")."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from .. import background, priorities, services
from .runs import SyncAlreadyRunning


@db_task(priority=priorities.sync_step())
def sync_connection(run_id: int) -> str:
    """Start one queued sync: its first steps, the rest queued as ``sync_step`` tasks.
    Idempotent: a finished or concurrently running run is left alone."""
    try:
        return services.start_sync_run(run_id).status
    except SyncAlreadyRunning:
        return "skipped"


background.register("sync_connection", sync_connection)


@db_task(priority=priorities.sync_step())
def sync_step(run_id: int, seq: int) -> str:
    """The next steps of a running sync, once XPM's minute budget allows them (the worker
    is never held while the budget refills: wagtail_xpm/sync/steps.py)."""
    run = services.continue_sync_run(run_id, seq)
    return "skipped" if run is None else run.status


background.register("sync_step", sync_step)


@db_periodic_task(crontab(minute="*/5"), priority=priorities.short())
def schedule_syncs() -> None:
    """Every five minutes: queue syncs whose per-site interval has passed."""
    services.schedule_due_syncs()
