"""Website -> XPM: an unsubscribe here ticks the opt-out checkbox on every XPM contact record
of the person, through the real client against the sandbox, with the leads' nothing-lost
rules (retries, the sweeper, the daily reserve)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from huey.contrib.djhuey import HUEY
from optout_helpers import (
    opt_out_definition,
    people_with_one_record,
    person_with_two_records,
    sandbox_flag,
    website_unsubscribe,
    xpm_ids,
)

from wagtail_xpm import services
from wagtail_xpm.consent import optout_delivery, tasks, xpm_optout
from wagtail_xpm.models import (
    ConsentEvent,
    Contact,
    ContactClientLink,
    PracticeCustomField,
    XpmConnection,
    XpmOptOutWrite,
    XpmSiteSettings,
)

pytestmark = pytest.mark.django_db

Status = XpmOptOutWrite.Status


def contact_customfield_calls(sandbox, method: str = "") -> int:
    return sum(
        count
        for path, count in sandbox.calls_by_path.items()
        if path.startswith("client.api/contact/") and path.endswith("/customfield")
    )


def scheduled_rows() -> list[int]:
    return [t.args[0] for t in HUEY.scheduled() if t.name.endswith("deliver_opt_out")]


def test_tasks_are_registered_with_huey():
    registered = set(HUEY._registry._registry)
    assert {
        "wagtail_xpm.consent.tasks.deliver_opt_out",
        "wagtail_xpm.consent.tasks.sweep_opt_outs",
    } <= registered
    assert tasks.sweep_opt_outs.task_class in HUEY._registry._periodic_tasks


def test_an_unsubscribe_ticks_every_xpm_record_of_the_person(
    opt_out_site, running_sandbox, django_capture_on_commit_callbacks
):
    sandbox = running_sandbox.sandbox
    person = person_with_two_records()
    records = xpm_ids(person)
    assert not any(sandbox_flag(sandbox, uuid) for uuid in records)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queued = website_unsubscribe(person)
    # The rows exist with the unsubscribe; their tasks wait for the commit.
    assert queued == len(records) == 2
    rows = XpmOptOutWrite.objects.filter(contact=person)
    assert {r.xpm_contact_id for r in rows} == records
    assert all(r.status == Status.PENDING and r.opted_out for r in rows)
    assert len(callbacks) == 2
    for callback in callbacks:
        callback()  # the commit: Huey (immediate in tests) sends each row

    assert set(rows.values_list("status", flat=True)) == {Status.SENT}
    assert all(sandbox_flag(sandbox, uuid) for uuid in records)
    # What XPM answers when asked, through the real client.
    field = opt_out_definition(sandbox).uuid
    client = services.client_for(opt_out_site)
    for uuid in records:
        values = {v.uuid: v.value for v in client.contact_custom_fields(uuid)}
        assert values[field] is True
    sent = ConsentEvent.objects.filter(contact=person, action=ConsentEvent.Action.OPT_OUT_SENT_XPM)
    assert {e.detail["xpm_contact_id"] for e in sent} == records
    assert not any(e.subscribed for e in sent)
    assert set(
        ContactClientLink.objects.filter(contact=person).values_list("xpm_opted_out", flat=True)
    ) == {True}
    person.refresh_from_db()
    assert person.subscribed is False


def test_a_refused_write_is_retried_and_the_person_stays_unsubscribed(
    opt_out_site, running_sandbox, django_capture_on_commit_callbacks, settings
):
    sandbox = running_sandbox.sandbox
    person, record = people_with_one_record()[0]
    sandbox.faults.outage(1000, status=503, path="/customfield")

    with django_capture_on_commit_callbacks(execute=True):
        website_unsubscribe(person)

    row = XpmOptOutWrite.objects.get(contact=person)
    assert row.status == Status.PENDING and row.attempts == 1
    assert "503" in row.last_error
    assert row.next_attempt_at > timezone.now() + timedelta(seconds=30)
    assert scheduled_rows() == [row.pk]  # the retry is queued, the sweeper is the net
    assert xpm_optout.outbox_counts(opt_out_site) == xpm_optout.OutboxCounts(1, 0)
    person.refresh_from_db()
    assert person.subscribed is False
    assert not sandbox_flag(sandbox, record)

    # Still refused at the last attempt: failed, kept, counted for staff.
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, "LEAD_MAX_ATTEMPTS": 2}
    XpmOptOutWrite.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert tasks.deliver_opt_out(row.pk)() == Status.FAILED
    row.refresh_from_db()
    assert row.status == Status.FAILED and "Gave up after 2 attempts" in row.last_error
    assert xpm_optout.outbox_counts(opt_out_site) == xpm_optout.OutboxCounts(0, 1)

    # XPM back, and the person unsubscribes again (say, from a later email): the waiting
    # row is reused, not doubled, and goes through.
    sandbox.faults.reset()
    Contact.objects.filter(pk=person.pk).update(subscribed=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert website_unsubscribe(person) == 1
    assert list(XpmOptOutWrite.objects.filter(contact=person).values_list("pk", "status")) == [
        (row.pk, Status.SENT)
    ]
    assert sandbox_flag(sandbox, record)


def test_a_throttled_write_waits_for_the_sweeper(
    opt_out_site, running_sandbox, django_capture_on_commit_callbacks
):
    sandbox = running_sandbox.sandbox
    person, record = people_with_one_record()[-1]
    # More 429s than the client's own attempts: the row is retried later.
    sandbox.faults.throttle(10, retry_after=1, path="/customfield")
    with django_capture_on_commit_callbacks(execute=True):
        website_unsubscribe(person)
    row = XpmOptOutWrite.objects.get(contact=person)
    assert row.status == Status.PENDING
    sandbox.faults.reset()

    # Its time comes: the periodic sweep sends it.
    XpmOptOutWrite.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert tasks.sweep_opt_outs.call_local() == {"queued": 1, "interrupted": 0}
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert sandbox_flag(sandbox, record)


def test_a_row_left_sending_by_a_dead_worker_is_sent_by_the_sweeper(opt_out_site, running_sandbox):
    sandbox = running_sandbox.sandbox
    person, record = people_with_one_record()[0]
    # A worker claimed the row, then died: its lease ran out.
    row = XpmOptOutWrite.objects.create(
        connection=opt_out_site,
        contact=person,
        xpm_contact_id=record,
        status=Status.SENDING,
        attempts=1,
        next_attempt_at=timezone.now() - timedelta(seconds=5),
    )
    # Not before its lease ends.
    assert optout_delivery.sweep(now=timezone.now() - timedelta(minutes=1)).interrupted == []

    assert tasks.sweep_opt_outs.call_local() == {"queued": 1, "interrupted": 1}

    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 2)
    assert sandbox_flag(sandbox, record)


def test_a_second_delivery_of_the_same_row_does_nothing(opt_out_site, running_sandbox):
    person, record = people_with_one_record()[0]
    row = XpmOptOutWrite.objects.create(
        connection=opt_out_site, contact=person, xpm_contact_id=record
    )
    running_sandbox.sandbox.reset_stats()
    assert optout_delivery.deliver(row.pk, client_factory=services.client_for).status == "sent"
    assert optout_delivery.deliver(row.pk, client_factory=services.client_for).status == "sent"
    assert contact_customfield_calls(running_sandbox.sandbox) == 1


def test_the_leads_reserve_is_kept(
    opt_out_site, running_sandbox, django_capture_on_commit_callbacks
):
    sandbox = running_sandbox.sandbox
    reserve = XpmSiteSettings.for_site(opt_out_site.site).daily_call_reserve
    XpmConnection.objects.filter(pk=opt_out_site.pk).update(
        day_calls_remaining=reserve, day_calls_checked_at=timezone.now()
    )
    person, _record = people_with_one_record()[0]
    sandbox.reset_stats()
    with django_capture_on_commit_callbacks(execute=True):
        website_unsubscribe(person)
    row = XpmOptOutWrite.objects.get(contact=person)
    assert row.status == Status.PENDING and row.attempts == 0
    assert "kept for website enquiries" in row.last_error
    assert contact_customfield_calls(sandbox) == 0

    # An hour later the recorded budget is old news: one call finds out, and sends.
    XpmConnection.objects.filter(pk=opt_out_site.pk).update(
        day_calls_checked_at=timezone.now() - timedelta(hours=2)
    )
    XpmOptOutWrite.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert tasks.deliver_opt_out(row.pk)() == Status.SENT


def test_nothing_is_queued_or_read_without_an_opt_out_field(
    connected_site, running_sandbox, sync, django_capture_on_commit_callbacks
):
    sandbox = running_sandbox.sandbox
    run = sync()
    assert contact_customfield_calls(sandbox) == 0
    assert "opt_outs" not in run.usage and "opt_outs" not in run.report
    person, _record = people_with_one_record()[0]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert website_unsubscribe(person) == 0
    assert callbacks == []
    assert not XpmOptOutWrite.objects.exists()
    assert contact_customfield_calls(sandbox) == 0


def test_a_field_deleted_in_xpm_is_reported_and_writes_wait(
    opt_out_site, running_sandbox, django_capture_on_commit_callbacks
):
    sandbox = running_sandbox.sandbox
    definition = opt_out_definition(sandbox)
    with sandbox.lock:
        del sandbox.state.custom_fields[definition.uuid]
    person, _record = people_with_one_record()[0]

    # XPM refuses the write: the row waits, and the mirror learns the field is gone.
    with django_capture_on_commit_callbacks(execute=True):
        website_unsubscribe(person)
    row = XpmOptOutWrite.objects.get(contact=person)
    assert row.status == Status.PENDING
    assert "Invalid custom field identifier" in row.last_error
    assert not PracticeCustomField.objects.get(uuid=definition.uuid).is_current
    problem = xpm_optout.field_problem(opt_out_site, definition.uuid)
    assert "no longer exists in XPM" in problem and definition.name in problem

    # The next attempt makes no call: it waits for a field to be chosen again.
    sandbox.reset_stats()
    XpmOptOutWrite.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert tasks.deliver_opt_out(row.pk)() == Status.PENDING
    row.refresh_from_db()
    assert row.last_error == problem and row.attempts == 1
    assert contact_customfield_calls(sandbox) == 0
