"""Consent end to end, as the demo shows it (docs/privacy.md): a visitor ticks consent on
/contact/, confirms from the email's link, later unsubscribes, and the opt-out is ticked on
their XPM contact; an opt-out ticked in XPM (the sandbox's contacts page) unsubscribes another
person at the next sync; the contact's page shows the ledger and Site history the steps."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from wagtail_xpm import services
from wagtail_xpm.campaigns.unsubscribe import make_token, unsubscribe_path
from wagtail_xpm.models import (
    ConsentEvent,
    Contact,
    LeadSubmission,
    PracticeStaff,
    XpmOptOutWrite,
    XpmSiteSettings,
)
from wagtail_xpm.sandbox.generator import OPT_OUT_FIELD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Action = ConsentEvent.Action
VISITOR = {"name": "Priya Natarajan", "email": "priya@natarajan-design.example"}


def opt_out_definition(sandbox):
    return next(d for d in sandbox.state.custom_fields.values() if d.name == OPT_OUT_FIELD)


@pytest.fixture
def practice(connected_site, running_sandbox):
    """Connected to the sandbox: a lead owner picked, opt-outs shared with its "Marketing
    opt-out" contact checkbox, one sync done (as `make demo` leaves it)."""
    services.refresh_staff(connected_site)
    services.refresh_custom_field_definitions(connected_site)
    site_settings = XpmSiteSettings.for_site(connected_site.site)
    site_settings.lead_owner_uuid = PracticeStaff.objects.get(
        connection=connected_site, name="Jo Bloggs"
    ).uuid
    site_settings.xpm_opt_out_field_uuid = opt_out_definition(running_sandbox.sandbox).uuid
    site_settings.save()
    cache.clear()
    sync(connected_site, running_sandbox)
    return connected_site


def sync(connection, running_sandbox, **options):
    # Several syncs within a minute: the sandbox's 60-a-minute limit is not this test's story.
    running_sandbox.sandbox.reset_rate_limits()
    run = services.run_sync(connection, trigger="cli", **options)
    assert run.status == "succeeded", run.message
    return run


def actions(contact: Contact) -> list[str]:
    return list(
        ConsentEvent.objects.filter(email_key=contact.email_key)
        .order_by("created_at", "pk")
        .values_list("action", flat=True)
    )


def send_contact_form(page, live_server) -> None:
    page.goto(f"{live_server.url}/contact/")
    shown_at = time.monotonic()
    page.get_by_label("Your name").fill(VISITOR["name"])
    page.get_by_label("Email", exact=True).fill(VISITOR["email"])
    page.get_by_label("How can we help?").fill("Could you look after our BAS?")
    page.get_by_label("Send me occasional news and tips by email").check()
    # A person takes a few seconds; the form refuses anything faster as a bot's.
    time.sleep(max(0.0, 3.5 - (time.monotonic() - shown_at)))
    page.get_by_role("button", name="Send enquiry").click()
    page.wait_for_selector("[data-xpm-lead-thanks]")


def test_consent_from_the_form_to_xpm_and_back(
    page, screenshot, live_server, running_sandbox, practice, django_user_model
):
    sandbox = running_sandbox.sandbox
    definition = opt_out_definition(sandbox)
    mail.outbox.clear()

    # 1. Consent ticked on the form: not subscribed yet, a confirmation email instead.
    send_contact_form(page, live_server)
    visitor = Contact.objects.get(email_key=VISITOR["email"])
    assert visitor.subscribed is False
    [message] = [m for m in mail.outbox if VISITOR["email"] in m.to]
    [link] = re.findall(r"https?://[^\s\"<>]+/xpm/leads/confirm/[^\s\"<>/]+/", message.body)

    # 2. The link asks (a mail scanner's GET does nothing); the button confirms.
    page.goto(live_server.url + urlsplit(link).path)
    assert page.locator("h1").inner_text() == "Confirm your subscription"
    visitor.refresh_from_db()
    assert visitor.subscribed is False
    screenshot("consent-confirm")
    page.click("[data-xpm-action=confirm]")
    page.wait_for_selector("h1:has-text('You are subscribed')")
    visitor.refresh_from_db()
    assert visitor.subscribed is True

    # 3. The enquiry became an XPM prospect; the next sync links the person to it.
    submission = LeadSubmission.objects.get(email=VISITOR["email"])
    assert submission.status == LeadSubmission.Status.SENT, submission.last_error
    sync(practice, running_sandbox)
    visitor.refresh_from_db()
    xpm_contact = sandbox.state.contacts[visitor.xpm_contact_id.lower()]
    assert xpm_contact.email == VISITOR["email"]
    assert visitor.subscribed is True  # the sync never overrides the person's consent

    # 4. Later, the email's unsubscribe link: the website stops, XPM's checkbox is ticked.
    page.goto(live_server.url + unsubscribe_path(make_token(visitor.pk)))
    page.click("[data-xpm-action=unsubscribe]")
    page.wait_for_selector("h1:has-text('You are unsubscribed')")
    visitor.refresh_from_db()
    assert visitor.subscribed is False
    write = XpmOptOutWrite.objects.get(contact=visitor, opted_out=True)
    assert write.status == XpmOptOutWrite.Status.SENT, write.last_error
    assert xpm_contact.custom_values.get(definition.uuid) is True
    page.goto(f"{running_sandbox.url}/_sandbox/contacts?q=natarajan")
    row = page.locator("tr", has_text=VISITOR["email"])
    assert row.locator("td span.on").inner_text() == "Yes"
    screenshot("consent-sandbox-opt-out")

    # 5. Staff tick another person's opt-out in XPM. XPM marks nothing changed, so an
    # incremental sync reads it when it falls due (docs/privacy.md "How fresh"); a full sync
    # (the Sync page's "Full sync") reads every emailable contact's checkbox at once.
    other = (
        Contact.objects.filter(subscribed=True, source=Contact.Source.XPM)
        .exclude(email_key="")
        .exclude(pk=visitor.pk)
        .order_by("pk")
        .first()
    )
    page.goto(f"{running_sandbox.url}/_sandbox/contacts?q={other.email}")
    other_record = other.xpm_contact_id.lower()
    page.locator(
        f'form[action="/_sandbox/contacts/{other_record}/flag"]'
        f':has(input[name=field][value="{definition.uuid}"]) button'
    ).click()
    page.wait_for_load_state()
    assert sandbox.state.contacts[other_record].custom_values.get(definition.uuid)
    run = sync(practice, running_sandbox, full=True)
    assert run.report["opt_outs"]["unsubscribed"] == 1
    other.refresh_from_db()
    assert other.subscribed is False
    assert actions(other)[-1] == Action.OPTED_OUT_XPM

    # 6. Every step is in the ledger, on the contact's page, and in Site history.
    assert actions(visitor) == [
        Action.REQUESTED,
        Action.CONFIRMED,
        Action.OPT_OUT_CLEARED_XPM,  # the enquiry's XPM contact: unticked on confirming
        Action.UNSUBSCRIBED_LINK,
        Action.OPT_OUT_SENT_XPM,
    ]
    confirmed = ConsentEvent.objects.get(email_key=visitor.email_key, action=Action.CONFIRMED)
    assert confirmed.wording == "Send me occasional news and tips by email"
    assert confirmed.page.title == "Contact us" and confirmed.ip_prefix == "127.0.0.0/24"

    django_user_model.objects.create_superuser("admin", "admin@example.com", "a-long-password")
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "a-long-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(live_server.url + reverse("wagtail_xpm_contact:inspect", args=[visitor.pk]))
    ledger = page.locator("[data-xpm-consent-ledger]")
    for label in (
        "Consent given on a form, confirmation sent",
        "Consent confirmed",
        "Unsubscribed by the email's link",
        "Opt-out written to XPM",
    ):
        assert ledger.get_by_text(label).count() >= 1, label
    page.set_viewport_size({"width": 1280, "height": 1400})
    screenshot("consent-ledger")

    page.goto(f"{live_server.url}/admin/reports/site-history/?action=wagtail_xpm.consent_change")
    history = page.inner_text("main")
    assert "Marketing consent changed: subscribed (Consent confirmed)" in history
    assert "Marketing consent changed: unsubscribed (Opted out in XPM)" in history
    screenshot("consent-site-history")
