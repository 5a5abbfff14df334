"""The sync schedule: queue a run for every site that is due, and decide when a run should
also look for clients deleted in XPM (docs/architecture.md, "A sync")."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone

from .. import background
from ..models import SyncRun, XpmConnection, XpmSiteSettings
from . import runs
from .running import new_sync_run

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def enqueue_sync(
    connection: XpmConnection,
    *,
    trigger: str,
    user: AbstractBaseUser | None = None,
    full: bool = False,
    dry_run: bool = False,
    reconcile: bool = False,
) -> SyncRun:
    """Queue a sync for the Huey consumer and return its (queued) run."""
    run = new_sync_run(
        connection, trigger=trigger, user=user, full=full, dry_run=dry_run, reconcile=reconcile
    )
    background.enqueue_on_commit("sync_connection", run.pk)
    return run


def last_reconciled(connection: XpmConnection) -> datetime | None:
    """When XPM's whole live client list was last compared with this site's clients (a
    reconciliation, or a full run), or None."""
    return (
        SyncRun.objects.filter(connection=connection, dry_run=False)
        .filter(Q(reconcile_completed=True) | Q(full=True, list_completed=True))
        .order_by("-list_started_at")
        .values_list("list_started_at", flat=True)
        .first()
    )


def needs_reconcile(
    connection: XpmConnection, site_settings: XpmSiteSettings | None = None
) -> bool:
    """Whether the next scheduled run should look for clients deleted in XPM.

    Due one sync interval early, so a client deleted just after a check is found within
    the site's ``reconcile_every_days`` rather than a run later.
    """
    site_settings = site_settings or XpmSiteSettings.for_site(connection.site)
    last = last_reconciled(connection)
    if last is None:
        return True
    every = timedelta(days=site_settings.reconcile_every_days)
    interval = timedelta(minutes=site_settings.sync_interval_minutes)
    return last <= timezone.now() - max(every - interval, every / 2)


def schedule_due_syncs() -> list[int]:
    """Queue a sync for every connected site whose interval has passed, and the next step of
    a chained sync whose worker died; returns run ids. Every due practice is queued at once:
    their steps take turns on the workers (sync/steps.py)."""
    queued = []
    for connection in XpmConnection.objects.filter(status=XpmConnection.Status.CONNECTED):
        site_settings = XpmSiteSettings.for_site(connection.site)
        if not site_settings.sync_enabled:
            continue
        last = SyncRun.objects.filter(connection=connection).order_by("-created_at").first()
        if last is not None and last.status == SyncRun.Status.RUNNING and not runs.is_live(last):
            # A chain whose worker died: carry on from its last step (sync/steps.py).
            seq = runs.resume(last)
            if seq is not None:
                background.enqueue("sync_step", last.pk, seq)
                queued.append(last.pk)
                continue
        interval = timedelta(minutes=site_settings.sync_interval_minutes)
        # A run whose worker died stops counting once stale (its successor takes over).
        if last is not None and (runs.is_live(last) or last.created_at > timezone.now() - interval):
            continue
        run = enqueue_sync(
            connection,
            trigger="schedule",
            reconcile=needs_reconcile(connection, site_settings),
        )
        queued.append(run.pk)
    return queued
