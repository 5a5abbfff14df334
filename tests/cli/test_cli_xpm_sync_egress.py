"""``xpm_sync`` reports what a run downloaded (``bytes_downloaded``) and can reconcile."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

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
    assert "KB" in out or "MB" in out
