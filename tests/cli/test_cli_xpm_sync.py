"""``xpm_sync``: a foreground sync from the command line (docs/contracts.md 4.2)."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command, execute_from_command_line
from django.utils import timezone

from wagtail_xpm.models import Contact, ContactClientLink, PracticeClient, SyncRun

pytestmark = pytest.mark.django_db


def sync_json(capsys, *args: str) -> dict:
    call_command("xpm_sync", "--json", *args)
    out = capsys.readouterr().out
    # Exactly one JSON object on stdout (progress goes to stderr).
    return json.loads(out)


def test_json_summary_matches_the_database(connected_site, running_sandbox, capsys):
    sandbox = running_sandbox.sandbox
    calls_before = sandbox.api_calls
    summary = sync_json(capsys)

    run = SyncRun.objects.get()
    assert summary == json.loads(json.dumps(run.summary(), default=str))
    assert summary["status"] == "succeeded"
    assert run.trigger == SyncRun.Trigger.CLI
    for key in ("created", "updated", "unchanged", "skipped_duplicates", "archived", "api_calls"):
        assert isinstance(summary[key], int), key
    xpm_contacts = Contact.objects.filter(connection=connected_site, source="xpm")
    assert summary["created"] == xpm_contacts.count() > 0
    assert summary["updated"] == summary["unchanged"] == 0
    # Every listed XPM person is either created or skipped as a duplicate email.
    state = sandbox.state
    people = {
        link.contact_uuid
        for client in state.clients.values()
        for link in client.contacts
        if not state.contacts[link.contact_uuid].is_deleted
    }
    assert summary["created"] + summary["skipped_duplicates"] == len(people)
    assert summary["api_calls"] == sandbox.api_calls - calls_before > 0
    assert summary["clients_seen"] == PracticeClient.objects.count()


def test_second_full_sync_changes_nothing(connected_site, capsys):
    first = sync_json(capsys)
    second = sync_json(capsys, "--full")
    assert second["status"] == "succeeded"
    assert second["full"] is True
    assert second["created"] == second["updated"] == second["archived"] == 0
    assert second["unchanged"] == first["created"]
    assert second["skipped_duplicates"] == first["skipped_duplicates"]


def test_human_summary(connected_site, capsys):
    call_command("xpm_sync")
    captured = capsys.readouterr()
    run = SyncRun.objects.get()
    assert f"Sync {run.pk} succeeded" in captured.out
    assert f"{run.created} contacts created" in captured.out
    assert "Syncing" in captured.err


def test_dry_run_writes_no_contacts(connected_site, capsys):
    summary = sync_json(capsys, "--dry-run")
    assert summary["dry_run"] is True
    assert summary["status"] == "succeeded"
    assert summary["created"] > 0  # what would be created
    assert not Contact.objects.exists()
    assert not PracticeClient.objects.exists()
    assert not ContactClientLink.objects.exists()

    call_command("xpm_sync", "--dry-run")
    out = capsys.readouterr().out
    assert "would be created" in out
    assert "Nothing was written." in out
    assert not Contact.objects.exists()


def test_site_that_is_not_connected_fails(default_site):
    with pytest.raises(CommandError, match="not connected to Xero Practice Manager"):
        call_command("xpm_sync")
    assert not SyncRun.objects.exists()


def test_exit_status_and_one_line_reason(default_site, capsys):
    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(["manage.py", "xpm_sync", "--json"])
    assert exited.value.code != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert "not connected" in lines[0]


def test_unknown_site_fails(connected_site):
    with pytest.raises(CommandError, match="No Wagtail site"):
        call_command("xpm_sync", "--site", "nowhere.example")


def test_a_running_sync_makes_it_fail(connected_site, capsys):
    now = timezone.now()
    running = SyncRun.objects.create(
        connection=connected_site,
        trigger=SyncRun.Trigger.SCHEDULE,
        status=SyncRun.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
    )
    with pytest.raises(CommandError, match="already running"):
        call_command("xpm_sync", "--json")
    assert capsys.readouterr().out == ""
    assert not Contact.objects.exists()
    running.refresh_from_db()
    assert running.status == SyncRun.Status.RUNNING
    # The refused run is recorded as skipped, not left queued.
    refused = SyncRun.objects.exclude(pk=running.pk).get()
    assert refused.status == SyncRun.Status.SKIPPED


def test_a_failed_sync_exits_non_zero_with_the_summary(connected_site, running_sandbox, capsys):
    running_sandbox.sandbox.faults.outage(50, status=400, path="client.api/list")
    with pytest.raises(CommandError, match=r"Sync \d+ failed: "):
        call_command("xpm_sync", "--json")
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "failed"
    assert SyncRun.objects.get().status == SyncRun.Status.FAILED
    assert not Contact.objects.exists()
