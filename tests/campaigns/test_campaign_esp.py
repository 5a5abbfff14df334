"""Campaigns through a real ESP backend (django-anymail's Mailgun) talking HTTP to a
stand-in of Mailgun's API on loopback: every recipient once, the ESP's message ids kept, and
the ESP's failures (429, 500, a reply that is not JSON, a refused key, no answer) stop the
send in words and resume cleanly."""

from __future__ import annotations

import socket

import pytest

from wagtail_xpm.campaigns import send
from wagtail_xpm.models import Campaign, CampaignRecipient

pytestmark = pytest.mark.django_db

EVERYONE = [f"p{i:02d}@example.com" for i in range(1, 11)]


@pytest.fixture
def ten(practice):
    client = practice.client("June Co", {"balance_month": "June"})
    return [
        practice.contact(f"Person {i:02d}", f"p{i:02d}@example.com", clients=[client])
        for i in range(1, 11)
    ]


@pytest.fixture
def run(make_campaign, django_capture_on_commit_callbacks):
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


def accepted(esp) -> list[str]:
    return sorted(email.to for email in esp.accepted)


def test_a_campaign_goes_out_through_the_esp(ten, run, esp, use_mailgun):
    use_mailgun(f"{esp.url}/v3")
    campaign = run()
    assert campaign.status == Campaign.Status.SENT and campaign.sent_count == 10
    assert accepted(esp) == EVERYONE
    email = next(e for e in esp.accepted if e.to == "p03@example.com")
    assert email.domain == "mg.example.com" and email.subject == "Hello Person"
    assert "Your balance month is June." in email.text and "Dear Person," in email.html
    # Its own one-click unsubscribe link, and the campaign id for the tracking webhooks.
    assert email.headers["List-Unsubscribe"].startswith("<http://localhost/xpm/unsubscribe/")
    assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email.variables["campaign_id"] == str(campaign.pk)
    row = CampaignRecipient.objects.get(campaign=campaign, email="p03@example.com")
    assert row.message_id == email.message_id


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (429, "Mailgun is limiting how fast the site may send (HTTP 429): resume later."),
        (500, "Mailgun had a problem of its own (HTTP 500): resume later."),
        (503, "Mailgun had a problem of its own (HTTP 503): resume later."),
    ],
)
def test_an_esp_refusing_for_now_stops_the_send_and_resume_sends_everyone_once(
    ten, run, resume, esp, use_mailgun, heard, status, words
):
    use_mailgun(f"{esp.url}/v3")
    esp.fail(status, times=1)
    campaign = run()
    assert campaign.status == Campaign.Status.PAUSED
    assert campaign.message.startswith(words)
    assert (campaign.sent_count, campaign.pending_count) == (0, 10)
    assert [e[0] for e in heard] == ["campaign_paused"]
    assert resume(campaign).status == Campaign.Status.SENT
    assert accepted(esp) == EVERYONE


def test_an_answer_that_is_not_json_is_never_sent_twice(ten, run, resume, esp, use_mailgun):
    use_mailgun(f"{esp.url}/v3")
    esp.malformed(times=1)  # Mailgun took the first email but its answer cannot be read
    campaign = run()
    assert campaign.status == Campaign.Status.PAUSED
    assert "answered in a way the site does not understand" in campaign.message
    first = CampaignRecipient.objects.get(campaign=campaign, email="p01@example.com")
    assert (first.status, first.reason) == ("failed", "interrupted")
    finished = resume(campaign)
    assert (finished.status, finished.sent_count, finished.failed_count) == ("sent", 9, 1)
    assert accepted(esp) == EVERYONE  # p01 once (the unreadable answer), the rest once


def test_a_refused_api_key_names_the_setting(ten, run, esp, use_mailgun):
    use_mailgun(f"{esp.url}/v3", api_key="key-wrong")
    campaign = run()
    assert campaign.status == Campaign.Status.PAUSED
    assert "Mailgun refused the site's credentials (HTTP 401): check the API key in ANYMAIL." in (
        campaign.message
    )
    assert esp.accepted_count == 0


def test_an_esp_that_cannot_be_reached_stops_the_send(ten, run, resume, esp, use_mailgun):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    use_mailgun(f"http://127.0.0.1:{closed_port}/v3")
    campaign = run()
    assert campaign.status == Campaign.Status.PAUSED
    assert "Mailgun could not be reached" in campaign.message
    use_mailgun(f"{esp.url}/v3")
    assert resume(campaign).status == Campaign.Status.SENT
    assert accepted(esp) == EVERYONE


def test_one_address_refused_by_the_esp_is_recorded_and_the_rest_go(ten, run, esp, use_mailgun):
    use_mailgun(f"{esp.url}/v3")
    esp.fail(400, times=1, body={"message": "to parameter is not a valid address"})
    campaign = run()
    assert campaign.status == Campaign.Status.SENT
    assert (campaign.sent_count, campaign.failed_count) == (9, 1)
    row = CampaignRecipient.objects.get(campaign=campaign, email="p01@example.com")
    assert row.error == "Mailgun did not accept this email (HTTP 400)."
