"""The access request: one JSON file with everything held about a person, for users who may
export contacts on the person's site, logged, tax numbers masked without the permission."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from wagtail.models import ModelLogEntry

from tests.privacy.conftest import IRD, TAX
from wagtail_xpm import audit

pytestmark = pytest.mark.django_db


def refusal(response) -> int:
    """403 (Wagtail's admin answers a PermissionDenied with a redirect to the dashboard and
    a message), 404, or the status when it is neither."""
    if response.status_code == 302 and response["Location"] == "/admin/":
        return 403
    return response.status_code


def url(contact) -> str:
    return reverse("wagtail_xpm_contact:access_request", args=[contact.pk])


def download(world, role: str, contact=None) -> dict:
    response = world.client(role).get(url(contact or world.person))
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    return json.loads(response.content)


def test_the_document_holds_every_kind_of_record(world):
    doc = download(world, "tax_exporter_a")
    contact = doc["contact"]
    assert (contact["name"], contact["email"], contact["phone"]) == (
        "Pat Person",
        "Pat.Person@Example.com",
        "+64 21 555 0101",
    )
    fields = {f["label"]: f["value"] for f in contact["xpm_fields"]}
    assert fields["Account Manager"] == "Jo Manager"
    assert fields["Tax number"] == TAX and fields["IRD"] == IRD
    assert [c["client"] for c in doc["xpm_clients"]] == ["Person Holdings"]
    (enquiry,) = doc["website_enquiries"]
    assert enquiry["fields"]["Message"] == "Please call about my tax"
    (row,) = doc["campaigns"]
    assert (row["campaign"], row["status"]) == ("May news", "Sent") and row["sent_at"]
    (event,) = doc["delivery_events"]
    assert (event["event"], event["campaign"], event["detail"]) == (
        "bounced",
        "May news",
        "mailbox full",
    )
    (suppression,) = doc["suppression"]
    assert suppression["reason"] == "Bounced"
    (consent,) = doc["consent_records"]
    assert consent["wording"] == "Send me news" and consent["network"] == "203.0.113.0/24"
    assert len(doc["consent_confirmations"]) == 1
    assert doc["site"] and doc["generated_by"] == "tax_exporter_a"
    assert set(doc["about"]) >= {"contact", "website_enquiries", "campaigns", "consent_records"}


def test_an_enquiry_found_by_address_alone_is_included(world):
    # Sent before the contact existed: no link to the contact, the same address.
    type(world.enquiry).objects.filter(pk=world.enquiry.pk).update(contact=None)
    assert len(download(world, "exporter_a")["website_enquiries"]) == 1


def test_another_practices_records_are_left_out(world):
    doc = download(world, "superuser", world.other)
    assert doc["contact"]["name"] == "Bo Bravo"
    assert doc["website_enquiries"] == [] and doc["campaigns"] == []
    assert doc["consent_records"] == []


def test_tax_numbers_are_masked_without_the_permission(world):
    doc = download(world, "exporter_a")
    fields = {f["key"]: f["value"] for f in doc["contact"]["xpm_fields"]}
    assert fields["tax_number"] == "•••789" and fields["ird"] == "•••432"
    assert TAX not in json.dumps(doc) and IRD not in json.dumps(doc, ensure_ascii=False)
    assert doc["contact"]["tax_numbers_masked"] == ["ird", "tax_number"]


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("viewer", 403),  # may see contacts, not export them
        ("eraser_a", 403),
        ("exporter_a", 404),  # site A only: site B's contact does not exist for them
    ],
)
def test_refused_without_export_on_the_contacts_site(world, role, status):
    target = world.other if role == "exporter_a" else world.person
    response = world.client(role).get(url(target))
    assert refusal(response) == status
    assert not ModelLogEntry.objects.filter(action=audit.ACCESS_REQUEST).exists()


def test_anonymous_is_sent_to_the_login(world):
    from django.test import Client

    response = Client().get(url(world.person))
    assert response.status_code == 302 and "login" in response["Location"]


def test_each_download_is_in_the_audit_log_without_the_name(world):
    download(world, "exporter_a")
    (entry,) = ModelLogEntry.objects.filter(action=audit.ACCESS_REQUEST)
    assert entry.user == world.users["exporter_a"]
    assert entry.object_id == str(world.person.pk)
    assert entry.data["tax_numbers_masked"] is True
    assert "Pat" not in entry.label


def test_the_contact_page_offers_the_download_to_exporters_only(world):
    page = reverse("wagtail_xpm_contact:inspect", args=[world.person.pk])
    with_export = world.client("exporter_a").get(page).content.decode()
    assert url(world.person) in with_export
    without = world.client("viewer").get(page).content.decode()
    assert url(world.person) not in without
