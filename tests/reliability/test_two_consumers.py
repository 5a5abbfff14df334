"""Two real Huey consumers handed the same sync: exactly one runs it.

Two ``manage.py run_huey`` processes (one worker each) share a real queue: PriorityRedisHuey
when REDIS_URL is set, else a SqliteHuey file. The test queues the sync tasks straight into that
queue; the database guard in ``wagtail_xpm.sync.runs.claim`` must let exactly one through,
whether the two tasks are two runs of the same practice (the admin and the scheduler at
once) or the same run delivered twice.

The consumers use the test database: PostgreSQL as is; on SQLite the in-memory test
database is copied to a file they open and copied back afterwards (``SharedDatabase``).
"""

from __future__ import annotations

import os
import time
import uuid

import pytest
from django.conf import settings
from huey import PriorityRedisHuey, SqliteHuey

from wagtail_xpm import services
from wagtail_xpm.models import Contact, SyncRun
from wagtail_xpm.sync import tasks

from .processes import FORK, Consumer, SharedDatabase, Worker

pytestmark = pytest.mark.django_db(transaction=True)

# The first sync's client list is slowed so the second task arrives while it runs.
LIST_SECONDS = 1.5
EXECUTING = "Executing wagtail_xpm.sync.tasks.sync_connection"


@pytest.fixture
def shared(tmp_path) -> SharedDatabase:
    return SharedDatabase(tmp_path)


@pytest.fixture
def queue(tmp_path):
    """A queue of its own, the one the consumers read."""
    name = f"wagtail_xpm_test_{uuid.uuid4().hex[:8]}"
    if settings.REDIS_URL:
        huey = PriorityRedisHuey(name, url=settings.REDIS_URL)
    else:
        huey = SqliteHuey(name, filename=str(tmp_path / "huey.sqlite3"))
    yield huey
    huey.storage.flush_all()


@pytest.fixture
def start_consumers(queue, running_sandbox, shared, tmp_path):
    """Starts two consumers on ``queue``; they are always stopped at the end."""
    started: list[Consumer] = []
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.reliability.consumer_settings",
        "DATABASE_URL": shared.url(),
        "XPM_TEST_HUEY_NAME": queue.name,
        "XPM_TEST_HUEY_FILE": str(tmp_path / "huey.sqlite3"),
        "XPM_TEST_SANDBOX_URL": running_sandbox.url,
        "VAR_DIR": str(tmp_path / "var"),
    }

    def start() -> tuple[list[Consumer], float]:
        began = time.monotonic()
        for n in (1, 2):
            started.append(Consumer(f"consumer {n}", env, tmp_path / f"consumer-{n}.log"))
        deadline = began + 60
        for consumer in started:
            consumer.wait_started(deadline)
        return started, time.monotonic() - began

    try:
        yield start
    finally:
        for consumer in started:
            consumer.stop()


def put(queue, run_id: int) -> str:
    """Queue ``sync_connection(run_id)`` on the consumers' queue; returns the task id."""
    task = tasks.sync_connection.s(run_id)
    queue.storage.enqueue(tasks.sync_connection.huey.serialize_task(task), task.priority)
    return task.id


def results(queue, task_ids: list[str]) -> tuple[list[str], float]:
    """The tasks' return values (waiting at most 60 s) and how long they took to arrive."""
    began = time.monotonic()
    values = [queue.result(task_id, blocking=True, timeout=60) for task_id in task_ids]
    return values, time.monotonic() - began


def executions(consumers: list[Consumer]) -> list[int]:
    return [consumer.output().count(EXECUTING) for consumer in consumers]


@pytest.mark.parametrize("same_run", [False, True], ids=["two-runs", "one-run-twice"])
def test_two_consumers_given_the_same_sync_run_it_once(
    same_run, connected_site, running_sandbox, queue, shared, start_consumers, measured
):
    sandbox = running_sandbox.sandbox
    first = services.new_sync_run(connected_site, trigger="schedule")
    second = first if same_run else services.new_sync_run(connected_site, trigger="admin")
    sandbox.faults.slow(LIST_SECONDS, path="client.api/list")
    sandbox.reset_stats()
    shared.export()
    consumers, startup = start_consumers()

    task_ids = [put(queue, first.pk), put(queue, second.pk)]
    values, waited = results(queue, task_ids)
    values = [str(value) for value in values]
    shared.import_()

    assert sorted(values) == ["skipped", "succeeded"], values
    # Each consumer took one of the tasks: the two really ran at the same time.
    assert executions(consumers) == [1, 1], [c.output() for c in consumers]
    # Only one sync read XPM.
    assert sandbox.calls_by_path["client.api/list"] == 1
    runs = {run.pk: run for run in SyncRun.objects.filter(connection=connected_site)}
    assert len(runs) == (1 if same_run else 2)
    winner = next(run for run in runs.values() if run.status == SyncRun.Status.SUCCEEDED)
    assert winner.created == Contact.objects.filter(connection=connected_site).count() > 0
    if not same_run:
        loser = next(run for run in runs.values() if run.pk != winner.pk)
        assert loser.status == SyncRun.Status.SKIPPED
        assert "already running" in loser.message
        assert loser.finished_at < winner.finished_at  # refused while the winner ran
    measured("consumers", f"2 started in {startup:.1f}s, one task each: {values}")
    measured(
        "timings",
        f"both results in {waited:.2f}s; winning run took "
        f"{(winner.finished_at - winner.started_at).total_seconds():.2f}s "
        f"(client list slowed to {LIST_SECONDS}s)",
    )
    if not same_run:
        refused_after = (loser.finished_at - winner.started_at).total_seconds()
        measured("refusal", f"run {loser.pk} skipped {refused_after:.2f}s after the winner started")


def claim_in_worker(run_id: int, barrier, outcomes) -> None:
    barrier.wait(timeout=30)
    try:
        outcomes.put(str(tasks.sync_connection.call_local(run_id)))
    except Exception as exc:  # noqa: BLE001 - reported to the test, which asserts there are none
        outcomes.put(repr(exc))


def test_two_workers_claiming_the_same_practice_at_the_same_instant_one_wins(
    connected_site, shared, measured
):
    """The consumers above rarely claim in the same millisecond; here a barrier makes
    two worker processes do it, round after round (SQLite used to answer "database is
    locked" to the loser instead of refusing it)."""
    rounds = 10
    started = time.monotonic()
    for _ in range(rounds):
        SyncRun.objects.filter(connection=connected_site).delete()
        runs = [services.new_sync_run(connected_site, trigger="schedule") for _ in range(2)]
        barrier, outcomes = FORK.Barrier(2), FORK.Queue()
        shared.export()
        workers = [Worker(shared, claim_in_worker, run.pk, barrier, outcomes) for run in runs]
        try:
            for worker in workers:
                worker.go()
            values = sorted(outcomes.get(timeout=60) for _ in workers)
            assert [worker.join(timeout=30) for worker in workers] == [0, 0]
        finally:
            for worker in workers:
                worker.kill()
        shared.import_()

        assert values == ["skipped", "succeeded"], values
        statuses = sorted(SyncRun.objects.filter(connection=connected_site).values_list("status"))
        assert statuses == [("skipped",), ("succeeded",)]
    measured(
        "simultaneous claims",
        f"{rounds} rounds, each: one succeeded, one skipped ({time.monotonic() - started:.1f}s)",
    )
