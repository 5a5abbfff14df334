"""One sync per connection, recovery from a dead worker, and the Huey tasks around syncs."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.db import connections
from django.utils import timezone

from wagtail_xpm import services
from wagtail_xpm.models import Contact, ContactClientLink, FieldMapping, SyncRun, XpmSiteSettings
from wagtail_xpm.sync import runs, tasks
from wagtail_xpm.xpm.client import XpmClient

pytestmark = pytest.mark.django_db


def data_snapshot():
    return (
        sorted(Contact.objects.values_list("xpm_contact_id", "xpm_client_id", "email", "data")),
        sorted(ContactClientLink.objects.values_list("xpm_contact_id", "client__uuid")),
    )


def test_a_second_sync_is_refused_while_one_runs(connected_site):
    running = services.new_sync_run(connected_site, trigger="admin")
    runs.claim(running)
    with pytest.raises(runs.SyncAlreadyRunning, match="already running"):
        services.run_sync(connected_site)
    refused = SyncRun.objects.exclude(pk=running.pk).get()
    assert refused.status == SyncRun.Status.SKIPPED
    assert not Contact.objects.exists()


def test_a_dead_workers_run_is_taken_over_and_the_rerun_converges(
    sync, connected_site, running_sandbox, monkeypatch
):
    FieldMapping.objects.create(
        connection=connected_site, source="custom:Plan Level", key="plan_level", label="Plan"
    )
    # The worker dies half-way through reading custom fields (a crash, not an XPM error):
    # nothing after the crash point runs, not even the run's own bookkeeping.
    calls = {"n": 0}
    original = XpmClient.client_custom_fields

    def dies_after_ten(self, uuid):
        calls["n"] += 1
        if calls["n"] > 10:
            raise SystemExit("worker killed")
        return original(self, uuid)

    monkeypatch.setattr(XpmClient, "client_custom_fields", dies_after_ten)
    monkeypatch.setattr(runs, "execute", _without_finally(runs.execute))
    with pytest.raises(SystemExit):
        sync()
    dead = SyncRun.objects.get()
    assert dead.status == SyncRun.Status.RUNNING  # as a killed process would leave it
    monkeypatch.undo()

    # While its heartbeat is fresh the dead run still blocks others...
    with pytest.raises(runs.SyncAlreadyRunning):
        sync()
    # ...once it is stale, the next sync takes over and finishes the job.
    SyncRun.objects.filter(pk=dead.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    resumed = sync()
    dead.refresh_from_db()
    assert dead.status == SyncRun.Status.ABANDONED
    assert resumed.status == SyncRun.Status.SUCCEEDED
    after_crash = data_snapshot()

    # Same data as one clean run into an empty CRM.
    Contact.objects.all().delete()
    connected_site.practice_clients.all().delete()
    running_sandbox.sandbox.reset_rate_limits()
    clean = sync(full=True)
    assert clean.status == SyncRun.Status.SUCCEEDED
    assert data_snapshot() == after_crash


def _without_finally(execute):
    """runs.execute, but a SystemExit skips the bookkeeping (like SIGKILL would)."""

    def run(run, client):
        from wagtail_xpm.sync.engine import SyncEngine, SyncOptions

        engine = SyncEngine(
            connection=run.connection,
            client=client,
            run=run,
            options=SyncOptions(full=run.full, dry_run=run.dry_run),
            on_progress=runs.save_progress,
        )
        return engine.execute()

    return run


def test_sync_now_runs_through_huey_and_records_progress(
    connected_site, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        queued = services.enqueue_sync(connected_site, trigger="admin")
    queued.refresh_from_db()
    assert queued.status == SyncRun.Status.SUCCEEDED
    assert queued.created == Contact.objects.count() > 0
    assert queued.heartbeat_at is not None and queued.list_completed
    assert queued.finished_at >= queued.started_at
    # A duplicate delivery of the same task does nothing.
    assert tasks.sync_connection(queued.pk).get() == SyncRun.Status.SUCCEEDED
    assert SyncRun.objects.count() == 1


def test_dry_run_reports_without_writing(connected_site):
    run = services.run_sync(connected_site, dry_run=True)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.created > 0
    assert len(run.report["dry_run"]["create"]) == min(run.created, 50)
    assert not Contact.objects.exists()
    # A dry run does not move the watermark: the next real run is a full one.
    assert services.run_sync(connected_site).full


def test_schedule_queues_due_connections_only(connected_site, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.schedule_due_syncs()
    assert len(first) == 1
    assert SyncRun.objects.get(pk=first[0]).full  # never synced: a full run
    with django_capture_on_commit_callbacks(execute=True):
        assert services.schedule_due_syncs() == []  # interval not reached
    SyncRun.objects.update(created_at=timezone.now() - timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        again = services.schedule_due_syncs()
    assert len(again) == 1 and not SyncRun.objects.get(pk=again[0]).full
    site_settings = XpmSiteSettings.for_site(connected_site.site)
    site_settings.sync_enabled = False
    site_settings.save()
    SyncRun.objects.update(created_at=timezone.now() - timedelta(hours=3))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.schedule_due_syncs() == []


@pytest.mark.django_db(transaction=True)
def test_two_syncs_started_at_once_run_once(connected_site):
    if db_connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL (set DATABASE_URL)")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def start():
        try:
            barrier.wait(timeout=10)
            outcomes.append(services.run_sync(connected_site).status)
        except runs.SyncAlreadyRunning:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) in (["refused", "succeeded"], ["succeeded", "succeeded"])
    # If both ran, they ran one after the other, never at the same time.
    succeeded = SyncRun.objects.filter(status="succeeded").order_by("started_at")
    if succeeded.count() == 2:
        assert succeeded[0].finished_at <= succeeded[1].started_at
    assert Contact.objects.values("xpm_contact_id").distinct().count() == Contact.objects.count()


def test_failed_syncs_and_low_budgets_notify(connected_site, running_sandbox):
    from wagtail_xpm import notifications

    heard: list[tuple[str, dict]] = []

    def listener(event, **data):
        heard.append((event, data))

    notifications.subscribe(listener)
    try:
        running_sandbox.sandbox.faults.outage(20)  # XPM down for the whole run
        failed = services.run_sync(connected_site)
        running_sandbox.sandbox.faults.reset()
    finally:
        notifications.unsubscribe(listener)
    assert failed.status == SyncRun.Status.FAILED
    assert [event for event, _ in heard] == ["sync_failed"]
    assert heard[0][1]["run"] == failed and heard[0][1]["reason"] == failed.message


def test_planner_statistics_are_refreshed_after_a_large_run(db):
    """PostgreSQL only (a no-op elsewhere): the tables a first sync filled are analysed."""
    from wagtail_xpm.sync.apply import refresh_planner_statistics

    refresh_planner_statistics()
    if db_connection.vendor != "postgresql":
        return
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL "
            "AND relname IN ('wagtail_xpm_contact', 'wagtail_xpm_contactclientlink', "
            "'wagtail_xpm_practiceclient')"
        )
        analysed = {name for (name,) in cursor.fetchall()}
    assert analysed == {
        "wagtail_xpm_contact",
        "wagtail_xpm_contactclientlink",
        "wagtail_xpm_practiceclient",
    }
