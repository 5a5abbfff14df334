"""``xpm_export``: contacts as CSV or JSON (docs/contracts.md 4.2)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from wagtail_xpm import services
from wagtail_xpm.configdoc import import_document
from wagtail_xpm.models import Contact, FieldMapping, Segment

pytestmark = pytest.mark.django_db

BASE = ["email", "name", "phone", "client_id", "contact_id", "subscribed"]


@pytest.fixture
def synced(connected_site):
    run = services.run_sync(connected_site, trigger="cli")
    assert run.status == "succeeded"
    return connected_site


def export(capsys, *args: str) -> str:
    call_command("xpm_export", *args)
    return capsys.readouterr().out


def test_csv_header_and_rows(synced, capsys):
    rows = list(csv.reader(io.StringIO(export(capsys))))
    keys = list(FieldMapping.objects.filter(connection=synced).values_list("key", flat=True))
    assert keys  # the default mappings made on connect
    assert rows[0] == BASE + keys
    assert len(rows) - 1 == Contact.objects.filter(connection=synced).count() > 0

    by_contact_id = {row[4]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    contact = Contact.objects.filter(connection=synced).exclude(email="").first()
    row = by_contact_id[contact.xpm_contact_id]
    assert row["email"] == contact.email
    assert row["name"] == contact.name
    assert row["client_id"] == contact.xpm_client_id
    assert row["subscribed"] == "yes"
    for key in keys:
        value = contact.data.get(key)
        expected = "" if value is None else value
        if isinstance(value, bool):
            expected = "yes" if value else "no"
        assert row[key] == str(expected), key


def test_csv_cells_cannot_run_as_formulas(synced, capsys):
    contact = Contact.objects.filter(connection=synced).first()
    contact.name = '=HYPERLINK("http://evil.example","click")'
    contact.data = {**contact.data, "account_manager": "+SUM(A1:A9)"}
    contact.save()
    rows = list(csv.DictReader(io.StringIO(export(capsys))))
    row = next(r for r in rows if r["contact_id"] == contact.xpm_contact_id)
    assert row["name"] == "'" + contact.name
    assert row["account_manager"] == "'+SUM(A1:A9)"


def test_json_array(synced, capsys):
    data = json.loads(export(capsys, "--format", "json"))
    assert isinstance(data, list)
    assert len(data) == Contact.objects.filter(connection=synced).count()
    keys = list(FieldMapping.objects.filter(connection=synced).values_list("key", flat=True))
    assert all(list(item) == BASE + keys for item in data)
    # Values keep their types in JSON.
    assert all(item["subscribed"] is True for item in data)
    registered = [item["gst_registered"] for item in data if item["gst_registered"] is not None]
    assert registered and all(isinstance(v, bool) for v in registered)


def test_json_with_no_contacts_is_an_empty_array(connected_site, capsys):
    assert json.loads(export(capsys, "--format", "json")) == []


def test_unknown_format_is_refused(synced):
    with pytest.raises(CommandError):
        call_command("xpm_export", "--format", "xml")


def test_site_without_a_connection(default_site):
    with pytest.raises(CommandError, match="no Xero Practice Manager connection"):
        call_command("xpm_export")


def test_unknown_segment(synced, capsys):
    with pytest.raises(CommandError, match="no segment named 'VIPs'"):
        call_command("xpm_export", "--segment", "VIPs")
    assert capsys.readouterr().out == ""


def test_segment_members_only(synced, capsys):
    contact = (
        Contact.objects.filter(connection=synced, is_archived=False)
        .exclude(data__balance_month=None)
        .first()
    )
    month = contact.data["balance_month"]
    import_document(
        synced,
        {
            "version": 1,
            "segments": [
                {"name": "Balance month", "rules": [
                    {"field": "balance_month", "op": "eq", "value": month}]}
            ],
        },
    )  # fmt: skip
    expected = {
        c.xpm_contact_id
        for c in Contact.objects.filter(connection=synced, is_archived=False)
        if c.data.get("balance_month") == month
    }
    rows = list(csv.DictReader(io.StringIO(export(capsys, "--segment", "BALANCE MONTH"))))
    assert {r["contact_id"] for r in rows} == expected
    assert rows and all(r["balance_month"] == month for r in rows)
    assert len(expected) < Contact.objects.filter(connection=synced).count()

    data = json.loads(export(capsys, "--segment", "balance month", "--format", "json"))
    assert {item["contact_id"] for item in data} == expected


def test_segment_built_in_the_admin_exports_too(synced, capsys):
    Segment.objects.create(
        connection=synced,
        name="Unsubscribed",
        rules=[{"field": "subscribed", "op": "eq", "value": False}],
    )
    contact = Contact.objects.filter(connection=synced, is_archived=False).first()
    Contact.objects.filter(pk=contact.pk).update(subscribed=False)
    rows = list(csv.DictReader(io.StringIO(export(capsys, "--segment", "Unsubscribed"))))
    assert [(r["contact_id"], r["subscribed"]) for r in rows] == [(contact.xpm_contact_id, "no")]
