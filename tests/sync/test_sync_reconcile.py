"""Reconciliation: clients deleted in XPM are found by a light check of XPM's live client
list (paged-list, base fields) and a detail read of only the clients that disappeared,
weekly on the schedule instead of a daily detailed download of every client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from sandbox_edits import active_clients, hard_delete, linked_contacts, now

from wagtail_xpm import services
from wagtail_xpm.models import Contact, PracticeClient, SyncRun, XpmSiteSettings
from wagtail_xpm.sandbox.models import Client
from wagtail_xpm.sandbox.models import Contact as XpmContact

pytestmark = pytest.mark.django_db


def emailed_client(sandbox) -> Client:
    """A live client whose only contacts are its own (so deleting it archives them)."""
    for client in active_clients(sandbox):
        if client.is_archived or not client.contacts:
            continue
        people = linked_contacts(sandbox, client)
        if people and all(len(sandbox.state.clients_of_contact(p.uuid)) == 1 for p in people):
            return client
    raise AssertionError("no client with contacts of its own")


def test_a_client_deleted_in_xpm_is_found_for_a_fraction_of_a_detailed_list(sync, running_sandbox):
    sandbox = running_sandbox.sandbox
    first = sync()
    assert first.full and first.status == SyncRun.Status.SUCCEEDED
    full_list_bytes = first.usage["list"]["bytes"]
    gone = emailed_client(sandbox)
    people = [p.uuid for p in linked_contacts(sandbox, gone)]
    hard_delete(sandbox, gone)

    # An ordinary incremental run cannot see it: XPM lists only changed clients.
    assert sync().clients_missing == 0
    assert not PracticeClient.objects.get(uuid=gone.uuid).is_missing

    sandbox.reset_stats()
    run = sync(reconcile=True)
    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert not run.full and run.reconcile and run.reconcile_completed
    assert run.clients_missing == 1
    assert PracticeClient.objects.get(uuid=gone.uuid).is_missing
    # Its people are archived, unless (a duplicate email) they belong to a live client too.
    flagged = Contact.objects.filter(xpm_contact_id__in=people)
    for contact in flagged:
        elsewhere = contact.client_links.exclude(client__uuid=gone.uuid)
        assert contact.is_archived == (not elsewhere.filter(client__is_missing=False).exists())
    assert run.archived == sum(c.is_archived for c in flagged) > 0
    assert run.report["clients_missing"] == [{"client_id": gone.uuid, "name": gone.name}]
    # What it cost: the live list in base fields, one detail read, and the usual list.
    assert sandbox.calls_by_endpoint["client.api/paged-list"] == 1
    assert sandbox.calls_by_endpoint["client.api/get/{id}"] == 1
    assert run.usage["reconcile"]["calls"] == 2
    assert run.usage["reconcile"]["bytes"] < 0.75 * full_list_bytes

    # Nothing left to find: the next check reads the list and nothing in detail.
    again = sync(reconcile=True)
    assert again.clients_missing == 0 and again.usage["reconcile"]["calls"] == 1


def test_a_client_archived_in_xpm_unnoticed_is_read_in_detail(sync, running_sandbox):
    sandbox = running_sandbox.sandbox
    sync()
    quiet = emailed_client(sandbox)
    quiet.is_archived = True  # without touching its modified time: the list never shows it
    run = sync(reconcile=True)
    row = PracticeClient.objects.get(uuid=quiet.uuid)
    assert row.is_archived and not row.is_missing
    assert run.clients_missing == 0
    assert run.usage["reconcile"]["calls"] == 2  # the page, and one detail read


def test_a_live_client_the_site_never_saw_is_added(sync, running_sandbox):
    sandbox = running_sandbox.sandbox
    sync()
    # A client XPM did not stamp as modified after the last sync (so modifiedsince misses it).
    person = XpmContact(uuid=sandbox.state.new_uuid(), name="Mere Tane", email="mere@example.com")
    sandbox.state.add_contact(person)
    late = Client(uuid=sandbox.state.new_uuid(), name="Tane Holdings")
    sandbox.state.add_client(late, now(sandbox) - timedelta(days=2))
    sandbox.state.link_contact(late, person.uuid, now(sandbox) - timedelta(days=2))
    late.modified_at = now(sandbox) - timedelta(days=2)
    assert sync().clients_seen == 0
    sync(reconcile=True)
    assert Contact.objects.get(xpm_contact_id=person.uuid).client_name == "Tane Holdings"


def test_the_mass_drop_guard_applies_to_reconciliation(sync, running_sandbox):
    sandbox = running_sandbox.sandbox
    sync()
    live = [c for c in active_clients(sandbox) if not c.is_archived]
    for client in live[: len(live) // 2]:
        hard_delete(sandbox, client)
    sandbox.reset_stats()
    run = sync(reconcile=True)
    assert run.clients_missing == 0
    assert not PracticeClient.objects.filter(is_missing=True).exists()
    assert any("looks like a fault" in e for e in run.errors)
    # Refused before the detail reads: only the page was read.
    assert sandbox.calls_by_endpoint["client.api/get/{id}"] == 0


def test_a_check_that_cannot_finish_leaves_the_sync_done_and_is_retried(
    sync, running_sandbox, connected_site
):
    sandbox = running_sandbox.sandbox
    sync()
    gone = emailed_client(sandbox)
    hard_delete(sandbox, gone)
    sandbox.faults.outage(10, path="client.api/paged-list")
    run = sync(reconcile=True)
    sandbox.faults.reset()
    assert run.status == SyncRun.Status.PARTIAL
    assert "could not finish" in run.message
    assert not run.reconcile_completed and run.clients_missing == 0
    # It does not count as a check, so the schedule keeps asking for one.
    first = SyncRun.objects.get(full=True)
    assert services.last_reconciled(connected_site) == first.list_started_at
    assert sync(reconcile=True).clients_missing == 1


def test_the_check_waits_when_only_the_leads_reserve_is_left(sync, running_sandbox, connected_site):
    sandbox = running_sandbox.sandbox
    sync()
    site_settings = XpmSiteSettings.for_site(connected_site.site)
    site_settings.daily_call_reserve = 4999  # the sandbox allows 5,000 calls a day
    site_settings.save()
    sandbox.reset_stats()
    run = sync(reconcile=True)
    assert not run.reconcile_completed
    assert sandbox.calls_by_endpoint["client.api/paged-list"] == 0
    assert any("waits for the daily budget" in note for note in run.report["notes"])


def test_the_schedule_reconciles_weekly_not_daily(
    connected_site, running_sandbox, django_capture_on_commit_callbacks
):
    def scheduled() -> SyncRun:
        SyncRun.objects.update(created_at=timezone.now() - timedelta(hours=2))
        with django_capture_on_commit_callbacks(execute=True):
            (run_id,) = services.schedule_due_syncs()
        return SyncRun.objects.get(pk=run_id)

    first = scheduled()
    assert first.full  # the first sync reads everything, which reconciles by itself
    assert not services.needs_reconcile(connected_site)
    # Six days on: still incremental, never a full detailed download.
    SyncRun.objects.update(list_started_at=timezone.now() - timedelta(days=6))
    quiet = scheduled()
    assert not quiet.full and not quiet.reconcile
    # A week after the last check (less one interval), the scheduled run reconciles.
    SyncRun.objects.update(list_started_at=timezone.now() - timedelta(days=7, minutes=-59))
    weekly = scheduled()
    assert weekly.reconcile and weekly.reconcile_completed and not weekly.full
    assert not services.needs_reconcile(connected_site)
    # The interval is a site setting.
    site_settings = XpmSiteSettings.for_site(connected_site.site)
    site_settings.reconcile_every_days = 2
    site_settings.save()
    SyncRun.objects.update(list_started_at=timezone.now() - timedelta(days=2))
    assert scheduled().reconcile
