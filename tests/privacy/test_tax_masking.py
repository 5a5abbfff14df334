"""Tax numbers are masked wherever contact data is shown or exported, unless the user may
see them (on the contact's site); xpm_export masks them unless asked not to."""

from __future__ import annotations

import csv
import io
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.privacy.conftest import IRD, TAX
from wagtail_xpm import privacy
from wagtail_xpm.groups import XpmGroupPermissionsForm

pytestmark = pytest.mark.django_db

MASKED_TAX, MASKED_IRD = "•••789", "•••432"
EVERYONE = json.dumps({"match": "all", "rules": []})
ON_TAX = json.dumps(
    {"match": "all", "rules": [{"field": "tax_number", "op": "not_blank"},
                               {"field": "ird", "op": "not_blank"}]}
)  # fmt: skip


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content).decode() if response.streaming else (
        response.content.decode()
    )  # fmt: skip


def shows(body: str, *, masked: bool) -> None:
    if masked:
        assert MASKED_TAX in body and MASKED_IRD in body
        assert TAX not in body and IRD not in body
    else:
        assert TAX in body and IRD in body


# --- the admin ------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "masked"), [("viewer", True), ("tax_viewer", False)])
def test_contact_page(world, role, masked):
    page = reverse("wagtail_xpm_contact:inspect", args=[world.person.pk])
    body = text(world.client(role).get(page))
    shows(body, masked=masked)
    assert ("data-xpm-tax-masked" in body) is masked


def test_a_grant_on_one_site_unmasks_that_sites_contacts_only(world):
    client = world.client("tax_exporter_a")
    shows(text(client.get(reverse("wagtail_xpm_contact:inspect", args=[world.person.pk]))),
          masked=False)  # fmt: skip
    other = text(client.get(reverse("wagtail_xpm_contact:access_request", args=[world.person.pk])))
    shows(other, masked=False)
    assert privacy.can_see_tax_numbers(world.users["tax_exporter_a"], world.site_a)
    assert not privacy.can_see_tax_numbers(world.users["tax_exporter_a"], world.site_b)
    # Without a site (a listing across sites) only a grant on every site counts.
    assert not privacy.can_see_tax_numbers(world.users["tax_exporter_a"])


def builder(world, role, name, **query):
    query = {"connection": world.a.connection.pk, **query}
    return world.client(role).get(reverse(f"wagtail_xpm_segments:{name}"), query)


@pytest.mark.parametrize(("role", "masked"), [("segment_viewer", True), ("tax_viewer", False)])
def test_segment_preview(world, role, masked):
    response = builder(world, role, "builder_preview", definition=ON_TAX)
    payload = json.loads(text(response))
    (row,) = [r for r in payload["rows"] if r["id"] == world.person.pk]
    expected = (MASKED_TAX, MASKED_IRD) if masked else (TAX, IRD)
    assert (row["values"]["tax_number"], row["values"]["ird"]) == expected


@pytest.mark.parametrize(("role", "masked"), [("segment_viewer", True), ("tax_viewer", False)])
def test_segment_explain(world, role, masked):
    response = builder(world, role, "builder_explain", definition=ON_TAX, contact=world.person.pk)
    body = text(response)
    assert (TAX in body) is not masked and (IRD in body) is not masked
    payload = json.loads(body)
    values = [rule["contact_value"] for rule in payload["root"]["children"]]
    assert values == ([MASKED_TAX, MASKED_IRD] if masked else [TAX, IRD])


@pytest.mark.parametrize(("role", "masked"), [("segment_viewer", True), ("tax_viewer", False)])
def test_the_segment_builder_offers_no_tax_numbers_as_values(world, role, masked):
    payload = json.loads(text(builder(world, role, "builder_fields")))
    fields = {f["key"]: f for f in payload["fields"]}
    offered = fields["tax_number"]["values"] + fields["ird"]["values"]
    assert (TAX in offered) is not masked
    assert fields["account_manager"]["values"] == ["Jo Manager"]  # other values still offered


@pytest.mark.parametrize(("role", "masked"), [("segment_viewer", True), ("tax_viewer", False)])
def test_segment_export(world, role, masked):
    segment = world.campaign.segment
    body = text(world.client(role).get(reverse("wagtail_xpm_segments:export", args=[segment.pk])))
    rows = {r["email"]: r for r in csv.DictReader(io.StringIO(body))}
    row = rows[world.person.email]
    expected = (MASKED_TAX, MASKED_IRD) if masked else (TAX, IRD)
    assert (row["tax_number"], row["ird"]) == expected


def test_recipients_csv_holds_no_mapped_data(world):
    # Nothing to mask: the frozen list holds address, name and outcome only.
    url = reverse("wagtail_xpm_campaigns:recipients", args=[world.campaign.pk])
    header = text(world.client("superuser").get(url)).splitlines()[0]
    assert header == "email,name,status,reason,sent_at,error"


# --- the command ----------------------------------------------------------------------------


def export(*args: str) -> str:
    out = StringIO()
    call_command("xpm_export", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_xpm_export_masks_by_default(world, fmt):
    shows(export("--format", fmt), masked=True)


def test_xpm_export_unmasks_when_asked(world):
    body = export("--unmask-tax-numbers")
    shows(body, masked=False)
    assert "Jo Manager" in body


# --- Slack ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "masked"), [("viewer", True), ("tax_viewer", False)])
def test_slack_who(world, role, masked):
    from slackbot import queries

    found = queries.who(world.a.connection, world.person.email, world.users[role])
    values = dict(found.fields)
    expected = (MASKED_TAX, MASKED_IRD) if masked else (TAX, IRD)
    assert (values["Tax number"], values["IRD"]) == expected


# --- the group editor -----------------------------------------------------------------------


def test_the_permission_is_a_line_of_the_group_editor(world):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="Partners")
    form = XpmGroupPermissionsForm(instance=group)
    assert "See tax numbers" in form.as_admin_panel()
    prefix = "wagtail_xpm_access"
    bound = XpmGroupPermissionsForm({f"{prefix}-view_tax_numbers__all": "on"}, instance=group)
    assert bound.is_valid()
    bound.save()
    assert group.permissions.filter(codename="view_tax_number").exists()


# --- campaign previews and test emails with a real member's data -------------------------


@pytest.mark.parametrize(("tax", "masked"), [(False, True), (True, False)])
def test_campaign_preview_and_test_email(world, tax, masked):
    from django.contrib.auth.models import Group
    from django.core import mail

    from tests.privacy.conftest import grant

    writers = Group.objects.get(name="viewer")  # View contacts everywhere
    grant(writers, ["add_campaign", "change_campaign", "view_campaign"])
    if tax:
        grant(writers, ["view_tax_number"])
    campaign = world.campaign
    type(campaign).objects.filter(pk=campaign.pk).update(
        status="draft", body="<p>Your numbers: {{ tax_number }} and {{ ird }}</p>"
    )
    client = world.client("viewer")
    url = reverse("wagtail_xpm_campaigns:send", args=[campaign.pk])
    shows(text(client.get(url)), masked=masked)
    client.post(url, {"action": "test", "to": "someone@elsewhere.test"})
    (message,) = mail.outbox
    shows(message.body, masked=masked)


# --- rules that would reveal a tax number -----------------------------------------------------

STARTS_WITH = json.dumps(
    {"match": "all", "rules": [{"field": "tax_number", "op": "starts_with", "value": "123"}]}
)


@pytest.mark.parametrize("endpoint", ["builder_count", "builder_preview"])
def test_rules_comparing_a_tax_number_are_refused_without_the_permission(world, endpoint):
    refused = json.loads(text(builder(world, "segment_viewer", endpoint, definition=STARTS_WITH)))
    assert refused["ok"] is False
    assert "Tax number" in refused["errors"][0] and "See tax numbers" in refused["errors"][0]
    allowed = json.loads(text(builder(world, "tax_viewer", endpoint, definition=STARTS_WITH)))
    assert allowed["ok"] is True


def test_the_segment_form_refuses_them_too(world):
    from wagtail_xpm.segments.admin.forms import SegmentForm

    def form(role):
        return SegmentForm(
            {
                "name": "Starts with 123",
                "connection": world.a.connection.pk,
                "client_scope": "primary",
                "definition": STARTS_WITH,
            },
            for_user=world.users[role],
        )

    refused = form("segment_viewer")
    assert not refused.is_valid()
    assert "See tax numbers" in str(refused.errors["definition"])
    assert form("tax_viewer").is_valid()


def test_slack_refuses_them_too(world):
    from slackbot import segments_adapter

    rules = json.loads(STARTS_WITH)["rules"]
    with pytest.raises(segments_adapter.SegmentRuleError, match="See tax numbers"):
        segments_adapter.count(world.a.connection, "all", rules, user=world.users["viewer"])
    counted = segments_adapter.count(
        world.a.connection, "all", rules, user=world.users["tax_viewer"]
    )
    assert counted.count == 1
