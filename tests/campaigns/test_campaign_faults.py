"""A mail server that cannot be used stops a campaign at once, with the reason in words,
every unsent recipient still waiting, and administrators told; Resume sends each of them
exactly once. Against a real SMTP server on loopback (wagtail_xpm/sandbox/mail.py) with the
faults real ones have."""

from __future__ import annotations

import socket
import time

import pytest
from django.core import mail

from wagtail_xpm.campaigns import send
from wagtail_xpm.models import Campaign, CampaignRecipient

pytestmark = pytest.mark.django_db


@pytest.fixture
def ten(practice):
    client = practice.client("June Co", {"balance_month": "June"})
    return [
        practice.contact(f"Person {i:02d}", f"p{i:02d}@example.com", clients=[client])
        for i in range(1, 11)
    ]


@pytest.fixture
def run(make_campaign, django_capture_on_commit_callbacks):
    """Press "Send now" on a new campaign to everyone; Huey runs the task at once."""

    def start(**fields) -> Campaign:
        campaign = make_campaign(**fields)
        with django_capture_on_commit_callbacks(execute=True):
            send.start(campaign)
        campaign.refresh_from_db()
        return campaign

    return start


@pytest.fixture
def resume(django_capture_on_commit_callbacks):
    def press(campaign: Campaign) -> Campaign:
        with django_capture_on_commit_callbacks(execute=True):
            assert send.resume(campaign)
        campaign.refresh_from_db()
        return campaign

    return press


def rows(campaign) -> dict[str, tuple[str, str]]:
    return {
        r.email: (r.status, r.reason) for r in CampaignRecipient.objects.filter(campaign=campaign)
    }


def delivered(catcher) -> list[str]:
    return sorted(address for m in catcher.mailbox.messages() for address in m.rcpt_tos)


EVERYONE = [f"p{i:02d}@example.com" for i in range(1, 11)]


def assert_stopped_with_everyone_waiting(campaign, heard, words):
    assert campaign.status == Campaign.Status.PAUSED
    assert words in campaign.message
    assert "Nothing is lost: 10 people not sent yet" in campaign.message
    assert (campaign.sent_count, campaign.failed_count, campaign.pending_count) == (0, 0, 10)
    assert set(rows(campaign).values()) == {("pending", "")}
    assert campaign.sender_token == ""
    [(event, data)] = [e for e in heard if e[0] == "campaign_paused"]
    assert words in data["reason"] and data["waiting"] == 10
    assert data["admin_url"].endswith(f"/admin/xpm/campaigns/{campaign.pk}/send/")


def test_a_mail_server_that_refuses_connections_stops_the_send_and_resume_finishes_it(
    ten, run, resume, mail_server, use_smtp, heard
):
    use_smtp(mail_server.port)
    mail_server.down()
    campaign = run()
    assert_stopped_with_everyone_waiting(
        campaign, heard, f"The mail server at 127.0.0.1:{mail_server.port} refused the connection"
    )
    assert "Errno" not in campaign.message  # words, not the exception

    mail_server.up()
    finished = resume(campaign)
    assert finished.status == Campaign.Status.SENT
    assert (finished.sent_count, finished.failed_count, finished.pending_count) == (10, 0, 0)
    assert delivered(mail_server) == EVERYONE  # each exactly once


def test_a_mail_server_that_never_answers_stops_the_send_within_its_timeout(
    ten, run, resume, mail_server, use_smtp, heard
):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # connections complete, nobody ever says hello
    try:
        use_smtp(silent.getsockname()[1], timeout=1)
        started = time.monotonic()
        campaign = run()
        assert time.monotonic() - started < 10
    finally:
        silent.close()
    assert_stopped_with_everyone_waiting(campaign, heard, "did not answer in time")

    use_smtp(mail_server.port)
    assert resume(campaign).status == Campaign.Status.SENT
    assert delivered(mail_server) == EVERYONE


def test_no_answer_after_an_email_was_handed_over_never_sends_it_twice(
    ten, run, resume, mail_server, use_smtp
):
    use_smtp(mail_server.port, timeout=1)
    mail_server.faults.stall_data = True
    campaign = run()
    assert campaign.status == Campaign.Status.PAUSED
    assert "did not answer in time" in campaign.message
    state = rows(campaign)
    # The first email may have been accepted: it is settled as interrupted, never re-sent.
    assert state["p01@example.com"] == ("failed", "interrupted")
    assert {state[a] for a in EVERYONE[1:]} == {("pending", "")}

    mail_server.faults.reset()
    finished = resume(campaign)
    assert finished.status == Campaign.Status.SENT
    assert (finished.sent_count, finished.failed_count) == (9, 1)
    assert delivered(mail_server) == EVERYONE[1:]


def test_a_connection_closed_in_the_middle_of_an_email_keeps_everyone_waiting(
    ten, run, resume, mail_server, use_smtp, heard
):
    use_smtp(mail_server.port)
    mail_server.faults.drop_in_data = True
    campaign = run()
    assert_stopped_with_everyone_waiting(campaign, heard, "the email was not accepted")
    mail_server.faults.reset()
    assert resume(campaign).status == Campaign.Status.SENT
    assert delivered(mail_server) == EVERYONE


def test_a_refused_recipient_is_recorded_in_words_and_the_rest_are_sent(
    ten, run, mail_server, use_smtp, heard
):
    use_smtp(mail_server.port)
    mail_server.faults.reject("p03@example.com")
    campaign = run()
    assert campaign.status == Campaign.Status.SENT
    assert (campaign.sent_count, campaign.failed_count) == (9, 1)
    row = CampaignRecipient.objects.get(campaign=campaign, email="p03@example.com")
    assert (row.status, row.reason) == ("failed", "send_error")
    assert row.error.startswith(f"The mail server at 127.0.0.1:{mail_server.port} refused this")
    assert "550 5.1.1" in row.error and "SMTPRecipientsRefused" not in row.error
    assert delivered(mail_server) == [a for a in EVERYONE if a != "p03@example.com"]
    assert not [e for e in heard if e[0] == "campaign_paused"]


def test_a_refused_login_stops_the_send_and_names_the_settings(
    ten, run, mail_server, use_smtp, heard
):
    from wagtail_xpm import mailer

    mail_server.faults.require_login("news", "right")
    use_smtp(mail_server.port, username="news", password="wrong")
    campaign = run()
    words = "refused the login: check "
    assert_stopped_with_everyone_waiting(campaign, heard, words)
    if mailer.has_mailers():
        assert 'MAILERS["default"]["OPTIONS"]["username"]' in campaign.message
    else:
        assert "check EMAIL_HOST_USER and EMAIL_HOST_PASSWORD" in campaign.message


def test_a_server_that_asks_to_try_later_stops_the_send(ten, run, mail_server, use_smtp, heard):
    use_smtp(mail_server.port)
    mail_server.faults.temporary = True
    campaign = run()
    assert_stopped_with_everyone_waiting(campaign, heard, "(451 4.3.0")
    assert mail_server.mailbox.messages() == []


def test_the_administrators_are_emailed_when_email_works(
    ten, make_campaign, settings, django_capture_on_commit_callbacks
):
    """The mail server refuses the campaign's sender (a setting, so it stops) but still
    delivers the administrators' notice."""
    from smtplib import SMTPSenderRefused

    from django.core.mail.backends.locmem import EmailBackend

    class RefusesTheCampaignSender(EmailBackend):
        def send_messages(self, messages):
            if messages[0].from_email.endswith("<news@example.com>"):
                raise SMTPSenderRefused(553, b"5.7.1 Sender not owned by user", "news@example.com")
            return super().send_messages(messages)

    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.WAGTAILADMIN_BASE_URL = "https://cms.example.com"
    campaign = make_campaign()
    send.start(campaign)
    result = send.run_campaign(campaign.pk, email_connection=RefusesTheCampaignSender())
    assert result.status == Campaign.Status.PAUSED
    assert "refused the sender address news@example.com" in result.message
    [notice] = mail.outbox
    assert notice.to == ["ops@example.com"]
    assert notice.subject.endswith("Campaign 'June newsletter' stopped sending")
    assert "refused the sender address" in notice.body
    assert "10 recipients were not sent it yet" in notice.body
    assert f"https://cms.example.com/admin/xpm/campaigns/{campaign.pk}/send/" in notice.body


def test_a_worker_holding_no_lease_cannot_pause_a_cancelled_send(ten, make_campaign, mail_server):
    """Cancelling while the mail server is down: the cancellation stands."""
    from wagtail_xpm.campaigns.send import Sender

    campaign = make_campaign()
    send.start(campaign)
    sender = Sender(campaign.pk)
    assert sender.acquire()
    send.cancel(campaign)
    sender.stop(campaign, "The mail server is down.")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELLED


def test_when_email_is_down_the_administrators_email_fails_in_one_line(
    ten, run, mail_server, use_smtp, settings, caplog
):
    settings.ADMINS = [("Ops", "ops@example.com")]
    use_smtp(mail_server.port)
    mail_server.down()
    with caplog.at_level("WARNING", logger="wagtail_xpm.notifications"):
        campaign = run()
    assert campaign.status == Campaign.Status.PAUSED
    [record] = [r for r in caplog.records if r.name == "wagtail_xpm.notifications"]
    assert record.getMessage().startswith(
        "Could not email administrators about campaign_paused: The mail server refused the "
    )
    assert record.exc_info is None
