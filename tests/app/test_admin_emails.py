"""Administrators hear about failed syncs, a low budget and a lost connection by email,
once per connection per window, even on a site without the Slack bot."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.cache import cache

from wagtail_xpm import services
from wagtail_xpm.models import SyncRun, XpmConnection
from wagtail_xpm.xpm.errors import XpmError


@pytest.fixture(autouse=True)
def admins(settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.WAGTAILADMIN_BASE_URL = "https://firm.example"
    cache.clear()  # the repeat windows live in the cache


def test_a_failed_sync_is_emailed_once_per_window(connected_site, running_sandbox):
    running_sandbox.sandbox.faults.outage(100)  # XPM down for both runs
    first = services.run_sync(connected_site)
    second = services.run_sync(XpmConnection.objects.get(pk=connected_site.pk))
    running_sandbox.sandbox.faults.reset()

    assert first.status == second.status == SyncRun.Status.FAILED
    # An outage is worded as one, not as XPM refusing the site.
    assert first.message.startswith("XPM could not be reached")
    assert "stopped before changing anything" in first.message
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ops@example.com"]
    assert "sync" in message.subject and "failed" in message.subject
    assert first.message in message.body
    assert f"https://firm.example/admin/xpm/sync-history/inspect/{first.pk}/" in message.body


def test_a_connection_needing_reauthorisation_is_emailed(
    connected_site, running_sandbox, django_capture_on_commit_callbacks
):
    # The refresh token was spent elsewhere and the grace window has passed.
    services.oauth().refresh(connected_site.get_token_set())
    running_sandbox.sandbox.advance(seconds=61 * 60)
    for _ in range(2):  # two workers hit the refusal: one email
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(XpmError):
            services.client_for(XpmConnection.objects.get(pk=connected_site.pk)).list_staff()

    assert len(mail.outbox) == 1
    assert "Reconnect" in mail.outbox[0].subject
    assert "invalid_grant" in mail.outbox[0].body
    assert "https://firm.example/admin/xpm/" in mail.outbox[0].body


def test_a_low_budget_is_emailed(connected_site):
    from wagtail_xpm import notifications

    notifications.notify(  # as the sync runner sends it when a run stops for the reserve
        "budget_low",
        connection=connected_site,
        run=None,
        remaining=40,
        reserve=50,
        reason="Stopped early.",
    )
    assert len(mail.outbox) == 1
    assert "40 XPM calls are left today" in mail.outbox[0].body
