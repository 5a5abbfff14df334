"""Starting and carrying on sync runs: create a run, claim it, give it a client, and take
its steps here (the CLI) or one Huey task at a time (docs/architecture.md, "A sync").

The claim and the steps themselves are wagtail_xpm/sync/runs.py and sync/steps.py; this
module wires them to the client factory and the background queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import timezone

from .. import background
from ..connection.factory import client_for
from ..models import SyncRun, XpmConnection
from ..xpm.client import XpmClient
from ..xpm.errors import XpmError
from . import runs, steps

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def new_sync_run(
    connection: XpmConnection,
    *,
    trigger: str,
    user: AbstractBaseUser | None = None,
    full: bool = False,
    dry_run: bool = False,
    reconcile: bool = False,
) -> SyncRun:
    return SyncRun.objects.create(
        connection=connection,
        trigger=trigger,
        triggered_by=user if user is not None and user.pk else None,
        full=full,
        dry_run=dry_run,
        reconcile=reconcile and not full,
    )


def run_sync(
    connection: XpmConnection,
    *,
    trigger: str = "cli",
    user: AbstractBaseUser | None = None,
    full: bool = False,
    dry_run: bool = False,
    reconcile: bool = False,
) -> SyncRun:
    """Run a sync now, in this process (the CLI); raises SyncAlreadyRunning.

    ``reconcile`` also finds clients deleted in XPM (a light check of XPM's live client
    list); ``full`` re-reads every client in detail, which finds them too.
    """
    run = new_sync_run(
        connection, trigger=trigger, user=user, full=full, dry_run=dry_run, reconcile=reconcile
    )
    return execute_sync_run(run.pk)


def _claim_sync_run(run_id: int) -> SyncRun | None:
    """The queued run, claimed (raises SyncAlreadyRunning), or None if it already ended."""
    run = SyncRun.objects.select_related("connection__site").get(pk=run_id)
    if run.is_finished:
        return None  # a duplicate delivery of the task: nothing to do
    try:
        runs.claim(run)
    except runs.SyncAlreadyRunning as exc:
        if exc.running.pk != run.pk:  # else a duplicate delivery: the run is someone else's
            run.status = SyncRun.Status.SKIPPED
            run.finished_at = timezone.now()
            run.message = str(exc)
            run.save(update_fields=["status", "finished_at", "message"])
        raise
    return run


def _sync_client(run: SyncRun, **kwargs) -> XpmClient | None:
    """The run's XPM client, or None with the run recorded as failed."""
    try:
        return client_for(run.connection, **kwargs)
    except XpmError as exc:
        run.status = SyncRun.Status.FAILED
        run.finished_at = timezone.now()
        run.message = str(exc)
        run.save(update_fields=["status", "finished_at", "message"])
        return None


def execute_sync_run(run_id: int) -> SyncRun:
    """Claim and run a queued sync to the end in this process (the CLI, tests)."""
    run = _claim_sync_run(run_id)
    if run is None:
        return SyncRun.objects.get(pk=run_id)
    client = _sync_client(run)
    if client is None:
        return run
    return runs.execute(run, client)


def start_sync_run(run_id: int) -> SyncRun:
    """Claim a queued sync and take its first steps (the ``sync_connection`` task); the rest
    follows in ``sync_step`` tasks, queued for when XPM's minute budget allows."""
    run = _claim_sync_run(run_id)
    if run is None:
        return SyncRun.objects.get(pk=run_id)
    return _work_on(run)


def continue_sync_run(run_id: int, seq: int) -> SyncRun | None:
    """Take the next steps of a running sync (the ``sync_step`` task); None when the step
    was not this task's to take (a repeated delivery, or the run ended or was taken over)."""
    if not steps.claim_step(run_id, seq):
        return None
    run = SyncRun.objects.select_related("connection__site").get(pk=run_id)
    return _work_on(run)


def _work_on(run: SyncRun) -> SyncRun:
    client = _sync_client(run, max_minute_wait=steps.STEP_MAX_MINUTE_WAIT)
    if client is None:
        steps.discard(run)
        return run
    following = runs.work(run, client)
    if following is not None:
        seq, delay = following
        background.enqueue("sync_step", run.pk, seq, delay=delay)
    return run
