"""The contact page and the lead form block, as a visitor and as an editor uses them."""

from __future__ import annotations

import html
import re
import time

import pytest
from django.urls import reverse
from leads_helpers import CONTACT, api_leads
from wagtail.models import Page

from example_site.home.models import ContactPage, HomePage
from example_site.htmlforms import parse_forms
from wagtail_xpm.leads import spam
from wagtail_xpm.leads.blocks import THANKS_PARAM
from wagtail_xpm.leads.pages import detect_roles
from wagtail_xpm.models import Contact, LeadSubmission, XpmSiteSettings

pytestmark = pytest.mark.django_db

Status = LeadSubmission.Status


def text_of(response) -> str:
    return html.unescape(response.content.decode())


# --- The contact page ------------------------------------------------------------------------


def test_contact_page_has_the_documented_fields(client):
    response = client.get("/contact/")
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("name", "email", "phone", "message", "consent"):
        assert f'name="{name}"' in page
    # Plus the anti-spam fields the form renders.
    assert f'name="{spam.HONEYPOT_FIELD}"' in page
    assert f'name="{spam.TIMESTAMP_FIELD}"' in page
    assert 'type="checkbox" name="consent"' in page


def test_public_forms_tell_browsers_what_to_fill_in(client):
    """Autofill hints on the name, email, phone and business fields of both lead forms."""
    contact = client.get("/contact/").content.decode()
    for name, token in (("name", "name"), ("email", "email"), ("phone", "tel")):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', contact).group(0)
        assert f'autocomplete="{token}"' in tag, tag
    assert re.search(r'<input[^>]*type="tel"[^>]*name="phone"', contact)
    home = client.get("/", REMOTE_ADDR="203.0.113.9").content.decode()
    for name, token in (("name", "name"), ("email", "email"), ("company", "organization")):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', home).group(0)
        assert f'autocomplete="{token}"' in tag, tag


def test_contact_page_thanks_the_visitor_at_once_whatever_xpm_is_doing(
    visitor, lead_site, running_sandbox
):
    sb = running_sandbox.sandbox
    sb.faults.slow(5.0).outage(100)
    sb.reset_stats()

    started = time.monotonic()
    response = visitor.submit(CONTACT)  # the delivery task is queued for after the commit
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert "Thank you for getting in touch" in text_of(response)
    assert elapsed < 2.0
    assert sb.api_calls == 0  # the visitor's request never talks to XPM
    submission = LeadSubmission.objects.get()
    assert submission.status == Status.PENDING
    assert submission.form_data["message"] == CONTACT["message"]
    assert submission.consent is True


def test_contact_page_enquiry_is_delivered_by_the_queued_task(
    visitor, lead_site, running_sandbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        visitor.submit(CONTACT)
    # The delivery, then the consent confirmation email it queues (docs/privacy.md).
    assert len(callbacks) == 2
    submission = LeadSubmission.objects.get()
    assert submission.status == Status.SENT
    [lead] = api_leads(running_sandbox.sandbox)
    assert lead.name == "Website enquiry: Priya Natarajan"
    assert "Marketing consent: Yes" in lead.description
    assert "Form: Contact us" in lead.description


def test_the_lead_links_to_the_page_at_the_sites_address(
    visitor, lead_site, running_sandbox, django_capture_on_commit_callbacks
):
    """Built from the Site (wagtail_xpm/links.py), not from whatever Host the visitor sent."""
    site = lead_site.site  # the connection's site
    site.hostname, site.port = "127.0.0.1", 8010
    site.save()
    with django_capture_on_commit_callbacks(execute=True):
        visitor.submit(CONTACT)
    assert LeadSubmission.objects.get().source_url == "http://127.0.0.1:8010/contact/"
    [lead] = api_leads(running_sandbox.sandbox)
    assert "Page: http://127.0.0.1:8010/contact/" in lead.description


def test_invalid_contact_form_shows_errors_and_stores_nothing(visitor, lead_site):
    response = visitor.submit({**CONTACT, "email": "not-an-email"})
    assert response.status_code == 200
    assert "Enter a valid email address." in text_of(response)
    assert LeadSubmission.objects.count() == 0


def test_form_switched_off_keeps_the_enquiry_on_the_website(
    visitor, lead_site, running_sandbox, django_capture_on_commit_callbacks
):
    page = ContactPage.objects.get()
    page.send_to_xpm = False
    page.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = visitor.submit(CONTACT)
    assert "Thank you" in text_of(response)
    submission = LeadSubmission.objects.get()
    assert submission.status == Status.LOCAL
    assert running_sandbox.sandbox.calls_by_path["lead.api/add"] == 0
    # The person is still recorded in the website's CRM.
    assert submission.contact.email == CONTACT["email"]


def test_site_switch_off(visitor, lead_site, running_sandbox, django_capture_on_commit_callbacks):
    site_settings = XpmSiteSettings.for_site(lead_site.site)
    site_settings.leads_enabled = False
    site_settings.save()
    with django_capture_on_commit_callbacks(execute=True):
        visitor.submit(CONTACT)
    assert LeadSubmission.objects.get().status == Status.LOCAL
    assert running_sandbox.sandbox.calls_by_path["lead.api/add"] == 0


def test_editor_can_say_which_field_is_which(
    visitor, lead_site, running_sandbox, django_capture_on_commit_callbacks
):
    """A page whose fields have other names: the editor's choice wins over detection."""
    page = ContactPage.objects.get()
    page.form_fields.all().delete()
    page.form_fields.create(label="Full name", field_type="singleline", sort_order=0)
    page.form_fields.create(label="Work email", field_type="email", sort_order=1)
    page.form_fields.create(label="Firm", field_type="singleline", sort_order=2)
    page.form_fields.create(label="Tell us more", field_type="multiline", sort_order=3)
    page.form_fields.create(
        label="Best time to call", field_type="singleline", required=False, sort_order=4
    )
    page.company_field = "firm"
    page.save()
    assert page.get_lead_roles() == {
        "name": "full_name",
        "email": "work_email",
        "company": "firm",
        "message": "tell_us_more",
    }
    with django_capture_on_commit_callbacks(execute=True):
        visitor.submit(
            {
                "full_name": "Rewi Parata",
                "work_email": "rewi@parata-build.example",
                "firm": "Parata Builders",
                "tell_us_more": "We need a new accountant.",
                "best_time_to_call": "Mornings",
            }
        )
    submission = LeadSubmission.objects.get()
    assert (submission.name, submission.company) == ("Rewi Parata", "Parata Builders")
    [lead] = api_leads(running_sandbox.sandbox)
    assert "Best time to call: Mornings" in lead.description
    assert lead.description.startswith("We need a new accountant.")


def test_role_detection_by_type_and_label():
    class F:
        def __init__(self, clean_name, label, field_type):
            self.clean_name, self.label, self.field_type = clean_name, label, field_type

    fields = [
        F("your_name", "Your name", "singleline"),
        F("business", "Business name", "singleline"),
        F("mobile", "Mobile", "singleline"),
        F("address", "Email address", "email"),
        F("details", "Anything else?", "multiline"),
        F("news", "Keep me posted", "checkbox"),
    ]
    assert detect_roles(fields) == {
        "email": "address",
        "consent": "news",
        "phone": "mobile",
        "company": "business",
        "message": "details",
        "name": "your_name",
    }


def test_wagtail_forms_menu_sends_enquiries_to_website_enquiries(
    admin_client, visitor, lead_site, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        visitor.submit(CONTACT)
        visitor.submit({**CONTACT, "name": "Bot", spam.HONEYPOT_FIELD: "x"})
    page = ContactPage.objects.get()
    # The page's submissions are website enquiries: listed (and exported, deleted) there only,
    # with the enquiry permissions (docs/permissions.md).
    for url in (
        reverse("wagtailforms:list_submissions", args=[page.pk]),
        reverse("wagtailforms:list_submissions", args=[page.pk]) + "?export=csv",
    ):
        response = admin_client.get(url)
        assert response.status_code == 302
        assert response["Location"] == reverse("wagtail_xpm_leadsubmission:index")
    body = text_of(admin_client.get(reverse("wagtail_xpm_leadsubmission:index")))
    assert "Priya Natarajan" in body
    # Wagtail's own count of the page's submissions leaves spam out.
    assert page.get_submissions().count() == 1


def test_page_editor_offers_the_pages_fields_as_roles(admin_client):
    page = ContactPage.objects.get()
    response = admin_client.get(reverse("wagtailadmin_pages:edit", args=[page.pk]))
    body = text_of(response)
    assert response.status_code == 200
    assert 'name="name_field"' in body
    assert re.search(r'<option value="message" selected>How can we help\? \(message\)', body)
    assert "Detect automatically" in body


# --- The form block (home page) --------------------------------------------------------------


def block_id() -> str:
    home = HomePage.objects.get()
    return next(child.id for child in home.body if child.block_type == "lead_form")


def block_form(client, path="/"):
    response = client.get(path, REMOTE_ADDR="203.0.113.9")
    forms = parse_forms(response.content.decode(), f"http://testserver{path}")
    return next(f for f in forms if "/xpm/leads/" in f.action)


def test_home_page_shows_the_form_block(client):
    form = block_form(client)
    home = HomePage.objects.get()
    assert form.action == f"http://testserver/xpm/leads/{home.pk}/{block_id()}/"
    assert {"csrfmiddlewaretoken", "name", "email", "company", spam.TIMESTAMP_FIELD} <= set(
        form.fields
    )
    assert "phone" not in form.fields  # the block's editor switched the phone off


def test_block_submission_redirects_to_the_thank_you_text(
    client, lead_site, running_sandbox, django_capture_on_commit_callbacks
):
    form = block_form(client)
    data = {
        **form.fields,
        "name": "Sione Tupou",
        "email": "sione@tupou-logistics.example",
        "company": "Tupou Logistics",
        "message": "Do you do payroll for 12 staff?",
        spam.TIMESTAMP_FIELD: spam.form_started_token(time.time() - 30),
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(form.action, data, REMOTE_ADDR="203.0.113.9")

    bid = block_id()
    assert response.status_code == 302
    assert response["Location"] == f"/?{THANKS_PARAM}={bid}#lead-form-{bid}"
    thanks = client.get(response["Location"])
    assert "Thanks! We will reply by email shortly." in text_of(thanks)
    submission = LeadSubmission.objects.get()
    assert submission.kind == LeadSubmission.Kind.BLOCK and submission.block_id == bid
    assert submission.form_title == "Example Accounting: Ask a quick question"
    assert submission.status == Status.SENT
    [lead] = api_leads(running_sandbox.sandbox)
    sb_client = running_sandbox.sandbox.state.clients[lead.client_uuid]
    assert sb_client.name == "Tupou Logistics"


def test_block_errors_are_shown_on_the_page(client, lead_site):
    form = block_form(client)
    response = client.post(
        form.action, {**form.fields, "name": "", "email": "x"}, REMOTE_ADDR="203.0.113.9"
    )
    body = text_of(response)
    assert response.status_code == 200
    assert "This field is required." in body and "Enter a valid email address." in body
    assert "Example Accounting" in body  # the whole page, not a bare form
    assert LeadSubmission.objects.count() == 0


def test_block_endpoint_refuses_unknown_blocks_pages_and_get(client):
    home = HomePage.objects.get()
    url = reverse("wagtail_xpm_leads:submit", args=[home.pk, "no-such-block"])
    assert client.post(url, {}).status_code == 404
    contact = Page.objects.get(slug="contact")
    assert (
        client.post(reverse("wagtail_xpm_leads:submit", args=[contact.pk, block_id()])).status_code
        == 404
    )
    home.unpublish()
    assert (
        client.post(reverse("wagtail_xpm_leads:submit", args=[home.pk, block_id()])).status_code
        == 404
    )
    assert (
        client.get(reverse("wagtail_xpm_leads:submit", args=[home.pk, block_id()])).status_code
        == 405
    )


def test_block_spam_still_sees_thanks(client, lead_site, running_sandbox):
    form = block_form(client)
    response = client.post(
        form.action,
        {
            **form.fields,
            "name": "Bot",
            "email": "bot@spam.example",
            "message": "Buy now",
            spam.HONEYPOT_FIELD: "http://spam.example",
        },
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 302 and THANKS_PARAM in response["Location"]
    assert LeadSubmission.objects.get().status == Status.SPAM


def test_crm_contact_from_a_block_enquiry(
    client, lead_site, running_sandbox, django_capture_on_commit_callbacks
):
    form = block_form(client)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            form.action,
            {
                **form.fields,
                "name": "Sione Tupou",
                "email": "Sione@Tupou.example",
                "message": "Hello",
                spam.TIMESTAMP_FIELD: spam.form_started_token(time.time() - 30),
            },
            REMOTE_ADDR="203.0.113.9",
        )
    contact = Contact.objects.get(email_key="sione@tupou.example")
    assert contact.source == Contact.Source.FORM
    assert contact.subscribed is False  # the consent box was left unticked


# --- The lean POST endpoint and its page cache -----------------------------------------------


def test_contact_form_posts_to_the_endpoint_and_redirects_to_the_thanks(visitor, lead_site):
    form = visitor.read_form()
    page = ContactPage.objects.get()
    assert form.action == f"http://testserver/xpm/leads/page/{page.pk}/"
    response = visitor.submit(CONTACT, follow=False)
    # Post/redirect/get: reloading the thank-you page never sends the enquiry again.
    assert response.status_code == 302
    assert response["Location"] == f"/contact/?{THANKS_PARAM}=1"
    assert LeadSubmission.objects.count() == 1


def test_posting_to_the_page_itself_still_works(visitor, lead_site):
    fields = visitor.form_fields()
    fields.update(CONTACT)
    fields[spam.TIMESTAMP_FIELD] = spam.form_started_token(time.time() - 20)
    response = visitor.client.post("/contact/", fields, REMOTE_ADDR=visitor.ip, follow=True)
    assert "Thank you for getting in touch" in text_of(response)
    assert LeadSubmission.objects.get().name == CONTACT["name"]


def test_publishing_new_fields_is_seen_by_the_next_post(visitor, lead_site):
    visitor.submit(CONTACT)  # caches the page as the endpoint sees it
    page = ContactPage.objects.get()
    page.form_fields.create(
        label="Best time to call", field_type="singleline", required=True, sort_order=9
    )
    page.save_revision().publish()

    response = visitor.submit({**CONTACT, "best_time_to_call": "Mornings"})

    assert "Thank you for getting in touch" in text_of(response)
    assert LeadSubmission.objects.order_by("-pk").first().form_data["best_time_to_call"] == (
        "Mornings"
    )


def test_private_pages_post_to_themselves_and_the_endpoint_refuses(client, lead_site):
    from wagtail.models import PageViewRestriction

    page = ContactPage.objects.get()
    PageViewRestriction.objects.create(
        page=page, restriction_type=PageViewRestriction.PASSWORD, password="secret"
    )
    url = reverse("wagtail_xpm_leads:submit_page", args=[page.pk])
    assert page.get_lead_form_action() == ""
    assert client.post(url, {}).status_code == 403


def test_unknown_page_ids_are_not_found(client, lead_site):
    home = HomePage.objects.get()
    assert client.post(reverse("wagtail_xpm_leads:submit_page", args=[home.pk])).status_code == 404
    assert client.post(reverse("wagtail_xpm_leads:submit_page", args=[99999])).status_code == 404
