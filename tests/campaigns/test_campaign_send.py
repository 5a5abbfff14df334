"""Batch sending through Django's email backend: everyone once, interruptions never send a
second copy, failures are recorded, the lease keeps a second worker out."""

from __future__ import annotations

from datetime import timedelta
from smtplib import SMTPDataError, SMTPRecipientsRefused

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from wagtail_xpm.campaigns import send
from wagtail_xpm.campaigns.send import Sender, run_campaign
from wagtail_xpm.campaigns.snapshot import take_snapshot
from wagtail_xpm.campaigns.unsubscribe import read_token
from wagtail_xpm.models import Campaign, CampaignRecipient, Contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(make_campaign):
    """A campaign to everyone, queued as "Send now" leaves it (the task not run yet)."""

    def make(**fields) -> Campaign:
        return send.start(make_campaign(**fields))

    return make


@pytest.fixture
def ten(practice):
    """Ten people with a June balance month (and one who is left out, without an email)."""
    client = practice.client("June Co", {"balance_month": "June"})
    people = [
        practice.contact(f"Person {i:02d}", f"p{i:02d}@example.com", clients=[client])
        for i in range(1, 11)
    ]
    practice.contact("No Email", "", clients=[client])
    return people


def sent_to() -> list[str]:
    return [address for message in mail.outbox for address in message.to]


def statuses(campaign: Campaign) -> dict[str, tuple[str, str]]:
    return {
        r.email: (r.status, r.reason)
        for r in CampaignRecipient.objects.filter(campaign=campaign).exclude(email="")
    }


class FlakyBackend(EmailBackend):
    """locmem, except that message number ``fail_at`` raises ``error`` (counting from 1)."""

    def __init__(self, *, fail_at: int, error: BaseException, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fail_at, self.error, self.calls = fail_at, error, 0

    def send_messages(self, messages):
        self.calls += 1
        if self.calls == self.fail_at:
            raise self.error
        return super().send_messages(messages)


def test_sends_everyone_once_with_personal_content(
    ten, make_campaign, django_capture_on_commit_callbacks
):
    campaign = make_campaign()
    with django_capture_on_commit_callbacks(execute=True):
        send.start(campaign)  # Huey runs the task at once in tests
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
    assert (campaign.recipients_total, campaign.sent_count, campaign.excluded_count) == (11, 10, 1)
    assert sorted(sent_to()) == [p.email for p in ten]
    message = next(m for m in mail.outbox if m.to == ["p03@example.com"])
    assert message.subject == "Hello Person"
    assert "Your balance month is June." in message.body
    html = message.alternatives[0][0]
    assert "Dear Person," in html
    # Every email carries its own signed one-click unsubscribe link.
    link = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in html and link in message.body
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert read_token(token).contact_id == Contact.objects.get(email="p03@example.com").pk
    assert read_token(token).campaign_id == campaign.pk
    assert set(statuses(campaign).values()) == {("sent", "")}
    rows = CampaignRecipient.objects.filter(campaign=campaign, status="sent")
    assert all(row.sent_at for row in rows)


def test_batches_and_memory_hooks(ten, queued):
    campaign = queued()
    batches = []
    run_campaign(campaign.pk, batch_size=3, mark_every=2, after_batch=lambda c: batches.append(
        c.sent_count))  # fmt: skip
    assert batches == [3, 6, 9, 10]
    assert sorted(sent_to()) == [p.email for p in ten]


def test_a_send_stopped_halfway_resumes_without_duplicates(ten, queued):
    """A worker stopped politely (SystemExit) records exactly which email was in flight."""
    campaign = queued()
    backend = FlakyBackend(fail_at=5, error=SystemExit("worker stopping"))
    with pytest.raises(SystemExit):
        run_campaign(campaign.pk, batch_size=10, mark_every=3, email_connection=backend)
    first_run = sent_to()
    assert first_run == [p.email for p in ten[:4]]
    state = statuses(campaign)
    assert [state[p.email] for p in ten[:5]] == [("sent", "")] * 4 + [("failed", "interrupted")]
    assert {state[p.email] for p in ten[5:]} == {("pending", "")}
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING and campaign.sender_token == ""

    # The next worker (Huey retry, the periodic pick-up, or Resume) carries on at once.
    resumed = run_campaign(campaign.pk)
    assert resumed.status == Campaign.Status.SENT
    second_run = sent_to()[len(first_run) :]
    assert second_run == [p.email for p in ten[5:]]
    # Nobody got two copies; the one whose email was in flight was not sent it again.
    assert len(sent_to()) == len(set(sent_to())) == 9
    assert (resumed.sent_count, resumed.failed_count) == (9, 1)


def test_a_crashed_sender_is_taken_over_and_nothing_is_sent_twice(
    ten, queued, monkeypatch, settings
):
    """A process killed outright cleans nothing up: the next sender waits for the lease to go
    stale, then settles the dead claims at most once."""
    campaign = queued()
    for cleanup in ("flush_quietly", "mark_quietly", "release_quietly"):
        monkeypatch.setattr(Sender, cleanup, lambda self, *a, **k: None)
    monkeypatch.setattr(Sender, "unclaim", lambda self, rows, quietly=False: None)
    backend = FlakyBackend(fail_at=5, error=SystemExit("killed"))
    with pytest.raises(SystemExit):
        run_campaign(campaign.pk, batch_size=10, mark_every=3, email_connection=backend)
    monkeypatch.undo()
    delivered = sent_to()
    assert delivered == [p.email for p in ten[:4]]
    # Outcomes were committed every 3 emails: the 4th was delivered but not recorded.
    state = statuses(campaign)
    assert [state[p.email][0] for p in ten] == ["sent"] * 3 + ["claimed"] * 7

    # While the dead sender's heartbeat is fresh, nobody else sends.
    assert run_campaign(campaign.pk).status == Campaign.Status.SENDING
    assert sent_to() == delivered

    stale_after = settings.WAGTAIL_XPM.get("CAMPAIGN_STALE_AFTER", 300)
    stale = timezone.now() - timedelta(seconds=stale_after + 1)
    Campaign.objects.filter(pk=campaign.pk).update(heartbeat_at=stale)
    resumed = run_campaign(campaign.pk)
    assert resumed.status == Campaign.Status.SENT
    # Up to MARK_EVERY claimed rows may have gone out: the 4th did, the 5th and 6th did not,
    # but nobody can tell, so none of them is sent again. The rest were never attempted.
    assert sent_to()[len(delivered) :] == [p.email for p in ten[6:]]
    assert len(sent_to()) == len(set(sent_to()))
    state = statuses(campaign)
    assert [state[p.email] for p in ten[3:6]] == [("failed", "interrupted")] * 3
    assert (resumed.sent_count, resumed.failed_count, resumed.pending_count) == (7, 3, 0)


def test_a_second_worker_leaves_a_live_send_alone(ten, make_campaign):
    campaign = make_campaign()
    send.start(campaign)  # queued (the on-commit enqueue is not run here)
    holder = Sender(campaign.pk)
    assert holder.acquire()
    assert run_campaign(campaign.pk).status == Campaign.Status.SENDING
    assert mail.outbox == []
    assert not Sender(campaign.pk).acquire()


def test_someone_who_unsubscribes_after_the_freeze_is_skipped(ten, make_campaign):
    campaign = make_campaign()
    take_snapshot(campaign)
    Contact.objects.filter(pk=ten[0].pk).update(subscribed=False)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.QUEUED)
    run_campaign(campaign.pk)
    assert ten[0].email not in sent_to() and len(sent_to()) == 9
    assert statuses(campaign)[ten[0].email] == ("excluded", "unsubscribed")


def test_a_refused_email_is_recorded_and_the_rest_go(ten, queued):
    campaign = queued()
    refused = SMTPRecipientsRefused({"p02@example.com": (550, b"No such user")})
    result = run_campaign(campaign.pk, email_connection=FlakyBackend(fail_at=2, error=refused))
    assert result.status == Campaign.Status.SENT
    assert (result.sent_count, result.failed_count) == (9, 1)
    row = CampaignRecipient.objects.get(campaign=campaign, email="p02@example.com")
    assert (row.status, row.reason) == ("failed", "send_error")
    assert row.error == "The mail server refused this address (550 No such user)."
    assert "p02@example.com" not in sent_to()


class RejectingBackend(EmailBackend):
    """Every email is refused for what it is (the same content goes to everyone)."""

    def send_messages(self, messages):
        raise SMTPDataError(554, b"5.7.1 Message rejected as spam")


def test_repeated_refusals_pause_the_send_until_resumed(
    ten, queued, settings, django_capture_on_commit_callbacks
):
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, "CAMPAIGN_MAX_CONSECUTIVE_FAILURES": 3}
    campaign = queued()
    paused = run_campaign(campaign.pk, batch_size=5, email_connection=RejectingBackend())
    assert paused.status == Campaign.Status.PAUSED
    assert paused.message.startswith(
        "3 emails in a row were refused (the last: The mail server rejected this email (554 "
        "5.7.1 Message rejected as spam).) Check the email settings"
    )
    assert (paused.failed_count, paused.pending_count) == (3, 7)
    with django_capture_on_commit_callbacks(execute=True):
        assert send.resume(paused)
    paused.refresh_from_db()
    assert paused.status == Campaign.Status.SENT
    assert sent_to() == [p.email for p in ten[3:]]


def test_scheduled_campaigns_start_when_due(ten, make_campaign):
    campaign = make_campaign()
    when = timezone.now() + timedelta(hours=2)
    send.schedule(campaign, when)
    assert send.due_campaign_ids() == []
    assert send.due_campaign_ids(now=when + timedelta(seconds=1)) == [campaign.pk]
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.QUEUED
    from wagtail_xpm.campaigns import tasks

    assert tasks.send_campaign(campaign.pk) is not None  # immediate mode: runs now
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT and len(sent_to()) == 10


def test_a_lost_task_is_picked_up_again(ten, make_campaign):
    campaign = make_campaign()
    send.start(campaign)
    long_ago = timezone.now() - timedelta(hours=1)
    Campaign.objects.filter(pk=campaign.pk).update(updated_at=long_ago)
    assert send.due_campaign_ids() == [campaign.pk]


def test_cancel_stops_a_queued_send(ten, make_campaign):
    campaign = make_campaign()
    send.start(campaign)
    assert send.cancel(campaign)
    assert run_campaign(campaign.pk).status == Campaign.Status.CANCELLED
    assert mail.outbox == []


def test_not_ready_campaigns_are_refused(practice, make_campaign):
    campaign = make_campaign(subject="", body="<p>{{ acount_manager }}</p>")
    with pytest.raises(send.CampaignNotReady) as refused:
        send.start(campaign)
    assert refused.value.problems == [
        "Write a subject.", "Unknown merge fields: {{ acount_manager }}."
    ]  # fmt: skip
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_a_started_campaign_cannot_start_again(ten, make_campaign):
    campaign = make_campaign()
    send.start(campaign)
    with pytest.raises(send.CampaignNotReady, match="already sent"):
        send.start(campaign)


def test_test_send(ten, make_campaign):
    campaign = make_campaign()
    send.send_test(campaign, "me@example.com")
    (message,) = mail.outbox
    assert message.to == ["me@example.com"]
    assert message.subject == "[Test] Hello Person"  # the first member's merge values
    token = message.extra_headers["List-Unsubscribe"].strip("<>").rstrip("/").rsplit("/", 1)[1]
    assert read_token(token).test is True
    campaign.refresh_from_db()
    assert campaign.test_sent_at is not None and campaign.status == Campaign.Status.DRAFT
