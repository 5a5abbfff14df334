"""Each sync run records what it downloaded from XPM: bytes and calls, by kind of call."""

from __future__ import annotations

import pytest

from wagtail_xpm.models import FieldMapping, PracticeClient, SyncRun

pytestmark = pytest.mark.django_db


def map_plan_level(connection) -> None:
    FieldMapping.objects.create(
        connection=connection, source="custom:Plan Level", key="plan_level", label="Plan Level"
    )


def test_a_run_records_bytes_and_calls_by_kind(sync, connected_site, running_sandbox):
    map_plan_level(connected_site)
    sandbox = running_sandbox.sandbox
    calls_before = sandbox.api_calls
    first = sync()
    assert first.status == SyncRun.Status.SUCCEEDED
    usage = first.usage
    assert usage["list"]["calls"] == 1
    # Every client is new: clients someone can be emailed at first, then the others, but
    # not the archived and deleted ones (their contacts are archived).
    live = PracticeClient.objects.filter(is_archived=False, is_deleted=False).count()
    assert usage["custom_fields"]["calls"] == first.custom_fields_fetched == live
    assert first.report["custom_fields"]["owed_others"] > 0
    assert "custom_refresh" not in usage  # nothing to refresh yet
    assert first.api_calls == sum(u["calls"] for u in usage.values())
    assert first.api_calls == sandbox.api_calls - calls_before
    assert first.bytes_downloaded == sum(u["bytes"] for u in usage.values())
    # A detailed client record is a couple of kB; a custom-field answer well under one.
    assert usage["list"]["bytes"] > 1000 * first.clients_seen
    assert usage["custom_fields"]["bytes"] < usage["list"]["bytes"]

    stored = SyncRun.objects.get(pk=first.pk)
    assert stored.bytes_downloaded == first.bytes_downloaded
    assert stored.usage == usage
    assert stored.summary()["bytes_downloaded"] == first.bytes_downloaded

    # Nothing changed in XPM: the next run costs one small list answer.
    quiet = sync()
    assert quiet.usage == {"list": {"calls": 1, "bytes": quiet.bytes_downloaded}}
    assert 0 < quiet.bytes_downloaded < 1000


def test_a_failed_run_still_records_what_it_downloaded(sync, connected_site, running_sandbox):
    running_sandbox.sandbox.faults.outage(20)
    failed = sync()
    running_sandbox.sandbox.faults.reset()
    assert failed.status == SyncRun.Status.FAILED
    assert failed.api_calls > 1  # the list call was retried
    assert failed.usage["list"]["calls"] == failed.api_calls
    assert failed.bytes_downloaded == failed.usage["list"]["bytes"] > 0
