"""The admin side: lead settings (owner picked from XPM staff), the unconfigured-owner
warning, the enquiries listing with XPM links, Retry and Mark as spam."""

from __future__ import annotations

import html

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client
from django.urls import reverse
from leads_helpers import CONTACT, api_leads, make_submission

from wagtail_xpm.leads import pipeline
from wagtail_xpm.models import (
    LeadSubmission,
    PracticeLeadCategory,
    PracticeStaff,
    XpmSiteSettings,
)

pytestmark = pytest.mark.django_db

Status = LeadSubmission.Status
KEPT = "Submissions are kept and will be delivered once you pick a lead owner."


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.content.decode())


def settings_url(site) -> str:
    return reverse("wagtailsettings:edit", args=["wagtail_xpm", "xpmsitesettings", site.pk])


def settings_post_data(site_settings: XpmSiteSettings, **changes) -> dict:
    """The settings form as the browser would send it (every field of the model)."""
    data = {}
    for field in XpmSiteSettings._meta.concrete_fields:
        if field.name in ("id", "site") or field.primary_key:
            continue
        value = changes.get(field.name, getattr(site_settings, field.name))
        if isinstance(value, bool):
            if value:
                data[field.name] = "on"
        else:
            data[field.name] = "" if value is None else value
    return data


# --- No lead owner yet -----------------------------------------------------------------------


def test_unconfigured_owner_keeps_enquiries_warns_and_delivers_once_picked(
    admin_client,
    admin_user,
    visitor,
    connected_site,
    running_sandbox,
    django_capture_on_commit_callbacks,
):
    site = connected_site.site
    with django_capture_on_commit_callbacks(execute=True):
        response = visitor.submit(CONTACT)
        visitor.submit({**CONTACT, "name": "Second Person", "email": "second@person.example"})
    assert "Thank you for getting in touch" in text_of(response)

    rows = list(LeadSubmission.objects.order_by("pk"))
    assert [r.status for r in rows] == [Status.FAILED, Status.FAILED]
    assert {r.error_code for r in rows} == {LeadSubmission.ERROR_NO_OWNER}
    assert "No lead owner is chosen" in rows[0].last_error
    assert running_sandbox.sandbox.calls_by_path["lead.api/add"] == 0
    # The admins hear about it once, not once per enquiry (the visitors, who ticked the
    # consent box, are each sent a confirmation email: docs/privacy.md).
    [message] = [m for m in mail.outbox if admin_user.email in m.to]
    assert sorted(m.to[0] for m in mail.outbox if m is not message) == [
        CONTACT["email"],
        "second@person.example",
    ]
    assert message.to == [admin_user.email]
    assert "waiting" in message.subject and "lead owner" in message.body

    listing = text_of(admin_client.get(reverse("wagtail_xpm_leadsubmission:index")))
    assert KEPT in listing and "2 enquiries are waiting." in listing
    assert settings_url(site) in listing
    settings_page = text_of(admin_client.get(settings_url(site)))
    assert KEPT in settings_page and "No lead owner is chosen" in settings_page

    # The admin picks an owner from the staff list the settings page loaded from XPM.
    staff = PracticeStaff.objects.filter(connection=connected_site).order_by("name").first()
    assert staff is not None
    site_settings = XpmSiteSettings.for_site(site)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            settings_url(site), settings_post_data(site_settings, lead_owner_uuid=staff.uuid)
        )
    assert response.status_code == 302

    assert XpmSiteSettings.for_site(site).lead_owner_uuid == staff.uuid
    assert [r.status for r in LeadSubmission.objects.order_by("pk")] == [Status.SENT] * 2
    assert {lead.owner_uuid for lead in api_leads(running_sandbox.sandbox)} == {staff.uuid}
    listing = text_of(admin_client.get(reverse("wagtail_xpm_leadsubmission:index")))
    assert KEPT not in listing


def test_settings_offer_staff_names_and_emails_never_a_text_box(
    admin_client, connected_site, running_sandbox
):
    assert not PracticeStaff.objects.exists()
    page = text_of(admin_client.get(settings_url(connected_site.site)))

    # Opening the page loaded the practice's staff and lead categories from XPM.
    for member in running_sandbox.sandbox.state.staff.values():
        assert f'<option value="{member.uuid}">{member.name} ({member.email})</option>' in page
    assert '<select name="lead_owner_uuid"' in page
    assert '<input type="text" name="lead_owner_uuid"' not in page
    for category in running_sandbox.sandbox.state.lead_categories.values():
        assert f'<option value="{category.uuid}">{category.name}</option>' in page
    assert 'data-xpm-action="refresh-staff"' in page


def test_settings_refuse_an_owner_not_in_the_staff_list(admin_client, connected_site):
    admin_client.get(settings_url(connected_site.site))  # loads the staff list
    site_settings = XpmSiteSettings.for_site(connected_site.site)
    response = admin_client.post(
        settings_url(connected_site.site),
        settings_post_data(site_settings, lead_owner_uuid="typed-by-hand"),
    )
    assert "Select a valid choice." in text_of(response)
    assert XpmSiteSettings.for_site(connected_site.site).lead_owner_uuid == ""


def test_refresh_from_xpm_reads_staff_and_categories(admin_client, connected_site, running_sandbox):
    url = reverse("wagtail_xpm_leadsubmission:refresh_reference", args=[connected_site.site_id])
    response = admin_client.post(url)
    assert response.status_code == 302 and response["Location"] == settings_url(connected_site.site)
    sb = running_sandbox.sandbox
    assert PracticeStaff.objects.filter(connection=connected_site).count() == len(sb.state.staff)
    assert PracticeLeadCategory.objects.filter(connection=connected_site).count() == len(
        sb.state.lead_categories
    )
    page = text_of(admin_client.get(settings_url(connected_site.site)))
    assert f"Read {len(sb.state.staff)} staff members and 3 lead categories from XPM." in page
    assert admin_client.get(url).status_code == 405


def test_site_not_connected_says_so_on_the_settings_page(admin_client, default_site):
    page = text_of(admin_client.get(settings_url(default_site)))
    assert "Connect this site to Xero Practice Manager" in page


# --- The listing and the details page ---------------------------------------------------------


def test_listing_shows_status_and_links_to_xpm(admin_client, lead_site, deliver, running_sandbox):
    sent = make_submission(lead_site, name="Hana Kowalski", email="hana@kowalski.example")
    deliver(sent)
    pending = make_submission(lead_site, name="Pending Person", email="p@p.example")
    spam_row = make_submission(
        lead_site, name="Bot", email="bot@x.example", status=Status.SPAM, spam_reason="Too fast."
    )
    sent.refresh_from_db()

    page = text_of(admin_client.get(reverse("wagtail_xpm_leadsubmission:index")))

    assert 'data-xpm-lead-status="sent"' in page and 'data-xpm-lead-status="spam"' in page
    assert "Too fast." in page
    open_client = reverse("wagtail_xpm_leadsubmission:open_client", args=[sent.pk])
    assert f'href="{open_client}"' in page
    assert f'href="{running_sandbox.url}/_sandbox/"' in page  # the lead, in the sandbox
    assert "Website enquiry: Hana Kowalski" in page
    filtered = text_of(
        admin_client.get(reverse("wagtail_xpm_leadsubmission:index") + "?status=spam")
    )
    assert "Bot" in filtered and "Hana Kowalski" not in filtered
    assert pending.name in page and spam_row.name in page


def test_open_client_looks_up_the_xpm_address_once(admin_client, lead_site, deliver):
    sub = make_submission(lead_site, name="Hana Kowalski", email="hana@kowalski.example")
    deliver(sub)
    response = admin_client.get(reverse("wagtail_xpm_leadsubmission:open_client", args=[sub.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith("https://practicemanager.xero.com/Client/")
    sub.refresh_from_db()
    assert sub.xpm_client_url == response["Location"]


def test_details_page_shows_the_enquiry_and_what_xpm_receives(admin_client, lead_site, deliver):
    sub = make_submission(
        lead_site, name="Hana Kowalski", email="hana@kowalski.example", message="Help with GST"
    )
    deliver(sub)
    page = text_of(admin_client.get(reverse("wagtail_xpm_leadsubmission:inspect", args=[sub.pk])))
    assert "Help with GST" in page
    assert f"Website reference: localhost-{sub.pk}" in page
    assert "New prospect" in page
    assert 'data-xpm-action="retry"' not in page  # sent: nothing to retry


# --- Retry and Mark as spam -------------------------------------------------------------------


def test_retry_after_fixing_the_cause(admin_client, lead_site, owner, deliver, running_sandbox):
    site_settings = XpmSiteSettings.for_site(lead_site.site)
    site_settings.lead_owner_uuid = "0f0f0f0f-0000-4000-8000-000000000000"
    site_settings.save()
    sub = make_submission(lead_site, name="Zara Cole", email="zara@cole.example")
    deliver(sub)
    sub.refresh_from_db()
    assert sub.status == Status.FAILED

    inspect = text_of(
        admin_client.get(reverse("wagtail_xpm_leadsubmission:inspect", args=[sub.pk]))
    )
    assert 'data-xpm-action="retry"' in inspect and "Invalid owner" in inspect
    # From the listing's menu: a confirmation page first.
    confirm = text_of(admin_client.get(reverse("wagtail_xpm_leadsubmission:retry", args=[sub.pk])))
    assert "never created twice" in confirm

    site_settings.lead_owner_uuid = owner.uuid
    site_settings.save()
    response = admin_client.post(reverse("wagtail_xpm_leadsubmission:retry", args=[sub.pk]))
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.status == Status.SENT
    assert len(api_leads(running_sandbox.sandbox)) == 1


def test_mark_as_spam_and_back(admin_client, lead_site, running_sandbox):
    sub = make_submission(lead_site, name="Maybe Bot", email="maybe@bot.example")
    response = admin_client.post(reverse("wagtail_xpm_leadsubmission:spam", args=[sub.pk]))
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.status == Status.SPAM and "Marked as spam by admin" in sub.spam_reason
    # Spam is never delivered, even by the sweeper.
    assert pipeline.sweep().due == []
    assert running_sandbox.sandbox.calls_by_path["lead.api/add"] == 0

    # "Not spam: send" puts it back in the queue and sends it.
    admin_client.post(reverse("wagtail_xpm_leadsubmission:retry", args=[sub.pk]))
    sub.refresh_from_db()
    assert sub.status == Status.SENT


def test_a_sent_enquiry_cannot_be_marked_as_spam(admin_client, lead_site, deliver):
    sub = make_submission(lead_site, name="Real Person", email="real@person.example")
    deliver(sub)
    admin_client.post(reverse("wagtail_xpm_leadsubmission:spam", args=[sub.pk]))
    sub.refresh_from_db()
    assert sub.status == Status.SENT


def test_permissions(db, django_user_model, lead_site):
    sub = make_submission(lead_site, name="Someone", email="someone@example.com")
    viewer = django_user_model.objects.create_user("viewer", "v@example.com", "pw-12345678")
    viewer.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
        Permission.objects.get(codename="view_leadsubmission"),
    )
    client = Client()
    client.force_login(viewer)
    assert client.get(reverse("wagtail_xpm_leadsubmission:index")).status_code == 200
    page = text_of(client.get(reverse("wagtail_xpm_leadsubmission:inspect", args=[sub.pk])))
    assert 'data-xpm-action="retry"' not in page
    response = client.post(reverse("wagtail_xpm_leadsubmission:spam", args=[sub.pk]))
    assert response.status_code in (302, 403)
    sub.refresh_from_db()
    assert sub.status == Status.PENDING

    nobody = django_user_model.objects.create_user("nobody", "n@example.com", "pw-12345678")
    nobody.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    client.force_login(nobody)
    response = client.get(reverse("wagtail_xpm_leadsubmission:index"))
    assert response.status_code == 302 and response["Location"] == "/admin/"
