"""The segment screens: the form with the rule builder, its JSON endpoints and the CSV."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from wagtail_xpm.models import Segment
from wagtail_xpm.segments.compile import segment_queryset

pytestmark = pytest.mark.django_db

JOHN_JUNE = {
    "match": "all",
    "rules": [
        {"field": "account_manager", "op": "eq", "value": "John Smith"},
        {"field": "balance_month", "op": "eq", "value": "June"},
    ],
}


@pytest.fixture
def admin_client(db, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def people(practice):
    john_june = practice.client("Acme", {"account_manager": "John Smith", "balance_month": "June"})
    john_march = practice.client(
        "Bolt", {"account_manager": "John Smith", "balance_month": "March"}
    )
    jane_june = practice.client("Cog", {"account_manager": "Jane Doe", "balance_month": "June"})
    return {
        "ann": practice.contact("Ann Acme", "ann@acme.example", clients=[john_june]),
        "bob": practice.contact("Bob Bolt", "bob@bolt.example", clients=[john_march, jane_june]),
        "cat": practice.contact("Cat Cog", "cat@cog.example", clients=[jane_june]),
        "dan": practice.contact("Dan Acme", "", clients=[john_june]),
    }


def get_json(client, name: str, connection, definition=None, **params):
    query = {"connection": connection.pk, **params}
    if definition is not None:
        query["definition"] = json.dumps(definition)
    response = client.get(f"/admin/xpm/segments/builder/{name}/", query)
    assert response.status_code == 200, response.content[:500]
    return response.json()


def test_add_page_renders_the_builder(admin_client, practice):
    response = admin_client.get("/admin/xpm/segments/add/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-xpm-builder" in html
    assert "wagtail_xpm/segment_builder.js" in html
    assert 'name="definition"' in html


def test_create_a_segment(admin_client, practice, people):
    response = admin_client.post(
        "/admin/xpm/segments/add/",
        {
            "name": "John's June clients",
            "description": "",
            "connection": practice.connection.pk,
            "client_scope": "primary",
            "definition": json.dumps(JOHN_JUNE),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    segment = Segment.objects.get()
    assert segment.rules == JOHN_JUNE["rules"] and segment.match == "all"
    assert segment.connection == practice.connection
    assert [c.name for c in segment_queryset(segment)] == ["Ann Acme", "Dan Acme"]


def test_invalid_rules_are_refused_with_the_bad_entry_named(admin_client, practice):
    bad = {"match": "all", "rules": [{"field": "balance_month", "op": "gt", "value": "June"}]}
    response = admin_client.post(
        "/admin/xpm/segments/add/",
        {"name": "Bad", "connection": practice.connection.pk, "client_scope": "primary",
         "definition": json.dumps(bad)},
    )  # fmt: skip
    assert response.status_code == 200
    # Named as the editor sees the rule, the operator by its label.
    assert (
        "Rule 1, “Balance Month is more than June”: &#x27;is more than&#x27; does not apply to "
        "Balance Month (a month field; use is, is not, is any of" in response.content.decode()
    )
    assert not Segment.objects.exists()


def test_names_are_unique_per_practice_whatever_the_case(admin_client, practice):
    Segment.objects.create(connection=practice.connection, name="VIPs", rules=[])
    response = admin_client.post(
        "/admin/xpm/segments/add/",
        {"name": "vips", "connection": practice.connection.pk, "client_scope": "primary",
         "definition": json.dumps({"match": "all", "rules": []})},
    )  # fmt: skip
    assert response.status_code == 200
    assert "Another segment already has this name." in response.content.decode()
    assert Segment.objects.count() == 1


def test_field_metadata_offers_synced_values_and_mapping_choices(admin_client, practice, people):
    data = get_json(admin_client, "fields", practice.connection)
    fields = {f["key"]: f for f in data["fields"]}
    assert {"email", "name", "client_name", "source", "subscribed", "is_archived",
            "is_prospect"} <= set(fields)  # fmt: skip
    manager = fields["account_manager"]
    assert manager["label"] == "Account Manager" and manager["type"] == "choice"
    assert manager["values"] == ["Jane Doe", "John Smith"]
    assert fields["balance_month"]["values"][:3] == ["January", "February", "March"]
    # A custom field's dropdown options are offered before anyone has the value.
    assert fields["plan_level"]["values"] == ["Gold", "Silver", "Bronze"]
    month_ops = [o["op"] for o in fields["balance_month"]["ops"]]
    assert "within_next_days" in month_ops and "contains" not in month_ops
    labels = {o["op"]: o["label"] for o in fields["balance_month"]["ops"]}
    assert labels["within_next_days"] == "balance date is within the next … days"
    assert [o["op"] for o in fields["is_archived"]["ops"]] == ["eq", "ne"]


def test_live_count_preview_and_explain(admin_client, practice, people):
    connection = practice.connection
    count = get_json(admin_client, "count", connection, JOHN_JUNE)
    assert count["ok"] and count["count"] == 2 and count["reachable"] == 1
    any_scope = get_json(admin_client, "count", connection, {**JOHN_JUNE, "client_scope": "any"})
    assert any_scope["count"] == 3  # Bob: one client is John's, another is June's

    preview = get_json(admin_client, "preview", connection, JOHN_JUNE)
    assert [r["name"] for r in preview["rows"]] == ["Ann Acme", "Dan Acme"]
    assert [c["key"] for c in preview["columns"]] == ["account_manager", "balance_month"]
    assert preview["rows"][0]["values"] == {
        "account_manager": "John Smith",
        "balance_month": "June",
    }
    assert preview["has_next"] is False

    why = get_json(admin_client, "explain", connection, JOHN_JUNE, contact=people["bob"].pk)
    assert why["member"] is False
    rules = why["root"]["children"]
    assert [r["matched"] for r in rules] == [True, False]
    assert rules[1]["contact_value"] == "March"
    assert "Balance Month is June" in why["summary"]
    assert why["contact"]["subscription_url"].endswith(f"/contact/{people['bob'].pk}/subscription/")

    found = get_json(admin_client, "contacts", connection, q="bolt")
    assert [c["id"] for c in found["contacts"]] == [people["bob"].pk]


def test_count_reports_unfinished_rules(admin_client, practice, people):
    data = get_json(
        admin_client, "count", practice.connection,
        {"match": "all", "rules": [{"field": "account_manager", "op": "in", "value": []}]},
    )  # fmt: skip
    assert data == {"ok": False, "errors": ["Rule 1: “Account Manager is any of …” needs a value."]}


def test_members_csv(admin_client, practice, people):
    segment = Segment.objects.create(
        connection=practice.connection, name="John June", rules=JOHN_JUNE["rules"]
    )
    response = admin_client.get(f"/admin/xpm/segments/{segment.pk}/export.csv")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="john-june.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["name"] for r in rows] == ["Ann Acme", "Dan Acme"]
    assert rows[0]["email"] == "ann@acme.example" and rows[0]["balance_month"] == "June"


def test_endpoints_need_segment_permissions(practice, people, django_user_model):
    user = django_user_model.objects.create_user("ed", "ed@example.com", "pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client = Client()
    client.force_login(user)
    response = client.get(
        "/admin/xpm/segments/builder/count/",
        {"connection": practice.connection.pk, "definition": json.dumps(JOHN_JUNE)},
    )
    # Wagtail turns a refusal into a redirect to the dashboard, with a message.
    assert response.status_code == 302 and response.url == "/admin/"
    # A count by rule answers questions about people: it needs View contacts too
    # (docs/permissions.md).
    user.user_permissions.add(Permission.objects.get(codename="view_segment"))
    user = django_user_model.objects.get(pk=user.pk)
    client.force_login(user)
    params = {"connection": practice.connection.pk, "definition": json.dumps(JOHN_JUNE)}
    response = client.get("/admin/xpm/segments/builder/count/", params)
    assert response.status_code == 302 and response.url == "/admin/"
    user.user_permissions.add(Permission.objects.get(codename="view_contact"))
    client.force_login(django_user_model.objects.get(pk=user.pk))
    response = client.get("/admin/xpm/segments/builder/count/", params)
    assert response.status_code == 200 and response.json()["count"] == 2


def test_listing_edit_and_menu(admin_client, practice, people):
    segment = Segment.objects.create(
        connection=practice.connection,
        name="John June",
        rules=JOHN_JUNE["rules"],
    )
    listing = admin_client.get("/admin/xpm/segments/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "John June" in html
    assert "Account Manager is John Smith and Balance Month is June" in html

    edit = admin_client.get(f"/admin/xpm/segments/edit/{segment.pk}/")
    assert edit.status_code == 200
    html = edit.content.decode()
    # The builder starts from the saved rules, for this practice.
    assert "&quot;field&quot;: &quot;balance_month&quot;" in html
    assert f'data-connection="{practice.connection.pk}"' in html
    assert f"/admin/xpm/segments/{segment.pk}/export.csv" in html

    response = admin_client.post(
        f"/admin/xpm/segments/edit/{segment.pk}/",
        {"name": "John June", "client_scope": "any",
         "definition": json.dumps({"match": "any", "rules": JOHN_JUNE["rules"]})},
    )  # fmt: skip
    assert response.status_code == 302
    segment.refresh_from_db()
    assert (segment.client_scope, segment.match) == ("any", "any")
    assert segment.connection == practice.connection

    menu = admin_client.get("/admin/").content.decode()
    assert "/admin/xpm/campaigns/" in menu and "/admin/xpm/segments/" in menu


def test_seeing_members_needs_contact_permissions(practice, people, django_user_model):
    user = django_user_model.objects.create_user("ed", "ed@example.com", "pw")
    user.user_permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="change_segment"),
    )
    client = Client()
    client.force_login(user)
    params = {"connection": practice.connection.pk, "definition": json.dumps(JOHN_JUNE)}
    assert client.get("/admin/xpm/segments/builder/count/", params).status_code == 302
    assert client.get("/admin/xpm/segments/builder/preview/", params).status_code == 302
    # The builder still lists the fields and operators, without the values synced.
    fields = client.get("/admin/xpm/segments/builder/fields/", params).json()["fields"]
    by_key = {f["key"]: f for f in fields}
    assert by_key["account_manager"]["values"] == []
    assert by_key["balance_month"]["values"][:2] == ["January", "February"]
    user.user_permissions.add(Permission.objects.get(codename="view_contact"))
    client.force_login(django_user_model.objects.get(pk=user.pk))
    preview = client.get("/admin/xpm/segments/builder/preview/", params)
    assert [r["name"] for r in preview.json()["rows"]] == ["Ann Acme", "Dan Acme"]
