"""The Huey side: the id-based delivery task, its scheduled retries, and the sweeper."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from huey.contrib.djhuey import HUEY
from leads_helpers import CONTACT, api_leads, make_submission

from wagtail_xpm import services
from wagtail_xpm.leads import intake, pipeline, tasks
from wagtail_xpm.models import LeadSubmission

pytestmark = pytest.mark.django_db

Status = LeadSubmission.Status


@pytest.fixture(autouse=True)
def empty_schedule():
    HUEY.flush()
    yield
    HUEY.flush()


def scheduled_ids() -> list[int]:
    return [task.args[0] for task in HUEY.scheduled() if task.name.endswith("deliver_lead")]


def test_tasks_are_registered_with_huey():
    import wagtail_xpm.tasks  # noqa: F401  (what the consumer imports)

    registered = set(HUEY._registry._registry)
    assert {"wagtail_xpm.leads.tasks.deliver_lead", "wagtail_xpm.leads.tasks.sweep_leads"} <= (
        registered
    )
    assert tasks.sweep_leads.task_class in HUEY._registry._periodic_tasks


def test_a_transient_failure_schedules_the_next_attempt(lead_site, running_sandbox):
    running_sandbox.sandbox.faults.outage(100)
    sub = make_submission(lead_site, name="Mere Tane", email="mere@tane.example")

    result = tasks.deliver_lead(sub.pk)

    assert result() == Status.PENDING
    assert scheduled_ids() == [sub.pk]
    [task] = list(HUEY.scheduled())
    expected = timezone.now() + timedelta(seconds=60)
    eta = task.eta if task.eta.tzinfo else task.eta.replace(tzinfo=dt.UTC)  # Huey: naive UTC
    assert abs((eta - expected).total_seconds()) < 5


def test_the_sweeper_sends_what_is_due(lead_site, running_sandbox):
    due = make_submission(lead_site, name="Due Person", email="due@example.com")
    LeadSubmission.objects.filter(pk=due.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1), attempts=1
    )
    later = make_submission(lead_site, name="Later Person", email="later@example.com")
    LeadSubmission.objects.filter(pk=later.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    make_submission(lead_site, name="Fresh Person", email="fresh@example.com")

    counts = tasks.sweep_leads.call_local()

    assert counts == {"queued": 1, "interrupted": 0, "unblocked": 0}
    statuses = dict(LeadSubmission.objects.values_list("name", "status"))
    # The fresh row's own task is expected to run; the sweeper leaves it a minute.
    assert statuses == {
        "Due Person": Status.SENT,
        "Later Person": Status.PENDING,
        "Fresh Person": Status.PENDING,
    }


def queue_down(*args, **kwargs):
    """Huey's enqueue while Redis is down."""
    raise ConnectionError("redis: connection refused")


def test_queue_down_at_submit_time_loses_nothing(
    visitor, lead_site, running_sandbox, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(HUEY, "enqueue", queue_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = visitor.submit(CONTACT)
    assert response.status_code == 200
    assert "Thank you for getting in touch" in response.content.decode()
    submission = LeadSubmission.objects.get()
    assert submission.status == Status.PENDING

    # The queue is back; a minute later the sweeper finds the row and sends it.
    monkeypatch.undo()
    LeadSubmission.objects.filter(pk=submission.pk).update(
        submit_time=timezone.now() - timedelta(minutes=2)
    )
    assert tasks.sweep_leads.call_local()["queued"] == 1
    submission.refresh_from_db()
    assert submission.status == Status.SENT
    assert len(api_leads(running_sandbox.sandbox)) == 1


def test_enqueue_swallows_a_queue_outage(monkeypatch, caplog):
    monkeypatch.setattr(HUEY, "enqueue", queue_down)
    assert intake.enqueue(1) is False
    assert intake.enqueue(1, delay=30) is False
    assert "Could not queue delivery of lead submission 1" in caplog.text


def test_enquiries_arriving_while_xpm_is_failing_wait_for_the_sweeper(
    visitor, lead_site, running_sandbox, django_capture_on_commit_callbacks
):
    sb = running_sandbox.sandbox
    sb.faults.outage(100)
    with django_capture_on_commit_callbacks(execute=True):
        visitor.submit(CONTACT)  # the first one finds XPM down: the site pauses for 30 s
    calls = sb.api_calls
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        visitor.submit({**CONTACT, "email": "second@example.com"})

    second = LeadSubmission.objects.get(email="second@example.com")
    assert callbacks == []  # not even queued
    assert second.status == Status.PENDING and second.next_attempt_at is not None
    assert sb.api_calls == calls

    # XPM is back; after the pause the sweeper sends both.
    sb.faults.reset()
    cache.delete(pipeline.pause_key(second.site_id))  # the 30 s are over
    later = timezone.now() + timedelta(minutes=5)
    LeadSubmission.objects.update(next_attempt_at=later - timedelta(minutes=1))
    for submission_id in pipeline.sweep(now=later).due:
        pipeline.deliver(submission_id, client_factory=services.client_for, now=later)
    assert set(LeadSubmission.objects.values_list("status", flat=True)) == {Status.SENT}
    assert len(api_leads(sb)) == 2
