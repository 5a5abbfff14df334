"""Double opt-in of consent ticked on the website's forms (docs/privacy.md).

Visitors use the real form page (/contact/) and the home page's form block through Django's
test client; the confirmation email goes through the real mail backend (locmem in tests).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client
from optin_helpers import confirmation_link, single_opt_in

from example_site.home.models import HomePage
from wagtail_xpm.campaigns.unsubscribe import make_token, unsubscribe_path
from wagtail_xpm.consent import optin, status
from wagtail_xpm.models import (
    ConsentConfirmation,
    ConsentEvent,
    Contact,
    LeadSubmission,
)

pytestmark = pytest.mark.django_db

Action = ConsentEvent.Action
WORDING = "Send me occasional news and tips by email"
PERSON = {"name": "Priya Natarajan", "email": "Priya@Natarajan.example", "message": "BAS help?"}


def events(contact, action=None):
    rows = ConsentEvent.objects.filter(contact=contact).order_by("created_at", "pk")
    return list(rows.filter(action=action) if action else rows)


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_consent_on_the_contact_page_sends_a_confirmation_and_subscribes_nobody_yet(
    practice, send_form, mailoutbox
):
    send_form(**PERSON, consent="on")

    contact = Contact.objects.get(email_key="priya@natarajan.example")
    assert contact.subscribed is False  # only a confirmed consent subscribes
    [message] = mailoutbox
    assert message.to == ["Priya@Natarajan.example"]
    assert "Example Accounting" in message.subject  # the firm's site name
    assert message.alternatives and message.alternatives[0][1] == "text/html"
    link = confirmation_link(message)
    assert link.startswith("http://localhost/xpm/leads/confirm/")  # the site's own address
    assert WORDING in message.body
    [requested] = events(contact)
    assert requested.action == Action.REQUESTED and requested.subscribed is False
    assert requested.actor == ConsentEvent.Actor.PERSON
    assert requested.page.specific.slug == "contact"
    assert requested.wording == WORDING
    assert requested.ip_prefix == "203.0.113.0/24"
    assert requested.detail["submission"] == LeadSubmission.objects.get().pk
    assert requested.detail["mail_sent"] is True
    [pending] = ConsentConfirmation.objects.filter(contact=contact)
    assert pending.sent_at is not None and pending.used_at is None
    assert (pending.wording, pending.ip_prefix) == (WORDING, "203.0.113.0/24")


def test_opening_the_link_only_asks_and_the_button_confirms_once(practice, send_form, mailoutbox):
    send_form(**PERSON, consent="on")
    link = confirmation_link(mailoutbox[0])
    contact = Contact.objects.get(email_key="priya@natarajan.example")
    person = Client(enforce_csrf_checks=True)

    # A mail scanner (or the person) opening the link confirms nothing.
    for _ in range(2):
        page = person.get(path_of(link), REMOTE_ADDR="198.51.100.23")
        assert page.status_code == 200
        assert 'data-xpm-consent="confirm"' in page.content.decode()
    contact.refresh_from_db()
    assert contact.subscribed is False
    assert ConsentConfirmation.objects.get(contact=contact).used_at is None

    token = page.cookies["csrftoken"].value
    done = person.post(path_of(link), {"csrfmiddlewaretoken": token}, REMOTE_ADDR="198.51.100.23")
    assert done.status_code == 200
    assert 'data-xpm-consent="done"' in done.content.decode()
    contact.refresh_from_db()
    assert contact.subscribed is True and contact.unsubscribed_at is None
    [confirmed] = events(contact, Action.CONFIRMED)
    assert confirmed.subscribed is True
    assert confirmed.actor == ConsentEvent.Actor.PERSON
    # What was agreed to and where, carried from the form; the click's own address.
    assert confirmed.page.specific.slug == "contact" and confirmed.wording == WORDING
    assert confirmed.ip_prefix == "198.51.100.0/24"
    assert confirmed.detail["requested_ip_prefix"] == "203.0.113.0/24"
    assert ConsentConfirmation.objects.get(contact=contact).used_at is not None

    # The same link again: single-use, a clear page, nothing recorded twice.
    again = person.post(path_of(link), {"csrfmiddlewaretoken": token})
    assert again.status_code == 200
    assert 'data-xpm-consent="used"' in again.content.decode()
    assert len(events(contact, Action.CONFIRMED)) == 1
    reopened = person.get(path_of(link))
    assert 'data-xpm-consent="used"' in reopened.content.decode()


def test_the_confirmation_post_needs_the_pages_csrf_token(practice, send_form, mailoutbox):
    send_form(**PERSON, consent="on")
    link = confirmation_link(mailoutbox[0])
    forged = Client(enforce_csrf_checks=True).post(path_of(link))
    assert forged.status_code == 403
    assert Contact.objects.get(email_key="priya@natarajan.example").subscribed is False


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-3] + ("abc" if not token.endswith("abc") else "xyz"),
        lambda token: token.split(":")[0],
        lambda token: "not-a-token",
        # Genuinely signed, but with another salt (an unsubscribe token is not a consent).
        lambda token: signing.dumps({"n": "x"}, salt="wagtail_xpm.campaigns.unsubscribe"),
        # Genuinely signed with the right salt, for a confirmation that does not exist.
        lambda token: optin.make_token("no-such-nonce"),
    ],
    ids=["altered", "truncated", "garbage", "other-salt", "unknown-nonce"],
)
def test_forged_links_get_a_clear_page_and_change_nothing(
    practice, send_form, mailoutbox, client, mangle
):
    send_form(**PERSON, consent="on")
    token = path_of(confirmation_link(mailoutbox[0])).rstrip("/").rsplit("/", 1)[1]
    url = optin.confirm_path(mangle(token))
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 400
        assert 'data-xpm-consent="invalid"' in response.content.decode()
        assert "This link does not work" in response.content.decode()
    contact = Contact.objects.get(email_key="priya@natarajan.example")
    assert contact.subscribed is False
    assert not events(contact, Action.CONFIRMED)


class PastSigner(signing.TimestampSigner):
    """Signs as if it were eight days ago (beyond the seven days a link works)."""

    def timestamp(self):
        return signing.b62_encode(int(time.time()) - 8 * 24 * 3600)


def test_an_expired_link_gets_a_clear_page_and_changes_nothing(
    practice, send_form, mailoutbox, client
):
    send_form(**PERSON, consent="on")
    pending = ConsentConfirmation.objects.get()
    old = PastSigner(salt=optin.SALT).sign_object({"n": pending.nonce})
    for response in (client.get(optin.confirm_path(old)), client.post(optin.confirm_path(old))):
        assert response.status_code == 410
        assert 'data-xpm-consent="expired"' in response.content.decode()
    assert Contact.objects.get(pk=pending.contact_id).subscribed is False
    pending.refresh_from_db()
    assert pending.used_at is None
    # The same nonce within the seven days still works (the age alone refused it).
    fresh = Client().post(optin.confirm_path(optin.make_token(pending.nonce)))
    assert 'data-xpm-consent="done"' in fresh.content.decode()


def test_a_confirmation_after_an_unsubscribe_does_not_subscribe(
    practice, send_form, mailoutbox, client
):
    contact = practice.contacts.create(
        email="priya@natarajan.example", name="Priya", subscribed=True
    )
    status.unsubscribe(contact, Action.UNSUBSCRIBED_LINK, ConsentEvent.Actor.PERSON)
    send_form(**PERSON, consent="on")  # asks again: a confirmation is sent
    link = confirmation_link(mailoutbox[0])
    # ...and then they use an old campaign email's unsubscribe link before confirming.
    client.post(unsubscribe_path(make_token(contact.pk)))
    assert ConsentConfirmation.objects.get().voided_at is not None

    response = client.post(path_of(link))

    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-xpm-consent="voided"' in body and "you were not subscribed" in body
    contact.refresh_from_db()
    assert contact.subscribed is False
    assert not events(contact, Action.CONFIRMED)


def test_a_form_alone_never_resubscribes_someone_who_unsubscribed(practice, send_form, mailoutbox):
    contact = practice.contacts.create(
        email="priya@natarajan.example", name="Priya", subscribed=True
    )
    status.unsubscribe(contact, Action.UNSUBSCRIBED_LINK, ConsentEvent.Actor.PERSON)
    single_opt_in(practice.site)  # not even with single opt-in

    send_form(**PERSON, consent="on")

    contact.refresh_from_db()
    assert contact.subscribed is False
    assert len(mailoutbox) == 1  # they are asked to confirm instead
    assert [e.action for e in events(contact)] == [Action.UNSUBSCRIBED_LINK, Action.REQUESTED]
    # Confirming is what subscribes them again.
    Client().post(path_of(confirmation_link(mailoutbox[0])))
    contact.refresh_from_db()
    assert contact.subscribed is True


def test_single_opt_in_subscribes_at_once_without_an_email(practice, send_form, mailoutbox):
    single_opt_in(practice.site)

    send_form(**PERSON, consent="on")

    contact = Contact.objects.get(email_key="priya@natarajan.example")
    assert contact.subscribed is True
    assert mailoutbox == []
    [row] = events(contact)
    assert row.action == Action.SUBSCRIBED_FORM and row.subscribed is True
    assert (row.wording, row.ip_prefix) == (WORDING, "203.0.113.0/24")
    assert row.page.specific.slug == "contact"


def test_single_opt_in_is_off_by_default(practice, send_form, mailoutbox):
    send_form(**PERSON, consent="on")
    assert Contact.objects.get(email_key="priya@natarajan.example").subscribed is False
    assert len(mailoutbox) == 1


def test_without_the_tick_a_new_contact_starts_unsubscribed_and_gets_no_email(
    practice, send_form, mailoutbox
):
    send_form(**PERSON)
    contact = Contact.objects.get(email_key="priya@natarajan.example")
    assert contact.subscribed is False
    assert mailoutbox == [] and events(contact) == []


def test_the_form_block_records_its_page_and_its_own_wording(practice, send_form, mailoutbox):
    home = HomePage.objects.get()
    for child in home.body:
        if child.block_type == "lead_form":
            child.value["consent_label"] = "Yes, email me the practice's monthly tips"
    home.save_revision().publish()

    send_form("/", name="Sione Tupou", email="sione@tupou.example", message="Hi", consent="on")

    contact = Contact.objects.get(email_key="sione@tupou.example")
    [requested] = events(contact)
    assert requested.page_id == home.pk
    assert requested.wording == "Yes, email me the practice's monthly tips"
    assert "Yes, email me the practice's monthly tips" in mailoutbox[0].body
    Client().post(path_of(confirmation_link(mailoutbox[0])))
    [confirmed] = events(contact, Action.CONFIRMED)
    assert confirmed.page_id == home.pk


def test_someone_already_subscribed_is_left_alone(practice, send_form, mailoutbox):
    contact = practice.contacts.create(email="priya@natarajan.example", subscribed=True)
    send_form(**PERSON, consent="on")
    contact.refresh_from_db()
    assert contact.subscribed is True
    assert mailoutbox == [] and events(contact) == []


def test_the_same_address_sent_again_and_again_gets_one_email(
    practice, send_form, mailoutbox, visitor
):
    for _ in range(3):
        send_form(**PERSON, consent="on")
        visitor.ip = f"203.0.113.{len(mailoutbox) + 20}"  # past the per-address rate limit
    assert len(mailoutbox) == 1
    assert ConsentConfirmation.objects.count() == 1


def test_a_dead_mail_server_does_not_break_the_form_and_the_error_is_kept(
    practice, send_form, mailoutbox, settings
):
    from wagtail_xpm import mailer

    smtp = "django.core.mail.backends.smtp.EmailBackend"
    port = _closed_port()
    if mailer.has_mailers():
        settings.MAILERS = {
            "default": {"BACKEND": smtp, "OPTIONS": {"host": "127.0.0.1", "port": port}}
        }
    else:
        settings.EMAIL_BACKEND = smtp
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2

    response = send_form(**PERSON, consent="on")

    assert "/contact/" in response["Location"]  # the visitor's thank-you page
    submission = LeadSubmission.objects.get()  # stored first, as always
    contact = Contact.objects.get(email_key="priya@natarajan.example")
    assert submission.contact_id == contact.pk and contact.subscribed is False
    pending = ConsentConfirmation.objects.get()
    assert pending.sent_at is None
    [requested] = events(contact)
    assert "refused" in requested.detail["mail_error"]  # kept, in words, for the contact page

    # The mail server is back; the person sends the form again and gets their email.
    locmem = "django.core.mail.backends.locmem.EmailBackend"
    if mailer.has_mailers():  # Django 6.1: EMAIL_BACKEND cannot be read beside MAILERS
        settings.MAILERS = {"default": {"BACKEND": locmem}}
    else:
        settings.EMAIL_BACKEND = locmem
    send_form(**PERSON, consent="on")
    [message] = mailoutbox
    assert optin.make_token(pending.nonce).split(":")[0] in message.body
    pending.refresh_from_db()
    assert pending.sent_at is not None
    assert ConsentConfirmation.objects.count() == 1


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_link_page_never_leaks_the_token(practice, send_form, mailoutbox, client):
    send_form(**PERSON, consent="on")
    response = client.get(path_of(confirmation_link(mailoutbox[0])))
    assert response["Referrer-Policy"] == "same-origin"
    assert "noindex" in response["X-Robots-Tag"]
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
