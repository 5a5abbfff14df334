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

from wagtail_xpm import services, tasks
from wagtail_xpm.models import FieldMapping, PracticeClient, SyncRun, SyncRunState
from wagtail_xpm.sync import runs, steps
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
    monkeypatch.setattr(services, "rate_limiter", lambda: limiter)
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
