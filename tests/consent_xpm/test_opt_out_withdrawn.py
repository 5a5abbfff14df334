"""A confirmed re-subscribe removes the tick from XPM, and the sync does not take a tick still
on its way out of XPM for a new opt-out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from optout_helpers import person_with_two_records, sandbox_flag, website_unsubscribe, xpm_ids

from wagtail_xpm.consent import status
from wagtail_xpm.models import ConsentEvent, Contact, ContactClientLink, XpmOptOutWrite
from wagtail_xpm.xpm.xmlbuild import build_custom_field_flag

pytestmark = pytest.mark.django_db

Status = XpmOptOutWrite.Status


def confirmed_resubscribe(contact: Contact) -> int:
    """A confirmed subscription (the consent funnel queues the untick); returns the unticks
    now waiting."""
    status.subscribe(contact, ConsentEvent.Action.CONFIRMED, ConsentEvent.Actor.PERSON)
    return XpmOptOutWrite.objects.filter(
        contact=contact, opted_out=False, status=Status.PENDING
    ).count()


def age_reads() -> None:
    ContactClientLink.objects.exclude(opt_out_read_at=None).update(
        opt_out_read_at=F("opt_out_read_at") - timedelta(days=7)
    )


def test_the_put_body_is_xpms_documented_one():
    assert build_custom_field_flag("ae7e330d-a815-4f67-b8a6-be23b977e352", True) == (
        b"<CustomFields><CustomField><UUID>ae7e330d-a815-4f67-b8a6-be23b977e352</UUID>"
        b"<Boolean>true</Boolean></CustomField></CustomFields>"
    )
    assert b"<Boolean>false</Boolean>" in build_custom_field_flag("x", False)


def test_a_confirmed_resubscribe_unticks_every_record_and_stays(
    opt_out_site, running_sandbox, sync, django_capture_on_commit_callbacks
):
    sandbox = running_sandbox.sandbox
    person = person_with_two_records()
    records = xpm_ids(person)
    with django_capture_on_commit_callbacks(execute=True):
        website_unsubscribe(person)
    assert all(sandbox_flag(sandbox, uuid) for uuid in records)

    with django_capture_on_commit_callbacks(execute=True):
        assert confirmed_resubscribe(person) == 2
    assert not any(sandbox_flag(sandbox, uuid) for uuid in records)
    unticks = XpmOptOutWrite.objects.filter(contact=person, opted_out=False)
    assert set(unticks.values_list("status", flat=True)) == {Status.SENT}
    assert not ContactClientLink.objects.filter(contact=person, xpm_opted_out=True).exists()
    # The ledger says which way each write went.
    written = ConsentEvent.objects.filter(contact=person).values_list("action", flat=True)
    assert list(written).count(ConsentEvent.Action.OPT_OUT_SENT_XPM) == 2
    assert list(written).count(ConsentEvent.Action.OPT_OUT_CLEARED_XPM) == 2

    age_reads()
    sync()
    person.refresh_from_db()
    assert person.subscribed is True


def test_a_tick_not_yet_removed_from_xpm_is_not_a_new_opt_out(
    opt_out_site, running_sandbox, sync, django_capture_on_commit_callbacks
):
    sandbox = running_sandbox.sandbox
    person = person_with_two_records()
    with django_capture_on_commit_callbacks(execute=True):
        website_unsubscribe(person)
    # XPM refuses the untick for now: the ticks stay in XPM a while longer.
    sandbox.faults.outage(1000, path="/customfield", status=503)
    with django_capture_on_commit_callbacks(execute=True):
        confirmed_resubscribe(person)
    assert all(sandbox_flag(sandbox, uuid) for uuid in xpm_ids(person))
    sandbox.faults.reset()

    age_reads()
    run = sync()

    person.refresh_from_db()
    assert person.subscribed is True
    assert run.report["opt_outs"]["unsubscribed"] == 0
    assert not ConsentEvent.objects.filter(
        contact=person, action=ConsentEvent.Action.OPTED_OUT_XPM
    ).exists()
    # The unticks are still owed, and go out when their time comes.
    assert set(
        XpmOptOutWrite.objects.filter(contact=person, opted_out=False).values_list(
            "status", flat=True
        )
    ) == {Status.PENDING}
