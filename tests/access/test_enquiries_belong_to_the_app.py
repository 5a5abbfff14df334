"""Website enquiries belong to the app: Wagtail's Forms screens neither list, export nor
delete a lead form page's submissions for anyone without the enquiry permissions, and only
an explicit, permitted, logged delete removes an outbox row (docs/permissions.md)."""

from __future__ import annotations

import html

import pytest
from access_helpers import admin_access, grant
from django.contrib.auth.models import Group
from django.urls import reverse
from wagtail.models import ModelLogEntry

from wagtail_xpm.models import LeadSubmission
from wagtail_xpm.models.leads import EnquiryDeleteRefused

pytestmark = pytest.mark.django_db

FORMS = "/admin/forms/"


def forms_urls(page_id: int) -> dict[str, str]:
    base = f"/admin/forms/submissions/{page_id}/"
    return {
        "list": base,
        "results": f"{base}results/",
        "csv": f"{base}?export=csv",
        "xlsx": f"{base}?export=xlsx",
        "delete": f"{base}delete/",
    }


def text(response) -> str:
    return html.unescape(response.content.decode(errors="replace"))


def test_wagtails_default_editor_sees_no_enquiry_in_the_forms_screens(firms):
    editor = firms.client("editor")
    for firm in (firms.a, firms.b):
        listing = editor.get(FORMS)
        assert firm.contact_page.title not in text(listing)
        for name, url in forms_urls(firm.contact_page.pk).items():
            response = editor.get(url)
            assert response.status_code in (302, 403, 404), (name, response.status_code)
            for marker in firm.visitors:
                assert marker not in text(response), (name, marker)
        # Deleting through the Forms screen is refused; the enquiry is still there.
        response = editor.post(
            forms_urls(firm.contact_page.pk)["delete"] + f"?selected-submissions={firm.enquiry.pk}"
        )
        assert response.status_code in (302, 403)
        assert LeadSubmission.objects.filter(pk=firm.enquiry.pk).exists()
    # Nor through the app's own screens.
    response = editor.post(reverse("wagtail_xpm_leadsubmission:delete", args=[firms.a.enquiry.pk]))
    assert response.status_code in (302, 403)
    assert LeadSubmission.objects.filter(pk=firms.a.enquiry.pk).exists()


def test_enquiry_readers_are_sent_to_website_enquiries_and_only_for_their_sites(
    firms, django_user_model
):
    # An editor of pages who may also read site A's enquiries.
    readers = Group.objects.create(name="Alpha enquiry readers")
    grant(readers, ("view_leadsubmission",), site=firms.a.site)
    user = django_user_model.objects.create_user("alpha-editor")
    user.groups.add(Group.objects.get(name="Editors"), readers)
    client = firms.client("anonymous")
    client.force_login(user)

    listing = text(client.get(FORMS))
    assert firms.a.contact_page.title in listing
    assert "Bravo contact" not in listing
    # Opening Alpha's submissions (or their CSV) leads to the enquiries listing.
    for name in ("list", "csv", "xlsx"):
        response = client.get(forms_urls(firms.a.contact_page.pk)[name])
        assert response.status_code == 302
        assert response["Location"] == reverse("wagtail_xpm_leadsubmission:index")
    for name in ("list", "csv"):
        response = client.get(forms_urls(firms.b.contact_page.pk)[name])
        assert response.status_code in (302, 403)
        assert response.get("Location") != reverse("wagtail_xpm_leadsubmission:index")
        for marker in firms.b.visitors:
            assert marker not in text(response)


def test_the_forms_delete_never_removes_an_outbox_row(firms):
    superuser = firms.client("superuser")
    url = forms_urls(firms.a.contact_page.pk)["delete"]
    response = superuser.post(f"{url}?selected-submissions={firms.a.enquiry.pk}")
    assert response.status_code in (302, 403)
    assert LeadSubmission.objects.filter(pk=firms.a.enquiry.pk).exists()


def test_deleting_an_enquiry_is_explicit_permitted_and_logged(firms, django_user_model):
    enquiry = firms.a.enquiry
    url = reverse("wagtail_xpm_leadsubmission:delete", args=[enquiry.pk])

    readers = Group.objects.create(name="Enquiry readers")
    readers.permissions.add(admin_access())
    grant(readers, ("view_leadsubmission",))
    reader = django_user_model.objects.create_user("reader")
    reader.groups.add(readers)
    client = firms.client("anonymous")
    client.force_login(reader)
    assert client.post(url).status_code in (302, 403)
    assert LeadSubmission.objects.filter(pk=enquiry.pk).exists()

    # The Alpha administrator may delete Alpha's enquiries, not Bravo's.
    site_admin = firms.client("site_admin")
    other = reverse("wagtail_xpm_leadsubmission:delete", args=[firms.b.enquiry.pk])
    assert site_admin.post(other).status_code == 404
    assert LeadSubmission.objects.filter(pk=firms.b.enquiry.pk).exists()
    response = site_admin.post(url)
    assert response.status_code == 302
    assert not LeadSubmission.objects.filter(pk=enquiry.pk).exists()
    entry = ModelLogEntry.objects.get(action="wagtail.delete", object_id=str(enquiry.pk))
    assert entry.user == firms.users["site_admin"]
    # Logged under its number, never the visitor's name or email.
    assert entry.label == f"Website enquiry #{enquiry.pk}"
    assert not any(marker in str(entry.data) for marker in firms.a.visitors)


def test_no_other_code_path_deletes_an_enquiry(firms):
    with pytest.raises(EnquiryDeleteRefused):
        LeadSubmission.objects.filter(pk=firms.a.enquiry.pk).delete()
    with pytest.raises(EnquiryDeleteRefused):
        firms.a.enquiry.delete()
    with pytest.raises(EnquiryDeleteRefused):
        firms.a.contact_page.specific.get_submissions().delete()
    assert LeadSubmission.objects.count() == 2
    # Deleting the page, its site or the connection keeps the enquiry.
    firms.b.connection.delete()
    firms.b.contact_page.delete()
    assert LeadSubmission.objects.filter(pk=firms.b.enquiry.pk).exists()


def test_copies_of_enquiries_go_where_only_enquiry_readers_say(firms):
    page = firms.a.contact_page
    edit = reverse("wagtailadmin_pages:edit", args=[page.pk])
    editor_form = text(firms.client("editor").get(edit))
    assert 'name="to_address"' in editor_form
    assert "Only someone who may view website enquiries on this site can change it." in (
        editor_form
    )
    admin_form = text(firms.client("superuser").get(edit))
    assert "Only someone who may view website enquiries" not in admin_form


def test_an_enquiry_waiting_for_a_lead_owner_is_waiting_not_failed(firms):
    superuser = firms.client("superuser")
    listing = superuser.get(reverse("wagtail_xpm_leadsubmission:index"))
    page = text(listing)
    assert "Waiting" in page
    assert "xpm-badge--error" not in page
    waiting = text(
        superuser.get(reverse("wagtail_xpm_leadsubmission:index"), {"status": "waiting"})
    )
    assert firms.a.enquiry.name in waiting
    failed = text(superuser.get(reverse("wagtail_xpm_leadsubmission:index"), {"status": "failed"}))
    assert firms.a.enquiry.name not in failed

    inspect = text(
        superuser.get(reverse("wagtail_xpm_leadsubmission:inspect", args=[firms.a.enquiry.pk]))
    )
    assert 'data-xpm-lead-status="waiting"' in inspect
    assert "xpm-error-text" not in inspect
    # The consent answer is shown once, in its own row.
    assert inspect.count('<th scope="row">Marketing consent</th>') == 1
    assert "Send me news" not in inspect
