"""The unsubscribe link: no login, takes effect at once, survives syncs and key rotation,
refuses tampering; and unsubscribing from the admin."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client, override_settings

from wagtail_xpm import services
from wagtail_xpm.campaigns.send import run_campaign, start
from wagtail_xpm.campaigns.unsubscribe import (
    InvalidUnsubscribeToken,
    make_test_token,
    make_token,
    read_token,
    unsubscribe_path,
)
from wagtail_xpm.models import CampaignRecipient, Contact

pytestmark = pytest.mark.django_db

OLD_KEY = "an-old-secret-key-that-was-rotated-away-0123456789"
NEW_KEY = "the-new-secret-key-after-rotation-9876543210-abcdef"


@pytest.fixture
def ann(practice):
    client = practice.client("Acme", {"balance_month": "June"})
    return practice.contact("Ann Lee", "ann.lee@example.com", clients=[client])


def anonymous() -> Client:
    # Mail clients post one-click requests with no cookie and no CSRF token.
    return Client(enforce_csrf_checks=True)


def test_get_asks_first_and_post_unsubscribes_at_once(ann):
    url = unsubscribe_path(make_token(ann.pk))
    page = anonymous().get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-xpm-unsubscribe="confirm"' in html
    assert "a••••••@example.com" in html  # recognisable, not harvestable
    assert page["Referrer-Policy"] == "no-referrer"
    ann.refresh_from_db()
    assert ann.subscribed  # a link scanner's GET changes nothing

    done = anonymous().post(url)
    assert done.status_code == 200
    assert 'data-xpm-unsubscribe="done"' in done.content.decode()
    ann.refresh_from_db()
    assert not ann.subscribed and ann.unsubscribed_at is not None
    first = ann.unsubscribed_at
    # Again (an old email, a second click): still fine, nothing changes.
    assert anonymous().post(url).status_code == 200
    assert 'data-xpm-unsubscribe="already"' in anonymous().get(url).content.decode()
    ann.refresh_from_db()
    assert ann.unsubscribed_at == first


def test_rfc8058_one_click_post(ann):
    response = anonymous().post(
        unsubscribe_path(make_token(ann.pk, 7)),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    ann.refresh_from_db()
    assert not ann.subscribed


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
        lambda t: t.replace(t.split(":")[0], t.split(":")[0][:-2] + "xy"),  # payload changed
        lambda t: t.split(":")[0],  # signature removed
        lambda t: "not-a-token",
    ],
    ids=["signature", "payload", "unsigned", "garbage"],
)
def test_a_tampered_link_is_refused(ann, practice, tamper):
    other = practice.contact("Bob", "bob@example.com")
    token = tamper(make_token(other.pk))
    for method in ("get", "post"):
        response = getattr(anonymous(), method)(f"/xpm/unsubscribe/{token}/")
        assert response.status_code == 400
        assert 'data-xpm-unsubscribe="invalid"' in response.content.decode()
    assert Contact.objects.filter(subscribed=False).count() == 0


def test_a_token_for_one_contact_cannot_be_edited_into_another(ann, practice):
    bob = practice.contact("Bob", "bob@example.com")
    payload, signature = make_token(ann.pk).rsplit(":", 1)
    forged = make_token(bob.pk).rsplit(":", 1)[0] + ":" + signature
    with pytest.raises(InvalidUnsubscribeToken):
        read_token(forged)


def test_links_survive_secret_key_rotation(ann):
    with override_settings(SECRET_KEY=OLD_KEY, SECRET_KEY_FALLBACKS=[]):
        token = make_token(ann.pk, 3)
    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[OLD_KEY]):
        assert read_token(token).contact_id == ann.pk
        assert anonymous().post(unsubscribe_path(token)).status_code == 200
    ann.refresh_from_db()
    assert not ann.subscribed
    # Once the old key is dropped from the fallbacks, its links stop working.
    with (
        override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[]),
        pytest.raises(InvalidUnsubscribeToken),
    ):
        read_token(token)


def test_test_email_links_unsubscribe_nobody(ann):
    response = anonymous().post(unsubscribe_path(make_test_token(1)))
    assert 'data-xpm-unsubscribe="test"' in response.content.decode()
    ann.refresh_from_db()
    assert ann.subscribed


def test_the_campaign_records_who_unsubscribed_from_it(ann, make_campaign):
    campaign = start(make_campaign())
    run_campaign(campaign.pk)
    (message,) = mail.outbox
    link = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert anonymous().post(urlsplit(link).path).status_code == 200
    recipient = CampaignRecipient.objects.get(campaign=campaign, contact=ann)
    assert recipient.unsubscribed_at is not None
    ann.refresh_from_db()
    assert not ann.subscribed


def test_unsubscribed_stays_unsubscribed_through_syncs(connected_site, running_sandbox):
    run = services.run_sync(connected_site, trigger="cli")
    assert run.status == "succeeded"
    contact = Contact.objects.filter(connection=connected_site).exclude(email="").first()
    assert contact.subscribed
    assert anonymous().post(unsubscribe_path(make_token(contact.pk))).status_code == 200

    # The person's details change in XPM, so the next syncs rewrite their row.
    sandbox = running_sandbox.sandbox
    xpm_contact = sandbox.state.contacts[contact.xpm_contact_id]
    xpm_contact.name = "Renamed In XPM"
    for client in sandbox.state.clients.values():
        if any(link.contact_uuid == xpm_contact.uuid for link in client.contacts):
            sandbox.state.touch_client(client, sandbox.clock())
    for full in (False, True):
        assert services.run_sync(connected_site, trigger="cli", full=full).status == "succeeded"
        contact.refresh_from_db()
        assert contact.name == "Renamed In XPM"
        assert contact.subscribed is False and contact.unsubscribed_at is not None


def test_admin_unsubscribe_and_resubscribe(ann, django_user_model):
    user = django_user_model.objects.create_user("ed", "ed@example.com", "pw")
    user.user_permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="change_contact"),
    )
    client = Client()
    client.force_login(user)
    url = f"/admin/xpm/campaigns/contact/{ann.pk}/subscription/"
    response = client.post(url, {"subscribed": "0"})
    assert response.status_code == 302 and response.url == f"/admin/contacts/inspect/{ann.pk}/"
    ann.refresh_from_db()
    assert not ann.subscribed and ann.unsubscribed_at is not None
    client.post(url, {"subscribed": "1"})
    ann.refresh_from_db()
    assert ann.subscribed and ann.unsubscribed_at is None


def test_admin_subscription_needs_change_permission(ann, django_user_model):
    user = django_user_model.objects.create_user("viewer", "v@example.com", "pw")
    user.user_permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="view_contact"),
    )
    client = Client()
    client.force_login(user)
    client.post(f"/admin/xpm/campaigns/contact/{ann.pk}/subscription/", {"subscribed": "0"})
    ann.refresh_from_db()
    assert ann.subscribed
