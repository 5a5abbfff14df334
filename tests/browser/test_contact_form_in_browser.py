"""A visitor fills /contact/ in a real browser, sees the thank-you page, and the lead is in the
sandbox practice; then the admin's enquiries listing shows it with the other statuses."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.utils import timezone

from wagtail_xpm import services
from wagtail_xpm.models import LeadSubmission, PracticeStaff, XpmSiteSettings

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

VISITOR = {
    "name": "Priya Natarajan",
    "email": "priya@natarajan-design.example",
    "phone": "+61 400 123 456",
    "message": (
        "We are a three-person design studio in Surry Hills. Could you help with our BAS, "
        "payroll and a tax plan for next year?"
    ),
}


@pytest.fixture
def practice(connected_site):
    """The site connected to the sandbox with a lead owner picked from the XPM staff."""
    services.refresh_staff(connected_site)
    owner = PracticeStaff.objects.get(connection=connected_site, name="Jo Bloggs")
    site_settings = XpmSiteSettings.for_site(connected_site.site)
    site_settings.lead_owner_uuid = owner.uuid
    site_settings.save()
    cache.clear()
    return connected_site, owner


def other_enquiries(connection) -> None:
    """Earlier enquiries in other states, so the listing shows what an editor meets."""
    common = {
        "site": connection.site,
        "connection": connection,
        "form_title": "Contact us",
        "source_url": "http://localhost/contact/",
    }
    LeadSubmission.objects.create(
        **common,
        name="Tom Hardy",
        email="tom@hardy-joinery.example",
        form_data={"name": "Tom Hardy", "email": "tom@hardy-joinery.example"},
        status=LeadSubmission.Status.FAILED,
        error_code=LeadSubmission.ERROR_OWNER_INVALID,
        attempts=1,
        last_error=(
            "Xero Practice Manager does not accept the chosen lead owner (perhaps they left "
            "the practice). Pick another lead owner in the Xero Practice Manager settings; "
            "waiting enquiries are then sent. (XPM said: Invalid owner)"
        ),
    )
    LeadSubmission.objects.create(
        **common,
        name="Cheap Pills",
        email="sales@cheap-pills.example",
        form_data={"name": "Cheap Pills", "email": "sales@cheap-pills.example"},
        status=LeadSubmission.Status.SPAM,
        spam_reason="The hidden anti-spam field was filled in.",
    )
    LeadSubmission.objects.create(
        **common,
        name="Mere Tane",
        email="mere@tane.example",
        form_data={"name": "Mere Tane", "email": "mere@tane.example"},
        status=LeadSubmission.Status.PENDING,
        attempts=2,
        next_attempt_at=timezone.now() + timezone.timedelta(minutes=2),
        last_error=(
            "Xero Practice Manager could not be reached just now; the enquiry is sent again "
            "automatically. (XPM said: client.api/search failed with HTTP 503)"
        ),
    )


def test_visitor_sends_the_contact_form_and_the_lead_reaches_xpm(
    page,
    screenshot,
    live_server,
    xpm_settings,
    running_sandbox,
    practice,
    django_user_model,
):
    connection, owner = practice
    other_enquiries(connection)

    page.goto(f"{live_server.url}/contact/")
    shown_at = time.monotonic()
    assert page.locator("h1").inner_text() == "Contact us"
    # The honeypot is there for bots but not for people.
    assert page.locator("input[name=website]").count() == 1
    assert not page.locator("input[name=website]").is_visible() or (
        page.locator("input[name=website]").bounding_box()["x"] < 0
    )
    page.get_by_label("Your name").press_sequentially(VISITOR["name"], delay=15)
    page.get_by_label("Email", exact=True).fill(VISITOR["email"])
    page.get_by_label("Phone (optional)").fill(VISITOR["phone"])
    page.get_by_label("How can we help?").fill(VISITOR["message"])
    page.get_by_label("Send me occasional news and tips by email").check()
    screenshot("contact-form")
    # A person takes a few seconds; the form refuses anything faster as a bot's.
    time.sleep(max(0.0, 3.5 - (time.monotonic() - shown_at)))
    page.get_by_role("button", name="Send enquiry").click()

    page.wait_for_selector("[data-xpm-lead-thanks]")
    assert "Thank you for getting in touch" in page.inner_text("[data-xpm-lead-thanks]")
    screenshot("contact-thank-you")

    submission = LeadSubmission.objects.get(email=VISITOR["email"])
    assert submission.status == LeadSubmission.Status.SENT, submission.last_error
    assert submission.consent is True
    sb = running_sandbox.sandbox
    lead = sb.state.leads[submission.xpm_lead_uuid]
    assert lead.name == "Website enquiry: Priya Natarajan"
    assert lead.owner_uuid == owner.uuid
    assert lead.description.startswith("We are a three-person design studio")
    client = sb.state.clients[lead.client_uuid]
    assert client.is_prospect and client.name == "Priya Natarajan"
    assert sb.state.contacts[lead.contact_uuid].email == VISITOR["email"]

    # The sandbox's own page lists the new lead.
    page.goto(f"{running_sandbox.url}/_sandbox/")
    assert page.get_by_text("Website enquiry: Priya Natarajan").count() == 1

    django_user_model.objects.create_superuser(
        "admin", "admin@example.com", "a-long-password", first_name="Dana", last_name="Admin"
    )
    page.goto(f"{live_server.url}/admin/login/?next=/admin/enquiries/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "a-long-password")
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/enquiries/")
    assert page.locator("td[data-xpm-lead-status]").count() == 4
    assert page.locator("[data-xpm-lead-status=sent]").count() == 1
    assert page.locator("[data-xpm-lead-status=failed]").count() == 1
    assert page.locator("[data-xpm-lead-status=spam]").count() == 1
    assert page.locator("[data-xpm-lead-link]").count() == 1
    assert page.locator("[data-xpm-client-link]").count() == 1
    shot = screenshot("lead-submissions")
    assert shot.stat().st_size > 10_000

    # The lead settings: the owner is picked from the practice's staff, names and emails.
    page.goto(f"{live_server.url}/admin/settings/wagtail_xpm/xpmsitesettings/{connection.site_id}/")
    owner_select = page.locator("select[name=lead_owner_uuid]")
    assert owner_select.input_value() == owner.uuid
    assert f"{owner.name} ({owner.email})" in owner_select.inner_text()
    assert "Website" in page.locator("select[name=lead_category_uuid]").inner_text()
    # The admin scrolls inside its own layout: a taller window shows the whole form.
    page.set_viewport_size({"width": 1280, "height": 1250})
    screenshot("lead-settings")
