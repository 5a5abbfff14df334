"""Workers killed with SIGKILL at seeded-random points of a sync and of a lead delivery.

A forked worker runs the real code against the sandbox and dies, mid-flight, either just
before its n-th SQL statement (it SIGKILLs itself; inside a transaction too) or at its k-th
XPM call: when the call arrives, or once XPM has handled it and before the worker hears the
answer (the sandbox serves on a thread of this process and SIGKILLs the worker). Nothing
in the worker runs after that: no ``finally``, no bookkeeping.

The work is then recovered the way production recovers it, by the periodic tasks: the
scheduler queues the next sync (which takes over the dead run) and the lead sweeper revives
the interrupted delivery. Time is simulated by backdating the dead worker's timestamps.

SQLite: the test database lives in this process's memory; ``SharedDatabase`` copies it to
a file for each worker and back (the same code runs on both databases).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db.models import F
from wagtail.models import Page

from wagtail_xpm import services
from wagtail_xpm.conf import get_setting
from wagtail_xpm.leads import pipeline
from wagtail_xpm.leads import tasks as lead_tasks
from wagtail_xpm.models import (
    Contact,
    ContactClientLink,
    FieldMapping,
    LeadSubmission,
    PracticeClient,
    SyncRun,
    XpmSiteSettings,
)
from wagtail_xpm.sync import engine, runs

from .processes import KillSwitch, SharedDatabase, Worker, free_redis_leases

pytestmark = pytest.mark.django_db(transaction=True)

SEED = 20_240_611


@pytest.fixture
def killer(running_sandbox, monkeypatch) -> KillSwitch:
    """The kill switch in front of the sandbox's API app (the dispatcher looks it up per
    request, so the already running server uses it)."""
    dispatcher = running_sandbox.sandbox.wsgi_app
    switch = KillSwitch(dispatcher.api)
    monkeypatch.setattr(dispatcher, "api", switch)
    return switch


@pytest.fixture
def shared(tmp_path) -> SharedDatabase:
    return SharedDatabase(tmp_path)


@dataclass
class Timeline:
    """A clean run's steps, to pick kill points from: its SQL statements in order (kind and
    table) and the XPM calls it made."""

    statements: list[str]
    calls: list[str]

    def points(self) -> tuple[list, list]:
        sql = [("sql", n, "before") for n in range(1, len(self.statements) + 1)]
        api = [("api", k, when) for k in range(1, len(self.calls) + 1) for when in WHEN]
        return sql, api

    def name(self, point) -> str:
        kind, at, when = point
        if kind == "sql":
            return f"before SQL {at} ({self.statements[at - 1]})"
        return f"{when} XPM call {at} ({self.calls[at - 1]})"


WHEN = ("before", "after")


def run_worker(shared, killer, target, *args, kill_at=None, trace=None) -> Worker:
    """Run ``target(*args)`` in a forked worker, killed at the kill point ``kill_at`` or
    left to finish (``trace``: a file to list its SQL statements in)."""
    kind, at, when = kill_at or ("", 0, "before")
    shared.export()
    worker = Worker(
        shared, target, *args, die_before_query=at if kind == "sql" else None, trace=trace
    )
    killer.watch(worker.pid if kind == "api" else None, at=at, when=when)
    worker.go()
    worker.join(timeout=60)
    killer.disarm()  # the recovery that follows runs in this process
    shared.import_()
    return worker


def clean_timeline(shared, killer, trace, target, *args) -> Timeline:
    """Run ``target(*args)`` to the end in a worker, recording its steps."""
    worker = run_worker(shared, killer, target, *args, trace=trace)
    assert worker.exitcode == 0, f"the clean worker failed (exit code {worker.exitcode})"
    calls = [path.rsplit("/3.1/", 1)[-1] for path in killer.paths]
    return Timeline(statements=trace.read_text().splitlines(), calls=calls)


def kill(shared, killer, timeline, point, target, *args) -> None:
    worker = run_worker(shared, killer, target, *args, kill_at=point)
    assert worker.killed, f"not killed {timeline.name(point)} (exit code {worker.exitcode})"


# --- Sync -------------------------------------------------------------------------------------


def crm_snapshot(connection) -> tuple[list, list, list]:
    """Everything a sync writes to the website CRM, without ids and timestamps."""
    contacts = Contact.objects.filter(connection=connection).values_list(
        "xpm_contact_id", "xpm_client_id", "name", "email", "phone", "mobile", "position",
        "client_name", "primary_client__uuid", "data", "source", "subscribed", "is_archived",
        "is_prospect", "xpm_removed",
    )  # fmt: skip
    clients = PracticeClient.objects.filter(connection=connection).values_list(
        "uuid", "name", "email", "is_archived", "is_deleted", "is_prospect", "is_missing",
        "web_url", "data", "custom_values", "custom_fields_pending", "content_hash",
    )  # fmt: skip
    links = ContactClientLink.objects.filter(contact__connection=connection).values_list(
        "contact__xpm_contact_id", "client__uuid", "xpm_contact_id", "position", "is_primary"
    )
    return tuple(sorted(map(repr, rows)) for rows in (contacts, clients, links))


def empty_crm(connection) -> None:
    Contact.objects.filter(connection=connection).delete()
    PracticeClient.objects.filter(connection=connection).delete()
    SyncRun.objects.filter(connection=connection).delete()


def sync_in_worker(run_id: int) -> None:
    # Heartbeats only at phase changes: time-based ones would make the n-th SQL statement
    # a different step from one run to the next.
    engine.PROGRESS_EVERY_SECONDS = 1e9
    services.execute_sync_run(run_id)


def test_a_sync_killed_at_random_points_is_taken_over_and_converges(
    connected_site, running_sandbox, killer, shared, tmp_path, measured
):
    connection = connected_site
    # A mapped custom field: one XPM call per client, so a run has many points to die at.
    FieldMapping.objects.create(
        connection=connection, source="custom:Plan Level", key="plan_level", label="Plan"
    )
    interval = timedelta(minutes=XpmSiteSettings.for_site(connection.site).sync_interval_minutes)
    # Long enough for the dead run's heartbeat to go stale and the next sync to be due.
    elapsed = max(runs.STALE_AFTER, interval) + timedelta(minutes=1)

    # One clean run in a worker: the reference data and the timeline to pick kill points from.
    clean_run = services.new_sync_run(connection, trigger="schedule")
    timeline = clean_timeline(shared, killer, tmp_path / "sync.trace", sync_in_worker, clean_run.pk)
    clean_run.refresh_from_db()
    assert clean_run.status == SyncRun.Status.SUCCEEDED
    clean = crm_snapshot(connection)
    assert clean[0] and clean[1], "the clean run wrote no contacts or clients"
    sql, api = timeline.points()
    rng = random.Random(SEED)
    points = rng.sample(sql, 3) + rng.sample(api, 3)
    measured(
        "clean run",
        f"{len(timeline.statements)} SQL statements, {len(timeline.calls)} XPM calls; "
        f"{len(clean[0])} contacts, {len(clean[1])} clients",
    )

    started = time.monotonic()
    for point in points:
        name = timeline.name(point)
        empty_crm(connection)
        running_sandbox.sandbox.reset_rate_limits()  # each scenario in a minute of its own
        dead = services.new_sync_run(connection, trigger="schedule")
        kill(shared, killer, timeline, point, sync_in_worker, dead.pk)
        leases = free_redis_leases(connection.tenant_id)
        dead.refresh_from_db()
        left = f"{dead.status} ({dead.phase or 'not started'})"
        if dead.status == SyncRun.Status.SUCCEEDED:
            # Killed after the run was recorded (its last statements): the work is done.
            assert crm_snapshot(connection) == clean, f"killed {name}"
            assert services.schedule_due_syncs() == []  # and the next sync is not due yet
            measured(f"killed {name}", f"run left {left}; data equal, nothing to rerun")
            continue
        assert dead.status in (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING), name

        refused = dead.status == SyncRun.Status.RUNNING
        if refused:
            # Its heartbeat is fresh: as far as anyone can tell the worker may be alive.
            assert services.schedule_due_syncs() == []
            probe = services.new_sync_run(connection, trigger="cli")
            with pytest.raises(runs.SyncAlreadyRunning):
                runs.claim(probe)
            probe.delete()  # the scheduler below sees the history it would have seen
        # Time passes: the next scheduled sync comes round and takes over.
        SyncRun.objects.filter(pk=dead.pk).update(
            created_at=F("created_at") - elapsed,
            started_at=F("started_at") - elapsed,
            heartbeat_at=F("heartbeat_at") - elapsed,
        )
        queued = services.schedule_due_syncs()  # Huey runs the task at once in tests
        assert len(queued) == 1, f"killed {name}: the scheduler queued no sync"
        rerun = SyncRun.objects.get(pk=queued[0])
        dead.refresh_from_db()

        assert rerun.status == SyncRun.Status.SUCCEEDED, (name, rerun.message)
        assert dead.status == SyncRun.Status.ABANDONED, name
        assert crm_snapshot(connection) == clean, f"killed {name}"
        measured(
            f"killed {name}",
            f"run left {left}{'' if leases is None else f', {leases} Redis leases freed'}; "
            f"{'claims refused while fresh, ' if refused else ''}taken over by the next "
            f"scheduled sync ({rerun.api_calls} calls); data equal to the clean run",
        )
    measured("kill points", f"{len(points)} in {time.monotonic() - started:.1f}s")


# --- Lead delivery ---------------------------------------------------------------------------


def enquiry(connection, n: int) -> LeadSubmission:
    """A stored enquiry from a person XPM does not know yet (a new one for every n)."""
    page = Page.objects.get(slug="contact")
    data = {
        "name": f"Visitor {n} Kowalski",
        "email": f"visitor{n}@kowalski-{n}.example",
        "company": f"Kowalski {n} Pty Ltd",
        "message": "Please call me about my BAS.",
    }
    return LeadSubmission.objects.create(
        site=connection.site,
        connection=connection,
        page=page,
        form_title=page.title,
        source_url="http://localhost/contact/",
        form_data=data,
        field_roles={name: name for name in data},
        field_labels={name: name.capitalize() for name in data},
        **data,
    )


def in_xpm(sandbox, submission: LeadSubmission) -> tuple[list, list]:
    """The clients (with a contact carrying the visitor's email) and the leads the API
    created for this submission."""
    state = sandbox.state
    email = submission.email.lower()
    clients = [
        c
        for c in state.clients.values()
        if c.created_via_api
        and any(state.contacts[link.contact_uuid].email.lower() == email for link in c.contacts)
    ]
    uuids = {c.uuid for c in clients}
    leads = [
        lead
        for lead in state.leads.values()
        if lead.created_via_api
        and (lead.client_uuid in uuids or pipeline.reference_of(submission) in lead.description)
    ]
    return clients, leads


def deliver_in_worker(submission_id: int) -> None:
    pipeline.deliver(submission_id, client_factory=services.client_for)


def test_a_lead_delivery_killed_at_random_points_is_delivered_exactly_once(
    connected_site, lead_owner, running_sandbox, killer, shared, tmp_path, measured
):
    sandbox = running_sandbox.sandbox
    connection = connected_site
    stuck_after = timedelta(seconds=float(get_setting("LEAD_STUCK_SECONDS")))
    elapsed = max(stuck_after, pipeline.FRESH_GRACE) + timedelta(minutes=1)

    # A clean delivery in a worker: the timeline to pick kill points from.
    first = enquiry(connection, 0)
    trace = tmp_path / "lead.trace"
    timeline = clean_timeline(shared, killer, trace, deliver_in_worker, first.pk)
    first.refresh_from_db()
    assert first.status == LeadSubmission.Status.SENT
    assert [len(found) for found in in_xpm(sandbox, first)] == [1, 1]
    sql, api = timeline.points()
    # The moments that matter most, then a seeded sample of everything else.
    named = [
        ("api", timeline.calls.index(path) + 1, when)
        for path in ("client.api/add", "lead.api/add")
        for when in WHEN
    ]
    rest = [p for p in sql + api if p not in named]
    points = named + random.Random(SEED).sample(rest, 4)
    measured(
        "clean delivery",
        f"{len(timeline.statements)} SQL statements, XPM calls {', '.join(timeline.calls)}",
    )

    started = time.monotonic()
    for n, point in enumerate(points, start=1):
        name = timeline.name(point)
        submission = enquiry(connection, n)
        sandbox.reset_rate_limits()  # each scenario in a minute of its own
        kill(shared, killer, timeline, point, deliver_in_worker, submission.pk)
        free_redis_leases(connection.tenant_id)
        submission.refresh_from_db()
        left = submission.status
        recovery = "nothing to redo"

        if left == LeadSubmission.Status.SENDING:
            # Claimed moments ago: the sweeper leaves it to its (possibly alive) worker.
            idle = {"queued": 0, "interrupted": 0, "unblocked": 0}
            assert lead_tasks.sweep_leads.call_local() == idle
            submission.refresh_from_db()
            assert submission.status == LeadSubmission.Status.SENDING
        if left != LeadSubmission.Status.SENT:  # else killed after its last step was stored
            assert left in (LeadSubmission.Status.SENDING, LeadSubmission.Status.PENDING), name
            # Time passes: the sweeper finds the interrupted (or never started) delivery.
            LeadSubmission.objects.filter(pk=submission.pk).update(
                submit_time=F("submit_time") - elapsed,
                claimed_at=F("claimed_at") - elapsed,
            )
            lead_tasks.sweep_leads.call_local()  # Huey runs the delivery it queues at once
            submission.refresh_from_db()
            recovery = (
                f"{'left alone by a sweep at once, ' if left == 'sending' else ''}"
                f"redelivered by the sweep {elapsed.seconds // 60} min later"
            )

        clients, leads = in_xpm(sandbox, submission)
        assert submission.status == LeadSubmission.Status.SENT, (name, submission.last_error)
        assert len(clients) == 1, f"killed {name}: {len(clients)} XPM clients"
        assert len(leads) == 1, f"killed {name}: {len(leads)} XPM leads"
        assert submission.xpm_client_uuid == clients[0].uuid
        assert submission.xpm_lead_uuid == leads[0].uuid
        assert leads[0].client_uuid == clients[0].uuid
        measured(
            f"killed {name}",
            f"row left {left}, {recovery}; sent (client {submission.client_matched_by}), "
            "1 client and 1 lead in XPM",
        )
    measured("kill points", f"{len(points)} in {time.monotonic() - started:.1f}s")
