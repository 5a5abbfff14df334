"""A sync is a chain of short steps that never hold a worker while XPM's minute budget
refills (wagtail_xpm/sync/steps.py): real Huey (the test settings' MemoryHuey), the real
XPM client over HTTP against the sandbox, and a limiter of 10 calls a minute whose clock the
test moves, so a minute passes without being waited for.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import F
from huey.contrib.djhuey import HUEY
from sandbox_edits import active_clients, hard_delete

from wagtail_xpm import services
from wagtail_xpm.connection import factory
from wagtail_xpm.models import FieldMapping, PracticeClient, SyncRun, SyncRunState
from wagtail_xpm.sync import reconcile, runs, steps, tasks
from wagtail_xpm.xpm.ratelimit import InMemoryRateLimiter

# Committed data: a later step's first call may come from a custom-field reader thread,
# whose own database connection loads the token (as in production).
pytestmark = pytest.mark.django_db(transaction=True)

PER_MINUTE = 10


class Clock:
    """The limiter's clock: real time plus what the test moved it on by."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch, xpm_settings):
    clock = Clock()
    limiter = InMemoryRateLimiter(per_minute=PER_MINUTE, clock=clock, sleep=clock.sleep)
    monkeypatch.setattr(factory, "rate_limiter", lambda: limiter)
    HUEY.storage.flush_all()
    yield clock
    HUEY.storage.flush_all()


@pytest.fixture
def custom_field(connected_site):
    # One XPM call per client: 25 clients need three minutes at 10 calls a minute.
    return FieldMapping.objects.create(
        connection=connected_site, source="custom:Plan Level", key="plan_level", label="Plan"
    )


def scheduled_steps() -> list:
    return [task for task in HUEY.scheduled() if task.name == "sync_step"]


def take_next_step(clock: Clock) -> tuple[str, float]:
    """Let the minute pass, then run the one scheduled step as a consumer would; returns
    what the task returned and how long it held its worker."""
    (task,) = scheduled_steps()
    HUEY.storage.flush_schedule()
    clock.offset += 61
    began = time.monotonic()
    value = tasks.sync_step.call_local(*task.args)
    return value, time.monotonic() - began


def test_a_step_hands_its_worker_back_when_the_minute_budget_is_spent(
    connected_site, custom_field, clock
):
    run = services.new_sync_run(connected_site, trigger="schedule")
    began = time.monotonic()
    assert tasks.sync_connection.call_local(run.pk) == "running"
    held = time.monotonic() - began
    run.refresh_from_db()

    # The list and 9 custom-field reads: the budget is spent, and nothing slept for it.
    assert run.api_calls == PER_MINUTE
    assert clock.sleeps == []
    assert held < 10
    assert run.status == SyncRun.Status.RUNNING and run.heartbeat_at is not None
    assert run.custom_fields_fetched == PER_MINUTE - 1
    # The next step is queued for when the budget allows, with an ETA, not slept for.
    (step,) = scheduled_steps()
    assert step.args[0] == run.pk
    assert 30 < (step.eta - datetime.now(UTC).replace(tzinfo=None)).total_seconds() <= 61
    state = SyncRunState.objects.get(run=run)
    assert state.engine["step"] == "custom"
    assert len(state.seen) == run.clients_seen > 0

    holds = [held]
    while scheduled_steps():
        value, held = take_next_step(clock)
        holds.append(held)
        assert value in ("running", "succeeded")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert run.custom_fields_pending == 0
    read = run.report["custom_fields"]
    assert run.custom_fields_fetched == read["owed"] + read["owed_others"] > PER_MINUTE
    assert not SyncRunState.objects.filter(run=run).exists()
    assert clock.sleeps == []
    assert max(holds) < 10, holds
    # Every client someone can be emailed at has its values, read once.
    assert not PracticeClient.objects.filter(
        connection=connected_site, custom_fields_pending=True
    ).exists()
    assert len(holds) >= 3


def test_a_repeated_step_runs_once_and_a_second_sync_is_refused_meanwhile(
    connected_site, custom_field, clock
):
    run = services.new_sync_run(connected_site, trigger="schedule")
    tasks.sync_connection.call_local(run.pk)
    (step,) = scheduled_steps()

    # Between steps the run holds its practice: no second sync starts.
    assert services.schedule_due_syncs() == []
    other = services.new_sync_run(connected_site, trigger="admin")
    assert tasks.sync_connection.call_local(other.pk) == "skipped"
    other.refresh_from_db()
    assert other.status == SyncRun.Status.SKIPPED

    # The same step delivered twice: the second delivery does nothing.
    clock.offset += 61
    HUEY.storage.flush_schedule()
    calls = SyncRun.objects.get(pk=run.pk).api_calls
    assert tasks.sync_step.call_local(*step.args) == "running"
    after_first = SyncRun.objects.get(pk=run.pk).api_calls
    assert after_first > calls
    assert tasks.sync_step.call_local(*step.args) == "skipped"
    assert SyncRun.objects.get(pk=run.pk).api_calls == after_first


def test_a_chain_whose_worker_died_is_resumed_from_its_last_step(
    connected_site, custom_field, clock
):
    run = services.new_sync_run(connected_site, trigger="schedule")
    tasks.sync_connection.call_local(run.pk)
    (step,) = scheduled_steps()
    HUEY.storage.flush_schedule()
    # A worker takes the step and dies (SIGKILL) before it saves anything.
    assert steps.claim_step(*step.args)
    read_before = SyncRun.objects.get(pk=run.pk).custom_fields_fetched

    # While the heartbeat is fresh nothing happens; once stale, the scheduler resumes the
    # same run from its saved step (no new run, the list is not read again).
    assert services.schedule_due_syncs() == []
    SyncRun.objects.filter(pk=run.pk).update(
        heartbeat_at=F("heartbeat_at") - runs.STALE_AFTER - timedelta(minutes=1)
    )
    clock.offset += 61
    assert services.schedule_due_syncs() == [run.pk]
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RUNNING
    assert run.custom_fields_fetched > read_before
    while scheduled_steps():
        take_next_step(clock)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert SyncRun.objects.filter(connection=connected_site).count() == 1
    assert run.usage["list"]["calls"] == 1
    assert run.custom_fields_pending == 0


def test_the_command_line_sync_drives_the_same_steps_waiting_in_process(
    connected_site, custom_field, clock
):
    # xpm_sync runs in the foreground: where a task would be queued for later, it waits
    # (here the limiter's clock moves on instead of sleeping).
    run = services.run_sync(connected_site, trigger="cli")
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert run.custom_fields_pending == 0
    assert sum(clock.sleeps) > 100  # two minutes waited for, in the limiter
    assert scheduled_steps() == []
    assert not SyncRunState.objects.exists()


def reconciling_steps(connected_site, clock, run) -> list[dict]:
    """Take a reconciling run's steps to the end; what the reconciliation had kept at each
    pause."""
    assert tasks.sync_connection.call_local(run.pk) == "running"
    kept = []
    while scheduled_steps():
        state = SyncRunState.objects.get(run=run).engine
        if state["step"] == "reconcile":
            kept.append(state["reconciling"])
        take_next_step(clock)
    return kept


@pytest.fixture
def deleted_in_xpm(connected_site, clock, running_sandbox, monkeypatch):
    """A synced practice with two clients since deleted in XPM, and a paged-list of one
    client a page, so the check needs two minutes' budget and more."""
    sandbox = running_sandbox.sandbox
    assert services.run_sync(connected_site, trigger="cli").status == SyncRun.Status.SUCCEEDED
    live = [c for c in active_clients(sandbox) if not c.is_archived]
    gone = live[3:5]
    for client in gone:
        hard_delete(sandbox, client)
    monkeypatch.setattr(reconcile, "PAGE_SIZE", 1)
    sandbox.reset_stats()
    return sandbox, {c.uuid for c in gone}, len(live) - len(gone)


def test_a_paused_reconciliation_carries_on_from_its_next_page(
    connected_site, clock, deleted_in_xpm
):
    sandbox, gone, pages = deleted_in_xpm
    run = services.new_sync_run(connected_site, trigger="schedule", reconcile=True)
    kept = reconciling_steps(connected_site, clock, run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert run.reconcile_completed

    # It paused several times in its pages, each time further on, and kept no UUID list.
    paused_in_pages = [state for state in kept if state["queue"] is None]
    assert len(paused_in_pages) >= 2
    assert [s["pages"] for s in paused_in_pages] == sorted({s["pages"] for s in paused_in_pages})
    for state in paused_in_pages:
        seen_known = reconcile.ranges_to_set(state["live_pks"])
        assert state["token"] and len(seen_known) + len(state["back"]) == state["live"]
    # Row ids as ranges: a practice's 60,000 clients synced together take a pair of numbers.
    assert reconcile.set_to_ranges(set(range(7, 60_007)) - {100}) == [[7, 99], [101, 60_006]]
    # Every page read once, and the clients that disappeared read in detail once each.
    assert sandbox.calls_by_endpoint["client.api/paged-list"] == pages
    assert sandbox.calls_by_endpoint["client.api/get/{id}"] == len(gone)
    assert {c["client_id"] for c in run.report["clients_missing"]} == gone
    assert (
        set(
            PracticeClient.objects.filter(connection=connected_site, is_missing=True).values_list(
                "uuid", flat=True
            )
        )
        == gone
    )


def test_a_reconciliation_whose_page_token_xpm_refuses_starts_again(
    connected_site, clock, deleted_in_xpm
):
    sandbox, gone, pages = deleted_in_xpm
    run = services.new_sync_run(connected_site, trigger="schedule", reconcile=True)
    assert tasks.sync_connection.call_local(run.pk) == "running"
    state = SyncRunState.objects.get(run=run)
    assert state.engine["step"] == "reconcile" and state.engine["reconciling"]["token"]
    read_before = sandbox.calls_by_endpoint["client.api/paged-list"]
    # XPM no longer knows the token (tokens are opaque and may expire between steps).
    state.engine["reconciling"]["token"] = "expired"
    state.save(update_fields=["engine"])

    while scheduled_steps():
        take_next_step(clock)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert any("started again from the first page" in note for note in run.report["notes"])
    # The refused call, then every page from the first.
    assert sandbox.calls_by_endpoint["client.api/paged-list"] == read_before + 1 + pages
    assert {c["client_id"] for c in run.report["clients_missing"]} == gone
