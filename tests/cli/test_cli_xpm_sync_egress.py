"""``xpm_sync`` reports what a run downloaded (``bytes_downloaded``) and can reconcile."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from wagtail_xpm.models import SyncRun

pytestmark = pytest.mark.django_db


def sync_json(capsys, *args: str) -> dict:
    call_command("xpm_sync", "--json", *args)
    return json.loads(capsys.readouterr().out)


def test_json_summary_has_the_bytes_downloaded(connected_site, capsys):
    summary = sync_json(capsys)
    run = SyncRun.objects.get()
    assert isinstance(summary["bytes_downloaded"], int)
    assert summary["bytes_downloaded"] == run.bytes_downloaded > 0
    assert summary["usage"]["list"] == {"calls": 1, "bytes": summary["bytes_downloaded"]}


def test_human_summary_says_how_much_was_downloaded(connected_site, capsys):
    call_command("xpm_sync")
    out = capsys.readouterr().out
    assert "API calls, " in out and "downloaded." in out
    assert " kB downloaded." in out or " MB downloaded." in out


def test_reconcile_finds_a_client_deleted_in_xpm(connected_site, running_sandbox, capsys):
    sandbox = running_sandbox.sandbox
    sync_json(capsys)
    gone = next(c for c in sandbox.state.clients.values() if not (c.is_archived or c.is_deleted))
    del sandbox.state.clients[gone.uuid]  # gone from XPM altogether
    sandbox.state.reindex()
    summary = sync_json(capsys, "--reconcile")
    assert summary["reconcile"] is True and summary["full"] is False
    assert summary["clients_missing"] == 1
    assert summary["usage"]["reconcile"]["calls"] == 2  # one page, one detail read
    call_command("xpm_sync", "--reconcile")
    assert "Checked XPM's client list for deleted clients: 0 flagged." in capsys.readouterr().out


def test_full_and_reconcile_are_exclusive(connected_site):
    with pytest.raises(CommandError, match="not allowed with"):
        call_command("xpm_sync", "--full", "--reconcile")
