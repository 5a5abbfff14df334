"""Starting, guarding and finishing sync runs (one running sync per connection)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import fieldvalues
from ..conf import get_setting
from ..connection import budget
from ..models import SyncRun, SyncRunState, XpmConnection, XpmSiteSettings
from ..xpm.client import XpmClient
from . import steps
from .engine import SyncEngine, SyncOptions, SyncPaused

logger = logging.getLogger(__name__)

# A running sync whose heartbeat is older than this has lost its worker.
STALE_AFTER = timedelta(minutes=10)
PROGRESS_FIELDS = [
    "phase", "progress_done", "progress_total", "clients_seen", "custom_fields_fetched",
    "api_calls", "bytes_downloaded", "heartbeat_at", "list_started_at", "modified_since", "full",
    "mapping_signature",
]  # fmt: skip
FINAL_FIELDS = [
    *PROGRESS_FIELDS, "status", "finished_at", "list_completed", "created", "updated",
    "unchanged", "skipped_duplicates", "archived", "custom_fields_pending", "reconcile_completed",
    "clients_missing",
    "day_calls_remaining", "message", "errors", "report", "usage",
]  # fmt: skip


class SyncAlreadyRunning(Exception):
    """Another sync of the same connection is running; this one was not started."""

    def __init__(self, running: SyncRun) -> None:
        self.running = running
        started = timezone.localtime(running.started_at or running.created_at)
        super().__init__(
            _(
                "A sync of this practice is already running (started %(time)s); try again "
                "when it finishes."
            )
            % {"time": f"{started:%H:%M}"}
        )


def is_live(run: SyncRun, now: datetime | None = None) -> bool:
    """Whether ``run`` still holds its connection: queued, or running with a fresh heartbeat.

    A worker killed mid-sync (SIGKILL, out of memory, a redeploy) leaves its run queued or
    running for ever; after ``STALE_AFTER`` without a sign of life it no longer blocks the
    next sync (the scheduler's, or the admin's "Sync now").
    """
    now = now or timezone.now()
    if run.status == SyncRun.Status.RUNNING:
        return bool(run.heartbeat_at and run.heartbeat_at > now - STALE_AFTER)
    if run.status == SyncRun.Status.QUEUED:
        return run.created_at > now - STALE_AFTER
    return False


def claim(run: SyncRun) -> SyncRun:
    """Mark ``run`` running, unless another live run holds the connection.

    The check runs under the connection's row lock; the partial unique constraint on running
    runs is the backstop. Runs left behind by a dead worker (see ``is_live``) are marked
    abandoned.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            # Lock the connection's row with a write that changes nothing, not SELECT ... FOR
            # UPDATE: SQLite ignores FOR UPDATE, and there a transaction that reads before it
            # writes fails at once ("database is locked") when another claim does the same.
            # Writing first makes a second claim wait its turn (the busy timeout) instead.
            XpmConnection.objects.filter(pk=run.connection_id).update(updated_at=F("updated_at"))
            current = SyncRun.objects.get(pk=run.pk)
            if current.is_finished or (
                current.status == SyncRun.Status.RUNNING and is_live(current, now)
            ):
                # The same run delivered twice (a queue may repeat a task): it is taken.
                raise SyncAlreadyRunning(current)
            for other in SyncRun.objects.filter(
                connection_id=run.connection_id,
                status__in=[SyncRun.Status.RUNNING, SyncRun.Status.QUEUED],
            ).exclude(pk=run.pk):
                if is_live(other, now):
                    if other.status == SyncRun.Status.RUNNING:
                        raise SyncAlreadyRunning(other)
                    continue  # queued behind us: it runs (incrementally) when its turn comes
                other.status = SyncRun.Status.ABANDONED
                other.finished_at = now
                other.message = _("The worker running this sync stopped; a later sync took over.")
                other.save(update_fields=["status", "finished_at", "message"])
                SyncRunState.objects.filter(run_id=other.pk).delete()
                logger.warning(
                    "Sync run %s abandoned (no heartbeat since %s)", other.pk, other.heartbeat_at
                )
            run.status = SyncRun.Status.RUNNING
            run.started_at = run.heartbeat_at = now
            run.save(update_fields=["status", "started_at", "heartbeat_at"])
    except IntegrityError:
        running = SyncRun.objects.get(connection_id=run.connection_id, status="running")
        raise SyncAlreadyRunning(running) from None
    return run


def resume(run: SyncRun) -> int | None:
    """Take up a chained run whose worker died (its heartbeat is stale) from its last saved
    step, instead of starting over; returns the number its next step's task must claim it
    with, or None when there is nothing to resume (the run is live, over, or never saved a
    step: then the next sync takes over, ``claim``)."""
    now = timezone.now()
    with transaction.atomic():
        # The connection's row lock, as in claim(): a claim and a resume never interleave.
        XpmConnection.objects.filter(pk=run.connection_id).update(updated_at=F("updated_at"))
        current = SyncRun.objects.get(pk=run.pk)
        if current.status != SyncRun.Status.RUNNING or is_live(current, now):
            return None
        if not SyncRunState.objects.filter(run_id=run.pk).update(seq=F("seq") + 1):
            return None
        SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=now)
        logger.warning("Sync run %s resumed (no heartbeat since %s)", run.pk, current.heartbeat_at)
        return SyncRunState.objects.values_list("seq", flat=True).get(run_id=run.pk)


def save_progress(run: SyncRun) -> None:
    SyncRun.objects.filter(pk=run.pk).update(
        **{name: getattr(run, name) for name in PROGRESS_FIELDS}
    )


def _engine(run: SyncRun, client: XpmClient) -> SyncEngine:
    """The run's engine, continuing from its last step if one was saved (steps.py)."""
    site_settings = XpmSiteSettings.for_site(run.connection.site)
    options = SyncOptions(
        full=run.full,
        dry_run=run.dry_run,
        reconcile=run.reconcile,
        reserve=site_settings.daily_call_reserve,
        concurrency=min(5, int(get_setting("CONCURRENCY"))),
        interval=timedelta(minutes=site_settings.sync_interval_minutes),
    )
    engine = SyncEngine(
        connection=run.connection,
        client=client,
        run=run,
        options=options,
        on_progress=save_progress,
    )
    steps.restore(engine)
    return engine


def execute(
    run: SyncRun, client: XpmClient, *, sleep: Callable[[float], None] = time.sleep
) -> SyncRun:
    """Run a claimed sync to the end in this process, waiting where a task would come back
    later (the CLI); records the outcome and never raises XPM errors."""
    try:
        engine = _engine(run, client)
        while True:
            try:
                if engine.advance():
                    break
            except SyncPaused as paused:
                steps.save(engine)
                sleep(paused.retry_after)
    except BaseException:
        _finish(run, completed=False)
        raise
    _finish(run)
    return run


def work(
    run: SyncRun, client: XpmClient, *, slice_seconds: float | None = None
) -> tuple[int, float] | None:
    """Take steps of a claimed run for about ``slice_seconds``, or until XPM's minute budget
    is spent. Returns ``None`` when the run is over (recorded), else the number the next
    step's task must claim it with (``steps.claim_step``) and in how many seconds it is due.
    """
    slice_seconds = steps.TASK_SLICE_SECONDS if slice_seconds is None else slice_seconds
    began = time.monotonic()
    delay = 0.0
    done = False
    try:
        engine = _engine(run, client)
        while not done:
            try:
                done = engine.advance()
            except SyncPaused as paused:
                delay = paused.retry_after
                break
            if time.monotonic() - began >= slice_seconds:
                break  # other practices' steps take their turn
    except BaseException:
        _finish(run, completed=False)
        raise
    if done:
        _finish(run)
        return None
    return steps.save(engine), delay


def _finish(run: SyncRun, *, completed: bool = True) -> None:
    """Record the run's outcome; ``completed`` False when an exception (not an XPM error:
    the engine records those) is on its way up: then only the bookkeeping."""
    run.finished_at = timezone.now()
    if run.status == SyncRun.Status.RUNNING:
        run.status = SyncRun.Status.FAILED
        run.message = run.message or _("The sync stopped unexpectedly.")
    run.save(update_fields=FINAL_FIELDS)
    steps.discard(run)
    if not run.dry_run:
        budget.record(run.connection_id, run.day_calls_remaining, when=run.finished_at)
    if not completed:
        return
    logger.info("Sync run %s finished: %s", run.pk, run.status)
    if not run.dry_run:
        # The listing's filters and the segment builder read the values kept on the
        # mappings: the sync, not the next person to open the listing, pays for them.

        fieldvalues.refresh(run.connection_id)
    _tell_people(run)


def _tell_people(run: SyncRun) -> None:
    """Failed syncs and a daily budget running low need a person (admin email, Slack)."""
    from .. import notifications

    if run.status == SyncRun.Status.FAILED:
        notifications.notify("sync_failed", connection=run.connection, run=run, reason=run.message)
    elif run.status == SyncRun.Status.PARTIAL and run.day_calls_remaining is not None:
        reserve = XpmSiteSettings.for_site(run.connection.site).daily_call_reserve
        notifications.notify(
            "budget_low",
            connection=run.connection,
            run=run,
            remaining=run.day_calls_remaining,
            reserve=reserve,
            reason=run.message,
        )
