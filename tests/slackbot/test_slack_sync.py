"""/xpm sync: acknowledged at once, queued as the admin's Huey task, one message updated
in place with progress and then the summary."""

from __future__ import annotations

import threading

import pytest
from slack_helpers import CHANNEL, MANAGER, run_scheduled_tasks

from wagtail_xpm.models import FieldMapping, SyncRun


def posted(slack_mock) -> dict:
    messages = slack_mock.calls_to("chat.postMessage")
    assert len(messages) == 1, messages
    return messages[0]


def test_sync_runs_the_queued_task_and_ends_with_the_summary(
    slack, slack_mock, manager, connected_site, django_capture_on_commit_callbacks, clear_schedule
):
    with django_capture_on_commit_callbacks(execute=True):
        response = slack.command("sync")
        assert response.status_code == 200
        assert response.content == b""  # the ack
        # Queued, not run yet: the message says so.
        first = posted(slack_mock)
        assert first["channel"] == CHANNEL
        assert "is queued" in first["text"]
    run = SyncRun.objects.get()
    assert (run.trigger, run.triggered_by, run.status) == ("slack", manager, "succeeded")
    assert not slack_mock.calls_to("chat.update")
    assert run_scheduled_tasks() == 1
    updates = slack_mock.calls_to("chat.update")
    assert len(updates) == 1
    final = updates[0]
    assert (final["channel"], final["ts"]) == (CHANNEL, "1700000000.000001")
    assert final["text"].startswith(f"XPM sync #{run.pk} succeeded: {run.created} created")
    fields = str(final["blocks"])
    assert f"{run.api_calls:,}" in fields
    assert f"/admin/xpm/sync-history/inspect/{run.pk}/" in fields
    # Finished: nothing more is scheduled, and nothing more is said.
    assert run_scheduled_tasks() == 0
    assert len(slack_mock.calls_to("chat.update")) == 1


def test_sync_message_is_updated_with_progress_while_it_runs(
    slack,
    slack_mock,
    manager,
    connected_site,
    django_capture_on_commit_callbacks,
    clear_schedule,
    monkeypatch,
):
    """The follower's checks run whenever the sync saves progress, as a consumer's
    scheduler would run them during a long sync."""
    from wagtail_xpm.sync import engine, runs

    FieldMapping.objects.create(
        connection=connected_site, source="custom:Plan Level", key="plan_level", label="Plan Level"
    )
    monkeypatch.setattr(engine, "PROGRESS_EVERY_SECONDS", 0)
    original = runs.save_progress

    def save_progress_then_check(run):
        original(run)
        run_scheduled_tasks()

    monkeypatch.setattr(runs, "save_progress", save_progress_then_check)
    with django_capture_on_commit_callbacks(execute=True):
        slack.command("sync")
    run_scheduled_tasks()
    run = SyncRun.objects.get()
    assert run.status == "succeeded"
    message = posted(slack_mock)
    updates = slack_mock.calls_to("chat.update")
    assert {(u["channel"], u["ts"]) for u in updates} == {(CHANNEL, "1700000000.000001")}
    texts = [u["text"] for u in updates]
    assert any("running: Reading clients from XPM" in t for t in texts), texts
    custom = [t for t in texts if "Reading custom fields" in t]
    assert len(custom) >= 5, texts
    percents = [int(t.rsplit("(", 1)[1].split("%")[0]) for t in custom if "%" in t]
    assert percents == sorted(percents) and percents[-1] == 100
    assert any("Updating contacts" in t for t in texts), texts
    assert texts[-1].startswith(f"XPM sync #{run.pk} succeeded")
    # Each update changed something (unchanged checks are not sent).
    assert len(texts) == len({str(u["blocks"]) for u in updates})
    for update in updates:
        if "Reading custom fields" in update["text"] and "%" in update["text"]:
            percent = int(update["text"].rsplit("(", 1)[1].split("%")[0])
            filled = round(20 * percent / 100)
            assert f"`{'▓' * filled}{'░' * (20 - filled)}`" in str(update["blocks"])
    assert message["text"] != texts[-1]


def test_sync_full_dry_run(
    slack, slack_mock, manager, connected_site, django_capture_on_commit_callbacks, clear_schedule
):
    with django_capture_on_commit_callbacks(execute=True):
        slack.command("sync --full dry-run")
    run_scheduled_tasks()
    run = SyncRun.objects.get()
    assert run.full and run.dry_run
    final = slack_mock.calls_to("chat.update")[-1]
    assert "full, dry run" in str(final["blocks"])
    assert "Would create" in str(final["blocks"])
    assert "nothing was changed (dry run)" in str(final["blocks"])


def test_sync_rejects_unknown_options(slack, slack_mock, manager, connected_site):
    slack.command("sync everything")
    assert "`everything` is not a sync option" in slack.reply_text()
    assert not SyncRun.objects.exists()
    assert not slack_mock.calls_to("chat.postMessage")


def test_sync_while_another_runs(slack, slack_mock, manager, connected_site):
    from django.utils import timezone

    running = SyncRun.objects.create(
        connection=connected_site,
        trigger="schedule",
        status="running",
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        phase="Reading custom fields",
        progress_done=3,
        progress_total=10,
    )
    slack.command("sync")
    assert f"A sync is already running: #{running.pk}, Reading custom fields (30%)" in (
        slack.reply_text()
    )
    assert SyncRun.objects.count() == 1


def test_sync_needs_a_usable_connection(slack, slack_mock, manager, connected_site):
    connected_site.status = "needs_reauth"
    connected_site.save()
    slack.command("sync")
    assert "The XPM connection is not usable: Needs re-authorisation" in slack.reply_text()
    assert not SyncRun.objects.exists()


def test_sync_outside_the_bots_channels_goes_to_a_direct_message(
    slack, slack_mock, manager, connected_site, django_capture_on_commit_callbacks, clear_schedule
):
    slack_mock.errors["chat.postMessage"] = ("not_in_channel", "C0SECRET")
    with django_capture_on_commit_callbacks(execute=True):
        slack.command("sync", channel="C0SECRET")
    messages = slack_mock.calls_to("chat.postMessage")
    assert [m["channel"] for m in messages] == ["C0SECRET", MANAGER]
    assert "direct messages" in slack.reply_text()
    run_scheduled_tasks()
    update = slack_mock.calls_to("chat.update")[-1]
    assert update["channel"] == "D" + MANAGER[1:]
    assert "succeeded" in update["text"]


def test_following_is_bounded(slack, slack_mock, manager, connected_site, settings, clear_schedule):
    """A run no worker picks up is followed for SLACK_FOLLOW_MAX_SECONDS, then left."""
    settings.SLACK_FOLLOW_MAX_SECONDS = 6  # three checks at the 2 s interval
    slack.command("sync")  # on_commit never fires in this test: the run stays queued
    checks = 0
    while run_scheduled_tasks():
        checks += 1
        assert checks < 10
    assert checks == 3
    updates = slack_mock.calls_to("chat.update")
    assert "stopped following the sync after 0 minutes" in str(updates[-1]["blocks"])
    # The queued state did not change in between: only the last check said something.
    assert len(updates) == 1


def test_following_stops_when_the_message_is_gone(
    slack, slack_mock, manager, connected_site, clear_schedule
):
    slack.command("sync")
    slack_mock.errors["chat.update"] = ("message_not_found", None)
    SyncRun.objects.update(phase="Reading clients from XPM", status="running")
    assert run_scheduled_tasks() == 1
    assert run_scheduled_tasks() == 0


@pytest.mark.django_db(transaction=True)
def test_ack_comes_first_while_the_work_is_slow(
    client, slack_mock, slack_settings, manager, connected_site, running_sandbox, settings
):
    """As deployed (ack in the request, the work on Bolt's threads) Slack hears back at
    once even though Slack's users.info and XPM are both slow; the sync runs after.

    Told by order, not by the clock: users.info is held unanswered until Slack has its
    answer, so the ack cannot have waited for it, and nothing was posted before."""
    from slack_helpers import SlackDriver

    settings.SLACK_BACKGROUND_WORK = True
    users_info = slack_mock.holds["users.info"] = threading.Event()
    running_sandbox.sandbox.faults.slow(0.5)
    slack = SlackDriver(client=client, mock=slack_mock)
    response = slack.command("sync")
    assert response.status_code == 200
    assert slack_mock.calls_to("users.info") == []
    assert slack_mock.calls_to("chat.postMessage") == []
    assert not SyncRun.objects.exists()
    users_info.set()
    # Huey runs tasks immediately in tests, so the sync finished inside the Bolt thread.
    message = slack_mock.wait_for("chat.postMessage", timeout=60)[0]
    assert message["text"].startswith("XPM sync #")
    assert "succeeded" in message["text"]
    assert slack_mock.calls_to("users.info")  # the held call was made, after the ack
