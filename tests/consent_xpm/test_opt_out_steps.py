"""Opt-out reads are a sync step like custom-field reads: when XPM's minute budget is spent
they pause, the worker is handed back, and the next step reads on from the oldest unread
(wagtail_xpm/sync/steps.py). A limiter of 10 calls a minute whose clock the test moves."""

from __future__ import annotations

import time

import pytest
from huey.contrib.djhuey import HUEY
from optout_helpers import opt_out_definition

from wagtail_xpm import services
from wagtail_xpm.connection import factory
from wagtail_xpm.consent import xpm_optout
from wagtail_xpm.models import SyncRun, XpmSiteSettings
from wagtail_xpm.sync import tasks
from wagtail_xpm.xpm.ratelimit import InMemoryRateLimiter

# Committed data: a later step's reader threads load the token on their own connection.
pytestmark = pytest.mark.django_db(transaction=True)


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.offset += seconds


def test_opt_out_reads_pause_with_the_minute_budget_and_carry_on(
    connected_site, running_sandbox, monkeypatch
):
    services.refresh_custom_field_definitions(connected_site)
    definition = opt_out_definition(running_sandbox.sandbox)
    site_settings = XpmSiteSettings.for_site(connected_site.site)
    site_settings.xpm_opt_out_field_uuid = definition.uuid
    site_settings.xpm_opt_out_field_name = definition.name
    site_settings.save()
    running_sandbox.sandbox.reset_rate_limits()
    clock = Clock()
    limiter = InMemoryRateLimiter(per_minute=10, clock=clock, sleep=clock.sleep)
    monkeypatch.setattr(factory, "rate_limiter", lambda: limiter)

    run = services.new_sync_run(connected_site, trigger="schedule")
    assert tasks.sync_connection.call_local(run.pk) == "running"
    steps = 1
    while scheduled := [t for t in HUEY.scheduled() if t.name == "sync_step"]:
        (step,) = scheduled
        HUEY.storage.flush_schedule()
        clock.offset += 61
        running_sandbox.sandbox.reset_rate_limits()
        tasks.sync_step.call_local(*step.args)
        steps += 1
    run.refresh_from_db()

    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    records = set(
        xpm_optout.emailable_links(connected_site).values_list("xpm_contact_id", flat=True)
    )
    # Every opt-out read once, over several steps, with nothing reported as XPM trouble.
    assert run.report["opt_outs"]["read"] == run.usage["opt_outs"]["calls"] == len(records)
    assert len(records) > 10 and steps >= 3
    assert "stopped" not in run.report["opt_outs"]
    assert run.report["errors"] == []
