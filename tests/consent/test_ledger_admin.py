"""The consent ledger on the contact's page, and one contact's ledger as a CSV (proof)."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from wagtail.models import ModelLogEntry, Page

from tests.access.access_helpers import admin_access, grant
from tests.segments.segment_factories import make_connection
from wagtail_xpm import audit
from wagtail_xpm.consent import ledger, status
from wagtail_xpm.models import ConsentEvent, Contact

pytestmark = pytest.mark.django_db

Action, Actor = ConsentEvent.Action, ConsentEvent.Actor


@pytest.fixture
def ann(practice, django_user_model):
    contact = Contact.objects.create(
        connection=practice, name="Ann Smith", email="ann@example.com", subscribed=True
    )
    page = Page.objects.get(slug="contact")
    # A wording that a spreadsheet would run, to prove the CSV escapes it.
    ledger.record(
        contact,
        Action.CONFIRMED,
        subscribed=True,
        actor=Actor.PERSON,
        page=page,
        wording='=HYPERLINK("http://evil.example") Send me news',
        address="203.0.113.77",
    )
    editor = django_user_model.objects.create_user("jane", first_name="Jane", last_name="Ed")
    status.unsubscribe(contact, Action.UNSUBSCRIBED_EDITOR, Actor.USER, user=editor)
    return contact


def refusal(response) -> int:
    """403, as Wagtail's admin answers a PermissionDenied (a redirect to the dashboard with
    a message), else the status."""
    if response.status_code == 302 and response["Location"] == "/admin/":
        return 403
    return response.status_code


def user_with(django_user_model, name: str, codenames, site=None):
    """An admin user whose group holds ``codenames`` on ``site`` (every site when None)."""
    group = Group.objects.create(name=f"{name} group")
    group.permissions.add(admin_access())
    grant(group, codenames, site)
    user = django_user_model.objects.create_user(name, password="pw")
    user.groups.add(group)
    client = Client()
    client.force_login(user)
    return client


def test_the_contact_page_lists_the_ledger_readably(ann, admin_client):
    response = admin_client.get(reverse("wagtail_xpm_contact:inspect", args=[ann.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "data-xpm-consent-ledger" in body
    assert 'data-xpm-consent-action="confirmed"' in body
    assert "Consent confirmed" in body and "Unsubscribed by an editor" in body
    assert "Jane Ed (a user of the site)" in body and "The person" in body
    assert "Contact us" in body  # the form page's title
    assert "Send me news" in body and "203.0.113.0/24" in body
    assert reverse("wagtail_xpm_contact:consent_ledger", args=[ann.pk]) in body


def test_the_ledger_csv_is_the_proof_escaped_and_audited(ann, admin_client):
    response = admin_client.get(reverse("wagtail_xpm_contact:consent_ledger", args=[ann.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["action"] for row in table] == [
        "Unsubscribed by an editor",
        "Consent confirmed",
    ]
    confirmed = table[1]
    assert confirmed["subscribed_after"] == "yes" and confirmed["by"] == "The person"
    assert confirmed["page"] == "Contact us" and confirmed["ip_prefix"] == "203.0.113.0/24"
    assert confirmed["wording"].startswith("'=HYPERLINK")  # never a formula
    assert table[0]["user"] == "jane"
    [entry] = ModelLogEntry.objects.filter(action=audit.EXPORT, object_id=str(ann.pk))
    assert entry.user.username == "admin" and entry.data["rows"] == 2


def test_the_ledger_csv_needs_export_permission_on_the_contacts_site(
    ann, practice, django_user_model
):
    url = reverse("wagtail_xpm_contact:consent_ledger", args=[ann.pk])
    viewer = user_with(django_user_model, "viewer", ["view_contact"])
    assert refusal(viewer.get(url)) == 403
    other_site = make_connection().site
    elsewhere = user_with(
        django_user_model, "elsewhere", ["view_contact", "export_contact"], site=other_site
    )
    # Another site's contact is not there at all for them (docs/permissions.md).
    assert refusal(elsewhere.get(url)) == 404
    here = user_with(
        django_user_model, "here", ["view_contact", "export_contact"], site=practice.site
    )
    assert here.get(url).status_code == 200
    assert not ModelLogEntry.objects.filter(
        action=audit.EXPORT, user__username__in=["viewer", "elsewhere"]
    ).exists()


def test_the_download_button_shows_only_to_those_who_may_export(ann, practice, django_user_model):
    page = reverse("wagtail_xpm_contact:inspect", args=[ann.pk])
    viewer = user_with(django_user_model, "viewer", ["view_contact"], site=practice.site)
    body = viewer.get(page).content.decode()
    assert "data-xpm-consent-ledger" in body and "data-xpm-consent-csv" not in body
