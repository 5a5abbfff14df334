"""Mailgun's signed tracking webhooks, through django-anymail's webhook view (as the ESP
calls it): a hard bounce or a complaint suppresses the address for every future send, soft
bounces count up to a threshold, and forged, unsigned, replayed or stale calls are refused
with nothing changed."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import pytest
from django.core.cache import cache
from django.test import Client

from tests.campaigns.conftest import MAILGUN_SIGNING_KEY
from wagtail_xpm.campaigns import send
from wagtail_xpm.campaigns.snapshot import audience
from wagtail_xpm.models import (
    CampaignRecipient,
    Contact,
    DeliveryEvent,
    EmailSuppression,
)

pytestmark = pytest.mark.django_db

URL = "/anymail/mailgun/tracking/"


@pytest.fixture(autouse=True)
def mailgun(use_mailgun):
    use_mailgun("http://127.0.0.1:9/v3")  # sending is not used here; the signing key is
    cache.clear()  # accepted webhooks are remembered in the cache


@pytest.fixture
def people(practice):
    client = practice.client("June Co", {"balance_month": "June"})
    return [
        practice.contact(name, f"{name.lower()}@example.com", clients=[client])
        for name in ("Ann", "Ben", "Cat", "Dan")
    ]


def signed(event_data: dict, *, key: str = MAILGUN_SIGNING_KEY, when: float | None = None):
    """A webhook body as Mailgun sends it: the event and its HMAC-SHA256 signature."""
    timestamp = str(int(when if when is not None else time.time()))
    token = uuid.uuid4().hex + uuid.uuid4().hex[:18]
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature.hexdigest()},
        "event-data": {"timestamp": float(timestamp), **event_data},
    }


def failed(recipient: str, *, severity="permanent", campaign_id=None, code=550, **extra):
    data = {
        "event": "failed",
        "severity": severity,
        "reason": "bounce" if severity == "permanent" else "generic",
        "recipient": recipient,
        "id": uuid.uuid4().hex,
        "delivery-status": {
            "code": code,
            "message": f"{code} 5.1.1 The email account that you tried to reach does not exist",
            "description": "",
        },
        "message": {"headers": {"message-id": "20261206.1@mg.example.com"}},
        "user-variables": {"campaign_id": str(campaign_id)} if campaign_id else {},
        **extra,
    }
    return data


def post(body, client=None):
    return (client or Client()).post(URL, json.dumps(body), content_type="application/json")


def suppression(address: str) -> tuple[str, int] | None:
    row = EmailSuppression.objects.filter(email_key=address).first()
    return (row.reason, row.soft_bounces) if row else None


def test_a_hard_bounce_suppresses_the_address_for_every_future_send(
    people, make_campaign, django_capture_on_commit_callbacks, esp, use_mailgun
):
    use_mailgun(f"{esp.url}/v3")
    sent = make_campaign()
    assert post(signed(failed("ben@example.com", campaign_id=sent.pk))).status_code == 200
    row = EmailSuppression.objects.get(email_key="ben@example.com")
    assert (row.reason, row.esp) == ("bounced", "Mailgun")
    assert row.suppressed_at is not None and "550 5.1.1" in row.detail
    [event] = DeliveryEvent.objects.all()
    assert (event.event_type, event.campaign_id) == ("hard", sent.pk)

    # The next campaign's live count and its frozen list leave Ben out, saying why.
    campaign = make_campaign(name="July newsletter")
    assert audience(campaign.segment).reasons() == [("bounced", "Bounced", 1)]
    with django_capture_on_commit_callbacks(execute=True):
        send.start(campaign)
    campaign.refresh_from_db()
    assert (campaign.sent_count, campaign.excluded_count) == (3, 1)
    assert sorted(e.to for e in esp.accepted) == [
        "ann@example.com", "cat@example.com", "dan@example.com"
    ]  # fmt: skip
    ben = CampaignRecipient.objects.get(campaign=campaign, email="ben@example.com")
    assert (ben.status, ben.reason) == ("excluded", "bounced")


def test_a_complaint_suppresses_the_address(people, make_campaign):
    body = signed({"event": "complained", "recipient": "Cat@Example.com", "id": "c1"})
    assert post(body).status_code == 200
    assert suppression("cat@example.com") == ("complained", 0)
    assert audience(make_campaign().segment).reasons() == [
        ("complained", "Complained (marked as spam)", 1)
    ]
    # A later hard bounce does not turn a complaint into a bounce.
    post(signed(failed("cat@example.com")))
    assert suppression("cat@example.com") == ("complained", 0)


def test_soft_bounces_suppress_after_the_threshold_and_a_delivery_resets_them(people, settings):
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, "SOFT_BOUNCE_LIMIT": 3}
    for _ in range(2):
        post(signed(failed("dan@example.com", severity="temporary", code=452)))
    assert suppression("dan@example.com") == ("", 2)  # counted, not suppressed
    post(signed({"event": "delivered", "recipient": "dan@example.com", "id": "d1"}))
    assert suppression("dan@example.com") == ("", 0)
    for _ in range(3):
        assert post(signed(failed("dan@example.com", severity="temporary"))).status_code == 200
    row = EmailSuppression.objects.get(email_key="dan@example.com")
    assert (row.reason, row.soft_bounces) == ("bounced", 3)
    assert row.detail.startswith("3 soft bounces in a row.")


def test_an_unsubscribe_reported_by_the_esp_unsubscribes_the_contact(people):
    post(signed({"event": "unsubscribed", "recipient": "ann@example.com", "id": "u1"}))
    ann = Contact.objects.get(email="ann@example.com")
    assert ann.subscribed is False and ann.unsubscribed_at is not None
    assert suppression("ann@example.com") is None


def test_a_bounce_for_an_address_in_no_campaign_is_kept_for_later(practice):
    assert post(signed(failed("stranger@example.org"))).status_code == 200
    assert suppression("stranger@example.org") == ("bounced", 0)
    assert not Contact.objects.exists()
    # Someone added later with that address is left out.
    client = practice.client("New Co", {})
    practice.contact("Stranger", "stranger@example.org", clients=[client])
    from wagtail_xpm.models import Segment

    segment = Segment.objects.create(connection=practice.connection, name="All", rules=[])
    assert audience(segment).reasons() == [("bounced", "Bounced", 1)]


def test_a_bounce_during_a_send_leaves_the_waiting_recipient_out(people, make_campaign):
    campaign = make_campaign()
    send.start(campaign)
    from wagtail_xpm.campaigns.snapshot import take_snapshot

    take_snapshot(campaign)
    post(signed(failed("dan@example.com")))
    dan = CampaignRecipient.objects.get(campaign=campaign, email="dan@example.com")
    assert (dan.status, dan.reason) == ("excluded", "bounced")
    campaign.refresh_from_db()
    assert campaign.excluded_count == 1


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda b: b["signature"].update(signature="0" * 64), id="forged"),
        pytest.param(lambda b: b.pop("signature"), id="unsigned"),
        pytest.param(
            lambda b: b["signature"].update(timestamp=str(int(b["signature"]["timestamp"]) + 1)),
            id="altered-timestamp",
        ),
    ],
)
def test_forged_and_unsigned_webhooks_are_refused_and_change_nothing(people, tamper):
    body = signed(failed("ann@example.com"))
    tamper(body)
    assert post(body).status_code == 400
    assert not EmailSuppression.objects.exists() and not DeliveryEvent.objects.exists()


def test_a_webhook_signed_with_another_key_is_refused(people):
    assert post(signed(failed("ann@example.com"), key="someone-elses-key")).status_code == 400
    assert not EmailSuppression.objects.exists()


def test_a_replayed_webhook_is_refused_and_changes_nothing(people, settings):
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, "SOFT_BOUNCE_LIMIT": 3}
    body = signed(failed("ben@example.com", severity="temporary"))
    assert post(body).status_code == 200
    assert post(body).status_code == 400  # the same call again
    assert suppression("ben@example.com") == ("", 1)
    assert DeliveryEvent.objects.count() == 1


def test_an_old_captured_webhook_is_refused(people):
    two_days_ago = time.time() - 2 * 86400
    assert post(signed(failed("ben@example.com"), when=two_days_ago)).status_code == 400
    assert not EmailSuppression.objects.exists()


def test_the_same_event_recorded_twice_counts_once(people):
    """Even past the cache (another process, a cleared cache), the database keeps one."""
    body = signed(failed("ben@example.com", severity="temporary"))
    post(body)
    cache.clear()
    assert post(body).status_code == 200
    assert suppression("ben@example.com") == ("", 1)
    assert DeliveryEvent.objects.count() == 1


# Anymail warns about exactly the configuration this test shows we refuse.
@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailInsecureWebhookWarning")
def test_a_basic_auth_esp_without_a_webhook_secret_is_refused(people, settings):
    # Postmark's tracking webhook is protected by basic auth only: with no
    # ANYMAIL["WEBHOOK_SECRET"], anymail would accept anyone's POST. We refuse it.
    settings.ANYMAIL = {k: v for k, v in settings.ANYMAIL.items() if k != "WEBHOOK_SECRET"}
    bounce = {
        "RecordType": "Bounce",
        "Type": "HardBounce",
        "TypeCode": 1,
        "ID": 42,
        "MessageID": str(uuid.uuid4()),
        "Email": "ann@example.com",
        "BouncedAt": "2026-12-06T10:00:00Z",
        "Description": "The server was unable to deliver your message",
        "Details": "smtp;550 5.1.1 unknown user",
    }
    response = Client().post(
        "/anymail/postmark/tracking/", json.dumps(bounce), content_type="application/json"
    )
    assert response.status_code == 400
    assert not EmailSuppression.objects.exists() and not DeliveryEvent.objects.exists()
    assert Contact.objects.get(email="ann@example.com").subscribed
