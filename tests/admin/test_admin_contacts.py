"""The contacts listing, search, mapped-field filters, CSV export, inspect and edit screens."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from django.urls import reverse

from wagtail_xpm.models import Contact, ContactClientLink, FieldMapping, PracticeClient

pytestmark = pytest.mark.django_db

INDEX = "wagtail_xpm_contact:index"


def assert_denied(response) -> None:
    """Wagtail's admin answers a missing permission by sending the user to the dashboard."""
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def listing(client, **params):
    response = client.get(reverse(INDEX), params)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def csv_rows(client, **params) -> list[list[str]]:
    response = client.get(reverse(INDEX), {**params, "export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="contacts.csv"' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_listing_shows_synced_contacts_with_their_xpm_client(admin_client, synced):
    page = listing(admin_client)
    contacts = list(Contact.objects.select_related("primary_client"))
    assert len(contacts) == synced.created > 20
    for contact in contacts:
        assert contact.email in page
    contact = next(c for c in contacts if c.primary_client and c.client_name != c.name)
    assert contact.client_name in page
    # XPM's client list has no web address, so the link goes through the lookup view.
    assert reverse("wagtail_xpm_contact:open_client", args=[contact.primary_client_id]) in page
    for heading in ("Email", "XPM client", "Source", "Subscribed", "Archived"):
        assert f">{heading}" in page or heading in page


def test_search_matches_name_email_and_client_name(admin_client, synced):
    contacts = list(Contact.objects.exclude(email=""))
    target, other = contacts[0], contacts[-1]
    page = listing(admin_client, q=target.email.upper())
    assert target.email in page and other.email not in page

    page = listing(admin_client, q=target.name.split()[0])
    assert target.email in page

    client_name = next(c.client_name for c in contacts if c.client_name and c.client_name != c.name)
    expected = Contact.objects.filter(client_name__icontains=client_name)
    page = listing(admin_client, q=client_name)
    for contact in expected:
        assert contact.email in page


def test_filter_on_a_mapped_field_uses_the_synced_values(admin_client, synced):
    managers = sorted(
        {v for v in Contact.objects.values_list("data__account_manager", flat=True) if v}
    )
    assert len(managers) >= 2
    chosen = managers[0]
    matching = set(
        Contact.objects.filter(data__account_manager=chosen).values_list("email", flat=True)
    )
    others = set(
        Contact.objects.exclude(data__account_manager=chosen).values_list("email", flat=True)
    )
    assert matching and others

    page = listing(admin_client, data__account_manager=chosen)
    for email in matching - {""}:
        assert email in page
    for email in others - {""}:
        assert email not in page

    # The dropdown offers exactly the values synced, labelled by the mapping.
    select = re.search(r'<select name="data__account_manager".*?</select>', page, re.S).group(0)
    offered = re.findall(r'<option value="([^"]+)"', select)
    assert offered == managers
    assert "Account Manager" in page


def test_month_filter_is_in_calendar_order(admin_client, synced):
    page = listing(admin_client)
    select = re.search(r'<select name="data__balance_month".*?</select>', page, re.S).group(0)
    offered = re.findall(r'<option value="([^"]+)"', select)
    months = FieldMapping.objects.get(key="balance_month").choices
    assert len(offered) >= 2
    assert offered == sorted(offered, key=months.index)


def test_filter_on_a_yes_no_field(admin_client, synced):
    registered = Contact.objects.filter(data__gst_registered=True)
    not_registered = Contact.objects.filter(data__gst_registered=False)
    assert registered.exists() and not_registered.exists()
    page = listing(admin_client, data__gst_registered="true")
    assert all(c.email in page for c in registered if c.email)
    assert not any(c.email in page for c in not_registered if c.email)


def test_csv_export_has_the_documented_columns_and_the_filtered_rows(admin_client, synced):
    rows = csv_rows(admin_client)
    keys = list(FieldMapping.objects.order_by("sort_order").values_list("key", flat=True))
    assert rows[0] == ["email", "name", "phone", "client_id", "contact_id", "subscribed", *keys]
    assert len(rows) == 1 + Contact.objects.count()

    known = Contact.objects.exclude(email="").exclude(data={}).order_by("pk").first()
    expected = [
        known.email,
        known.name,
        known.phone or known.mobile,
        known.xpm_client_id,
        known.xpm_contact_id,
        "yes",
        *[
            ("yes" if v is True else "no" if v is False else str(v) if v is not None else "")
            for v in (known.data.get(k) for k in keys)
        ],
    ]
    assert expected in rows[1:]

    nobody = csv_rows(admin_client, q="no-such-person-anywhere")
    assert nobody == [rows[0]]

    chosen = known.data["account_manager"]
    filtered = csv_rows(admin_client, data__account_manager=chosen)
    assert len(filtered) == 1 + Contact.objects.filter(data__account_manager=chosen).count()
    assert {row[6] for row in filtered[1:]} == {chosen}


def test_xlsx_export_is_offered_too(admin_client, synced):
    response = admin_client.get(reverse(INDEX), {"export": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_inspect_shows_mapped_data_and_every_linked_client(admin_client, synced):
    # The person skipped as a duplicate stays linked to both clients.
    duplicate = synced.report["skipped_duplicates"][0]
    contact = Contact.objects.get(xpm_contact_id=duplicate["kept_contact_id"])
    links = list(ContactClientLink.objects.filter(contact=contact).select_related("client"))
    assert len(links) >= 2

    page = admin_client.get(reverse("wagtail_xpm_contact:inspect", args=[contact.pk]))
    assert page.status_code == 200
    text = html.unescape(page.content.decode())
    for link in links:
        assert link.client.name in text
        if link.position:
            assert link.position in text
    assert "Account Manager" in text and contact.data["account_manager"] in text
    assert contact.xpm_contact_id in text and contact.xpm_client_id in text


def test_open_in_xpm_looks_the_address_up_once(admin_client, synced, running_sandbox):
    client = PracticeClient.objects.filter(primary_contacts__isnull=False).first()
    assert client.web_url == ""
    url = reverse("wagtail_xpm_contact:open_client", args=[client.pk])
    before = running_sandbox.sandbox.api_calls
    response = admin_client.get(url)
    assert response.status_code == 302
    assert re.match(r"https://practicemanager\.xero\.com/Client/\d+/Detail", response["Location"])
    client.refresh_from_db()
    assert client.web_url == response["Location"]
    assert running_sandbox.sandbox.api_calls == before + 1

    again = admin_client.get(url)
    assert again["Location"] == client.web_url
    assert running_sandbox.sandbox.api_calls == before + 1
    # Once known, the listing links straight to XPM.
    assert client.web_url in listing(admin_client)


def test_editing_an_xpm_contact_keeps_the_change_but_never_the_ids(admin_client, synced, sync):
    contact = Contact.objects.exclude(email="").filter(source="xpm").first()
    ids = (contact.xpm_client_id, contact.xpm_contact_id, contact.email)
    form = admin_client.get(reverse("wagtail_xpm_contact:edit", args=[contact.pk])).content.decode()
    assert 'name="xpm_contact_id"' not in form and 'name="xpm_client_id"' not in form

    response = admin_client.post(
        reverse("wagtail_xpm_contact:edit", args=[contact.pk]),
        {
            "name": "Preferred Name",
            "email": "changed@example.com",
            "phone": contact.phone,
            "mobile": contact.mobile,
            "position": contact.position,
            "xpm_contact_id": "forged",
            "xpm_client_id": "forged",
            # subscribed left out: unticked
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    contact.refresh_from_db()
    assert contact.name == "Preferred Name"
    assert (contact.xpm_client_id, contact.xpm_contact_id, contact.email) == ids
    assert contact.form_locked_fields == ["name"]
    assert contact.subscribed is False and contact.unsubscribed_at is not None

    sync(full=True)
    contact.refresh_from_db()
    assert contact.name == "Preferred Name"


def test_adding_a_manual_contact(admin_client, synced, connected_site):
    add = reverse("wagtail_xpm_contact:add")
    form = admin_client.get(add).content.decode()
    # One practice: the site is implied (a hidden field), never a choice to get wrong.
    assert f'type="hidden" name="connection" value="{connected_site.pk}"' in form
    response = admin_client.post(
        add,
        {
            "connection": connected_site.pk,
            "name": "Walk In",
            "email": "walk.in@example.com",
            "subscribed": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    contact = Contact.objects.get(email="walk.in@example.com")
    assert contact.source == "manual" and contact.connection == connected_site
    assert contact.xpm_contact_id == "" and contact.subscribed
    assert "walk.in@example.com" in listing(admin_client, source="manual")

    taken = Contact.objects.filter(source="xpm").exclude(email="").first()
    response = admin_client.post(
        add, {"connection": connected_site.pk, "name": "Again", "email": f" {taken.email.upper()} "}
    )
    assert response.status_code == 200
    assert "already has this email address" in response.content.decode()
    assert not Contact.objects.filter(name="Again").exists()


def test_a_viewer_can_look_but_not_change(viewer_client, synced):
    contact = Contact.objects.first()
    assert viewer_client.get(reverse(INDEX)).status_code == 200
    assert (
        viewer_client.get(reverse("wagtail_xpm_contact:inspect", args=[contact.pk])).status_code
        == 200
    )
    # Seeing contacts is not taking the list away: downloads need Export contacts.
    assert_denied(viewer_client.get(reverse(INDEX), {"export": "csv"}))
    assert_denied(viewer_client.get(reverse(INDEX), {"export": "xlsx"}))
    assert "export=csv" not in viewer_client.get(reverse(INDEX)).content.decode()
    opened = viewer_client.get(
        reverse("wagtail_xpm_contact:open_client", args=[contact.primary_client_id])
    )
    assert opened["Location"].startswith("https://practicemanager.xero.com/Client/")

    assert_denied(viewer_client.get(reverse("wagtail_xpm_contact:edit", args=[contact.pk])))
    response = viewer_client.post(
        reverse("wagtail_xpm_contact:edit", args=[contact.pk]), {"name": "Hacked"}
    )
    assert_denied(response)
    contact.refresh_from_db()
    assert contact.name != "Hacked"
    assert_denied(viewer_client.get(reverse("wagtail_xpm_contact:add")))


def test_contacts_need_the_contact_permissions(manager_client, synced):
    assert_denied(manager_client.get(reverse(INDEX)))
    assert_denied(manager_client.get(reverse(INDEX), {"export": "csv"}))
    client = Contact.objects.exclude(primary_client=None).first().primary_client_id
    assert_denied(manager_client.get(reverse("wagtail_xpm_contact:open_client", args=[client])))
