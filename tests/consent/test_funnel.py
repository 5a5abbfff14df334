"""Every change of marketing status goes through one funnel (wagtail_xpm/consent/status.py):
the email's unsubscribe link and one-click header, the ESP's reports, an editor in the
admin. Each leaves a ledger row saying what, when, how, by whom and from where."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from wagtail.models import ModelLogEntry

from tests.segments.segment_factories import make_connection
from wagtail_xpm import audit
from wagtail_xpm.campaigns.unsubscribe import make_token, unsubscribe_path
from wagtail_xpm.consent import optin, status
from wagtail_xpm.models import ConsentConfirmation, ConsentEvent, Contact

pytestmark = pytest.mark.django_db

Action, Actor = ConsentEvent.Action, ConsentEvent.Actor
SIGNING_KEY = "whsk-consent-tests"


def rows(contact, action=None):
    found = ConsentEvent.objects.filter(contact=contact).order_by("created_at", "pk")
    return list(found.filter(action=action) if action else found)


@pytest.fixture
def ann(practice):
    return Contact.objects.create(
        connection=practice, name="Ann Smith", email="ann@example.com", subscribed=True
    )


def pending_for(contact) -> ConsentConfirmation:
    consent = optin.FormConsent(page=None, wording="News please", address=None, detail={})
    return optin.request_confirmation(contact, consent)


# --- the email's own links ---------------------------------------------------------------------


def test_the_unsubscribe_pages_button_is_recorded_as_the_persons_link(ann):
    waiting = pending_for(ann)
    response = Client().post(unsubscribe_path(make_token(ann.pk)), REMOTE_ADDR="192.0.2.44")
    assert response.status_code == 200
    ann.refresh_from_db()
    assert ann.subscribed is False and ann.unsubscribed_at is not None
    [row] = rows(ann, Action.UNSUBSCRIBED_LINK)
    assert (row.subscribed, row.actor, row.user) == (False, Actor.PERSON, None)
    assert row.ip_prefix == "192.0.2.0/24"
    waiting.refresh_from_db()
    assert waiting.voided_at is not None  # an old confirmation link cannot undo it
    # Site history shows the person's own change too, with no user behind it.
    [entry] = ModelLogEntry.objects.filter(action=audit.CONSENT_CHANGE, object_id=str(ann.pk))
    assert entry.user is None and entry.data["actor"] == Actor.PERSON
    assert entry.data["what"] == "unsubscribed (Unsubscribed by the email's link)"
    # A second click changes nothing and records nothing.
    Client().post(unsubscribe_path(make_token(ann.pk)))
    assert len(rows(ann, Action.UNSUBSCRIBED_LINK)) == 1
    assert ModelLogEntry.objects.filter(action=audit.CONSENT_CHANGE).count() == 1


def test_the_one_click_header_post_is_recorded_as_one_click(ann):
    # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click", without cookies.
    Client(enforce_csrf_checks=True).post(
        unsubscribe_path(make_token(ann.pk, 7)),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
        REMOTE_ADDR="2001:db8:abcd:12::1",
    )
    [row] = rows(ann)
    assert row.action == Action.UNSUBSCRIBED_ONE_CLICK and row.actor == Actor.PERSON
    assert row.ip_prefix == "2001:db8:abcd::/48"
    assert row.detail == {"campaign": 7}


def test_opening_the_unsubscribe_page_records_nothing(ann):
    Client().get(unsubscribe_path(make_token(ann.pk)))
    ann.refresh_from_db()
    assert ann.subscribed is True and rows(ann) == []


# --- the ESP's reports (django-anymail's Mailgun webhook, signed as Mailgun signs) -------------


@pytest.fixture
def mailgun(settings):
    settings.ANYMAIL = {
        "MAILGUN_API_KEY": "key-standin",
        "MAILGUN_SENDER_DOMAIN": "mg.example.com",
        "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY,
    }
    cache.clear()

    def post(event: dict):
        timestamp = str(int(time.time()))
        token = uuid.uuid4().hex
        signature = hmac.new(SIGNING_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
        body = {
            "signature": {
                "timestamp": timestamp,
                "token": token,
                "signature": signature.hexdigest(),
            },
            "event-data": {"timestamp": float(timestamp), "id": uuid.uuid4().hex, **event},
        }
        response = Client().post(
            "/anymail/mailgun/tracking/", json.dumps(body), content_type="application/json"
        )
        assert response.status_code == 200
        return response

    return post


@pytest.fixture
def ann_elsewhere(ann):
    """The same person, known to a second practice on another site."""
    return Contact.objects.create(
        connection=make_connection(), name="Ann", email="Ann@Example.com", subscribed=True
    )


def test_an_esp_unsubscribe_goes_through_the_funnel_for_every_contact_with_the_address(
    ann, ann_elsewhere, mailgun
):
    waiting = pending_for(ann)
    mailgun({"event": "unsubscribed", "recipient": "ann@example.com"})
    for contact in (ann, ann_elsewhere):
        contact.refresh_from_db()
        assert contact.subscribed is False
        [row] = rows(contact, Action.UNSUBSCRIBED_ESP)
        assert (row.actor, row.subscribed) == (Actor.ESP, False)
        assert row.detail["esp"] == "Mailgun"
    waiting.refresh_from_db()
    assert waiting.voided_at is not None


@pytest.mark.parametrize(
    "event, action",
    [
        (
            {"event": "failed", "severity": "permanent", "reason": "bounce"},
            Action.SUPPRESSED_BOUNCE,
        ),
        ({"event": "complained"}, Action.SUPPRESSED_COMPLAINT),
    ],
    ids=["bounce", "complaint"],
)
def test_a_suppression_is_recorded_for_each_contact_with_the_address(
    ann, ann_elsewhere, mailgun, event, action
):
    mailgun({**event, "recipient": "ann@example.com"})
    for contact in (ann, ann_elsewhere):
        [row] = rows(contact)
        assert (row.action, row.actor) == (action, Actor.ESP)
        # Campaigns skip the address (EmailSuppression); the status itself is unchanged.
        assert row.subscribed is True
    # Reported again: already suppressed, nothing new in the ledger.
    mailgun({**event, "recipient": "ann@example.com"})
    assert len(rows(ann)) == 1


# --- an editor in the admin --------------------------------------------------------------------


def test_an_editors_unsubscribe_and_resubscribe_are_recorded_and_audited(ann, admin_client):
    url = reverse("wagtail_xpm_campaigns:contact_subscription", args=[ann.pk])
    admin_client.post(url, {"subscribed": "0"}, REMOTE_ADDR="198.51.100.9")
    admin_client.post(url, {"subscribed": "1"}, REMOTE_ADDR="198.51.100.9")

    ann.refresh_from_db()
    assert ann.subscribed is True
    off, on = rows(ann)
    assert (off.action, off.subscribed, on.action, on.subscribed) == (
        Action.UNSUBSCRIBED_EDITOR,
        False,
        Action.SUBSCRIBED_EDITOR,
        True,
    )
    for row in (off, on):
        assert row.actor == Actor.USER and row.user.username == "admin"
        assert row.ip_prefix == "198.51.100.0/24"
    logged = ModelLogEntry.objects.filter(action=audit.CONSENT_CHANGE, object_id=str(ann.pk))
    assert logged.count() == 2
    assert {entry.user.username for entry in logged} == {"admin"}


def test_the_contact_edit_forms_subscribed_box_goes_through_the_funnel(ann, admin_client):
    url = reverse("wagtail_xpm_contact:edit", args=[ann.pk])
    form = {"name": "Ann Smith", "email": "ann@example.com", "phone": "", "mobile": ""}
    form["position"] = ""
    response = admin_client.post(url, form, REMOTE_ADDR="198.51.100.9")  # box left unticked
    assert response.status_code == 302
    ann.refresh_from_db()
    assert ann.subscribed is False and ann.unsubscribed_at is not None
    [row] = rows(ann)
    assert (row.action, row.actor, row.user.username) == (
        Action.UNSUBSCRIBED_EDITOR,
        Actor.USER,
        "admin",
    )
    assert row.ip_prefix == "198.51.100.0/24"
    assert ModelLogEntry.objects.filter(action=audit.CONSENT_CHANGE).count() == 1
    # Saving again without touching the box records nothing.
    admin_client.post(url, {**form, "name": "Ann Smythe"})
    assert len(rows(ann)) == 1


def test_a_contact_added_by_hand_and_ticked_is_subscribed_by_the_editor(practice, admin_client):
    response = admin_client.post(
        reverse("wagtail_xpm_contact:add"),
        {
            "connection": practice.pk,
            "name": "Ben Jones",
            "email": "ben@example.com",
            "subscribed": "on",
        },
    )
    assert response.status_code == 302
    ben = Contact.objects.get(email_key="ben@example.com")
    assert ben.subscribed is True and ben.source == Contact.Source.MANUAL
    [row] = rows(ben)
    assert (row.action, row.user.username) == (Action.SUBSCRIBED_EDITOR, "admin")


def test_a_contact_added_by_hand_unticked_starts_unsubscribed_without_a_row(practice, admin_client):
    admin_client.post(
        reverse("wagtail_xpm_contact:add"),
        {"connection": practice.pk, "name": "Cat", "email": "cat@example.com"},
    )
    cat = Contact.objects.get(email_key="cat@example.com")
    assert cat.subscribed is False and rows(cat) == []


# --- the funnel itself -------------------------------------------------------------------------


def test_the_funnel_rereads_the_status_under_the_row_lock(ann):
    stale = Contact.objects.get(pk=ann.pk)  # read before someone else unsubscribed them
    status.unsubscribe(ann, Action.UNSUBSCRIBED_LINK, Actor.PERSON)
    assert stale.subscribed is True
    # Acting on the stale copy: the row's current status decides, nothing is overwritten.
    assert status.unsubscribe(stale, Action.UNSUBSCRIBED_ESP, Actor.ESP) is False
    assert stale.subscribed is False
    assert [r.action for r in rows(ann)] == [Action.UNSUBSCRIBED_LINK]


def test_the_funnel_tells_xpm_of_each_change(ann, monkeypatch):
    told = []
    monkeypatch.setattr(
        status.xpm_optout,
        "queue_for",
        lambda contact, *, opted_out: told.append((contact.pk, opted_out)) or 0,
    )
    status.unsubscribe(ann, Action.UNSUBSCRIBED_LINK, Actor.PERSON)
    status.unsubscribe(ann, Action.UNSUBSCRIBED_LINK, Actor.PERSON)  # no change, no call
    status.subscribe(ann, Action.SUBSCRIBED_EDITOR, Actor.USER)
    assert told == [(ann.pk, True), (ann.pk, False)]
