"""What the app does with people's data is in Wagtail's audit log: each entry shows in the
Site history report (``wagtailadmin_reports:site_history``) under the app's own label."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from wagtail.models import ModelLogEntry

from tests.segments.segment_factories import Practice
from wagtail_xpm import audit
from wagtail_xpm.models import Campaign, FieldMapping, Segment, XpmConnection

pytestmark = pytest.mark.django_db


def history(admin_client) -> str:
    response = admin_client.get(reverse("wagtailadmin_reports:site_history"))
    assert response.status_code == 200
    return response.content.decode()


def entries(action):
    return list(ModelLogEntry.objects.filter(action=action).order_by("timestamp", "pk"))


@pytest.fixture
def people(practice):
    factory = Practice(practice)
    client = factory.client("June Co", {"balance_month": "June"})
    return [
        factory.contact(name, f"{name.lower()}@example.com", clients=[client])
        for name in ("Ann", "Ben", "Cat")
    ]


@pytest.fixture
def segment(practice, people):
    return Segment.objects.create(connection=practice, name="Everyone", rules=[])


@pytest.fixture
def campaign(practice, segment):
    return Campaign.objects.create(
        connection=practice,
        segment=segment,
        name="June newsletter",
        subject="Hello",
        from_email="Example Accounting <news@example.com>",
        body="<p>Hello</p>",
    )


def test_a_segment_export_is_logged(segment, admin_client):
    response = admin_client.get(reverse("wagtail_xpm_segments:export", args=[segment.pk]))
    assert response.status_code == 200
    [entry] = entries(audit.EXPORT)
    assert entry.user.username == "admin" and entry.object_id == str(segment.pk)
    page = history(admin_client)
    assert "XPM: export" in page
    assert "Exported the members of segment &#x27;Everyone&#x27; as CSV" in page


def test_a_campaign_send_and_its_recipients_csv_are_logged(
    campaign, admin_client, django_capture_on_commit_callbacks, mailoutbox
):
    send_page = reverse("wagtail_xpm_campaigns:send", args=[campaign.pk])
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(send_page, {"action": "send"})
    assert len(mailoutbox) == 3
    [sent] = entries(audit.CAMPAIGN_SEND)
    assert sent.user.username == "admin" and sent.data["rows"] == 3
    admin_client.get(reverse("wagtail_xpm_campaigns:recipients", args=[campaign.pk]))
    [exported] = entries(audit.EXPORT)
    assert exported.object_id == str(campaign.pk)
    page = history(admin_client)
    assert "XPM: campaign send" in page and "Campaign sent: June newsletter (3 rows)" in page
    assert "Exported the recipients of campaign &#x27;June newsletter&#x27; as CSV" in page


def test_the_xpm_export_command_is_logged_without_a_user(practice, people, admin_client):
    call_command("xpm_export", stdout=io.StringIO())
    call_command("xpm_export", "--format", "json", stdout=io.StringIO())
    first, second = entries(audit.EXPORT)
    assert first.user is None and first.object_id == str(practice.pk)
    assert "every contact of" in first.data["what"] and "as csv" in first.data["what"]
    assert "as json" in second.data["what"]
    assert "(xpm_export command)" in history(admin_client)


def test_an_editors_consent_change_is_logged_on_the_contact(people, admin_client):
    ann = people[0]
    admin_client.post(
        reverse("wagtail_xpm_campaigns:contact_subscription", args=[ann.pk]), {"subscribed": "0"}
    )
    [entry] = entries(audit.CONSENT_CHANGE)
    assert entry.object_id == str(ann.pk) and entry.user.username == "admin"
    page = history(admin_client)
    assert "XPM: consent change" in page and "Marketing consent changed: unsubscribed" in page


def test_field_mapping_changes_are_logged(practice, admin_client):
    admin_client.post(
        reverse("wagtail_xpm_fieldmapping:add") + f"?connection={practice.pk}",
        {"source": "City", "label": "City name", "key": "city_copy"},
    )
    mapping = FieldMapping.objects.get(key="city_copy")
    admin_client.post(
        reverse("wagtail_xpm_fieldmapping:edit", args=[mapping.pk]),
        {"source": "City", "label": "Town name", "key": "city_copy"},
    )
    admin_client.post(reverse("wagtail_xpm_fieldmapping:delete", args=[mapping.pk]))
    assert not FieldMapping.objects.filter(pk=mapping.pk).exists()
    added, changed, removed = entries(audit.MAPPING_CHANGE)
    assert added.data["what"] == "added City name (city_copy)"
    assert changed.data["what"] == "changed Town name (city_copy)"
    assert changed.data["fields"] == ["label"]
    assert removed.data["what"] == "removed Town name (city_copy)"
    assert {e.user.username for e in (added, changed, removed)} == {"admin"}
    page = history(admin_client)
    assert "XPM: field mapping change" in page
    assert "Field mapping changed: removed Town name (city_copy)" in page


def test_a_config_document_import_is_logged(practice, tmp_path, admin_client):
    document = tmp_path / "config.json"
    document.write_text(
        json.dumps(
            {
                "version": 1,
                "mappings": [{"key": "city_copy", "source": "City", "label": "City copy"}],
            }
        )
    )
    call_command("xpm_config", "import", str(document), stdout=io.StringIO())
    [entry] = entries(audit.MAPPING_CHANGE)
    assert entry.user is None and entry.object_id == str(practice.pk)
    assert "imported a configuration document" in entry.data["what"]
    assert "city_copy" in entry.data["what"]
    # The same document again changes nothing, and logs nothing.
    call_command("xpm_config", "import", str(document), stdout=io.StringIO())
    assert len(entries(audit.MAPPING_CHANGE)) == 1


def test_connecting_choosing_the_practice_and_disconnecting_are_logged(
    connected_site, admin_client
):
    [connected] = entries(audit.CONNECTION_CHANGE)
    assert connected.data["change"] == "connect" and "connected" in connected.data["what"]
    site_id = connected_site.site_id
    XpmConnection.objects.filter(pk=connected_site.pk).update(
        status=XpmConnection.Status.CHOOSE_TENANT,
        available_tenants=[{"tenant_id": "t-2", "name": "Second Practice"}],
    )
    admin_client.post(reverse("wagtail_xpm:choose_tenant", args=[site_id]), {"tenant_id": "t-2"})
    admin_client.post(reverse("wagtail_xpm:disconnect", args=[site_id]))
    _, chosen, disconnected = entries(audit.CONNECTION_CHANGE)
    assert chosen.data["what"] == "chose the practice Second Practice"
    assert disconnected.data["change"] == "disconnect"
    assert {chosen.user.username, disconnected.user.username} == {"admin"}
    page = history(admin_client)
    assert "XPM: connection change" in page
    assert "XPM connection changed: chose the practice Second Practice" in page
