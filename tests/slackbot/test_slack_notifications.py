"""Notifications to the ops channel: sync failed, re-authorisation needed, budget low, a
website enquiry that could not be delivered (or is waiting).

Posts are queued when the noticing transaction commits; ``committed`` runs the callbacks
of the test's transaction as a commit would.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from wagtail_xpm import notifications, services
from wagtail_xpm.models import SyncRun, XpmConnection

ALERTS = "C0ALERTS"


@pytest.fixture
def alerts(slack_settings, settings):
    settings.SLACK_NOTIFY_CHANNEL = ALERTS
    return settings


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def posts(slack_mock) -> list[dict]:
    return slack_mock.calls_to("chat.postMessage")


def test_undeliverable_enquiry_is_posted_without_personal_data(
    alerts, slack_mock, connected_site, committed
):
    from wagtail_xpm.models import LeadSubmission

    submission = LeadSubmission.objects.create(
        site=connected_site.site,
        connection=connected_site,
        status="failed",
        name="Pat Private",
        email="pat.private@example.com",
    )
    with committed():
        notifications.notify(
            "lead_failed",
            submission=submission,
            reason="XPM refused the lead owner.",
            admin_url="https://cms.example.com/admin/leads/1/",
        )
    [post] = posts(slack_mock)
    assert post["channel"] == ALERTS
    assert post["text"].startswith("A website enquiry could not be sent to XPM: XPM refused")
    assert "https://cms.example.com/admin/leads/1/" in str(post["blocks"])
    assert "Pat" not in str(post) and "pat.private" not in str(post)


def test_nothing_is_posted_before_the_transaction_commits(
    alerts, slack_mock, default_site, committed
):
    with committed():
        notifications.notify("leads_waiting", site=default_site, reason="x", count=1, admin_url="")
        assert posts(slack_mock) == []
    assert len(posts(slack_mock)) == 1


def test_waiting_enquiries_are_posted(alerts, slack_mock, default_site, committed):
    with committed():
        notifications.notify(
            "leads_waiting", site=default_site, reason="No lead owner is chosen.", count=3,
            admin_url="",
        )  # fmt: skip
    [post] = posts(slack_mock)
    assert post["text"] == (
        "3 website enquiries waiting for XPM: No lead owner is chosen. They are kept and will "
        "be sent once this is fixed."
    )


def test_nothing_is_posted_without_a_channel(slack_settings, slack_mock, default_site, committed):
    with committed() as callbacks:
        notifications.notify("leads_waiting", site=default_site, reason="x", count=1, admin_url="")
    assert callbacks == []
    assert posts(slack_mock) == []


def test_unknown_events_are_ignored(alerts, slack_mock, db, committed):
    with committed() as callbacks:
        notifications.notify("something_new", value=1)
    assert callbacks == []
    assert posts(slack_mock) == []


def test_failed_sync_is_posted_once(alerts, slack_mock, connected_site, running_sandbox, committed):
    running_sandbox.sandbox.faults.outage(1000, status=500)
    with committed():
        run = services.run_sync(connected_site, trigger="schedule")
    assert run.status == "failed"
    [post] = posts(slack_mock)
    assert post["channel"] == ALERTS
    assert post["text"].startswith(f"XPM sync #{run.pk} failed for {connected_site.tenant_name}")
    assert f"/admin/xpm/sync-history/inspect/{run.pk}/" in str(post["blocks"])
    with committed():
        run.save()  # saved again (e.g. by an admin action): still one message
    assert len(posts(slack_mock)) == 1


def test_successful_sync_posts_nothing(alerts, slack_mock, connected_site, committed):
    with committed():
        run = services.run_sync(connected_site, trigger="schedule")
    assert run.status == "succeeded"
    assert posts(slack_mock) == []


def test_reauthorisation_is_posted_once_per_loss(alerts, slack_mock, connected_site, committed):
    def lose_access():
        # What the token store does when Xero refuses the refresh token.
        connection = XpmConnection.objects.get(pk=connected_site.pk)
        connection.status = XpmConnection.Status.NEEDS_REAUTH
        connection.last_error = "Xero refused the stored refresh token (invalid_grant)."
        with committed():
            connection.save(update_fields=["status", "last_error", "updated_at"])

    lose_access()
    lose_access()
    assert len(posts(slack_mock)) == 1
    post = posts(slack_mock)[0]
    assert "needs re-authorisation" in post["text"]
    assert "invalid_grant" in post["text"]
    # Reconnected, then lost again: that is news again.
    connection = XpmConnection.objects.get(pk=connected_site.pk)
    connection.status = XpmConnection.Status.CONNECTED
    connection.save()
    lose_access()
    assert len(posts(slack_mock)) == 2


class TestLowBudget:
    @pytest.fixture
    def sandbox_options(self):
        # A practice near XPM's daily limit: a sync leaves fewer than twice the reserve.
        return {"allowed_redirect_uris": ["http://testserver/admin/xpm/callback/"],
                "day_limit": 160}  # fmt: skip

    def test_low_budget_is_posted_once_a_day(self, alerts, slack_mock, connected_site, committed):
        with committed():
            run = services.run_sync(connected_site, trigger="schedule")
        assert run.day_calls_remaining is not None and run.day_calls_remaining <= 200
        [post] = posts(slack_mock)
        assert post["text"].startswith(f"XPM daily budget is low for {connected_site.tenant_name}")
        assert f"{run.day_calls_remaining:,} API calls left today" in post["text"]
        with committed():
            services.run_sync(connected_site, trigger="schedule")
        assert len(posts(slack_mock)) == 1

    def test_dry_runs_do_not_count(self, alerts, slack_mock, connected_site, committed):
        with committed():
            services.run_sync(connected_site, trigger="schedule", dry_run=True)
        assert posts(slack_mock) == []


def test_a_slack_error_does_not_break_the_caller(alerts, slack_mock, connected_site, committed):
    slack_mock.errors["chat.postMessage"] = ("channel_not_found", None)
    run = SyncRun.objects.create(connection=connected_site, trigger="cli")
    run.status = "failed"
    run.finished_at = timezone.now()
    run.message = "boom"
    with committed():
        run.save()  # the post fails (logged), the save stands
    assert SyncRun.objects.get(pk=run.pk).status == "failed"
    assert len(posts(slack_mock)) == 1


def test_a_stopped_campaign_is_posted_with_its_reason(alerts, slack_mock, db, committed):
    from types import SimpleNamespace

    with committed():
        notifications.notify(
            "campaign_paused",
            campaign=SimpleNamespace(pk=7, name="June newsletter"),
            reason="The mail server at smtp.example.com:587 refused the login.",
            waiting=1234,
            admin_url="https://cms.example.com/admin/xpm/campaigns/7/send/",
        )
    [post] = posts(slack_mock)
    assert post["text"].startswith("Campaign 'June newsletter' stopped sending: The mail server")
    assert "1,234 recipients wait; nobody is sent it twice" in post["text"]
    assert "https://cms.example.com/admin/xpm/campaigns/7/send/" in str(post["blocks"])
