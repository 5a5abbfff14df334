"""Custom fields: definitions, per-client and per-contact values (docs/xpm-api.md 6)."""

from __future__ import annotations

import pytest
from sandbox_helpers import Api, api_fixture, live_clients, sb_fixture, server_fixture  # noqa: F401


def definitions_by_name(sb):
    return {d.name: d for d in sb.state.custom_fields.values()}


def test_definitions_cover_every_value_element(api: Api):
    root = api.ok("GET", "customfield.api/definition")
    items = root.findall("CustomFieldDefinitions/CustomFieldDefinition")
    assert 4 <= len(items) <= 7
    assert {i.findtext("ValueElement") for i in items} == {
        "Text",
        "Decimal",
        "Number",
        "Boolean",
        "Date",
    }
    by_name = {i.findtext("Name"): i for i in items}
    industry = by_name["Industry"]
    assert industry.findtext("Type") == "Dropdown List"
    assert "Construction" in industry.findtext("Options").split("\n")
    assert by_name["Plan Level"].findtext("Options").split("\n") == ["Gold", "Silver", "Bronze"]
    first = items[0]
    assert [child.tag for child in first] == [
        "UUID",
        "Name",
        "Type",
        "LinkUrl",
        "Options",
        "UseClient",
        "UseContact",
        "UseJob",
        "UseJobTask",
        "UseJobCost",
        "UseJobTime",
        "UseLead",
        "UseSupplier",
        "ValueElement",
    ]
    assert first.findtext("UseClient") == "true"
    assert first.findtext("UseJob") == "false"


def test_get_one_definition(api: Api, sb):
    plan = definitions_by_name(sb)["Plan Level"]
    root = api.ok("GET", f"customfield.api/get/{plan.uuid}")
    assert root.findtext("CustomFieldDefinition/Name") == "Plan Level"
    assert api.error("GET", "customfield.api/get/nope") == "Invalid custom field identifier"


def test_client_values_only_when_set(api: Api, sb):
    client = next(c for c in live_clients(sb) if len(c.custom_values) >= 3)
    root = api.ok("GET", f"client.api/get/{client.uuid}/customfield")
    fields = root.findall("CustomFields/CustomField")
    assert len(fields) == len([v for v in client.custom_values.values() if v is not False])
    for field in fields:
        definition = sb.state.custom_fields[field.findtext("UUID")]
        assert field.findtext("Name") == definition.name
        assert [child.tag for child in field] == ["UUID", "Name", definition.value_element]
    bare = next(c for c in live_clients(sb) if c.is_prospect)
    assert not bare.custom_values
    empty = api.ok("GET", f"client.api/get/{bare.uuid}/customfield")
    assert [child.tag for child in empty] == ["Status", "CustomFields"]
    assert len(empty.find("CustomFields")) == 0
    assert api.error("GET", "client.api/get/nope/customfield") == "Invalid client identifier"


def test_put_by_uuid_and_by_name_and_read_back(api: Api, sb):
    defs = definitions_by_name(sb)
    client = next(c for c in live_clients(sb) if c.is_prospect)
    body = (
        "<CustomFields>"
        f"<CustomField><UUID>{defs['Engagement Signed'].uuid}</UUID><Date>20101011</Date>"
        "</CustomField>"
        f"<CustomField><UUID>{defs['Employees'].uuid.upper()}</UUID><Number>123</Number>"
        "</CustomField>"
        "<CustomField><Name>Annual Fee</Name><Decimal>1,234.5</Decimal></CustomField>"
        "<CustomField><Name>newsletter</Name><Boolean>true</Boolean></CustomField>"
        "<CustomField><Name>Industry</Name><Text>retail</Text></CustomField>"
        "</CustomFields>"
    )
    root = api.ok("PUT", f"client.api/update/{client.uuid}/customfield", body)
    assert list(root) == [root.find("Status")]
    values = {
        f.findtext("Name"): f[2].text
        for f in api.ok("GET", f"client.api/get/{client.uuid}/customfield").findall(
            "CustomFields/CustomField"
        )
    }
    assert values == {
        "Industry": "Retail",
        "Annual Fee": "1234.50",
        "Employees": "123",
        "Newsletter": "true",
        "Engagement Signed": "2010-10-11T00:00:00",
    }


def test_empty_element_clears_and_false_checkbox_is_unset(api: Api, sb):
    defs = definitions_by_name(sb)
    client = next(
        c
        for c in live_clients(sb)
        if defs["Industry"].uuid in c.custom_values and defs["Newsletter"].uuid in c.custom_values
    )
    api.ok(
        "PUT",
        f"client.api/update/{client.uuid}/customfield",
        f"<CustomFields><CustomField><UUID>{defs['Industry'].uuid}</UUID><Text /></CustomField>"
        f"<CustomField><UUID>{defs['Newsletter'].uuid}</UUID><Boolean>false</Boolean>"
        "</CustomField></CustomFields>",
    )
    names = {
        f.findtext("Name")
        for f in api.ok("GET", f"client.api/get/{client.uuid}/customfield").findall(
            "CustomFields/CustomField"
        )
    }
    assert "Industry" not in names and "Newsletter" not in names


@pytest.mark.parametrize(
    ("field", "body", "message"),
    [
        (None, "<UUID>nope</UUID><Text>x</Text>", "Invalid custom field identifier"),
        (None, "<Name>Nope</Name><Text>x</Text>", "Invalid custom field identifier"),
        (
            "Plan Level",
            "<Text>Platinum</Text>",
            "Invalid value for custom field Plan Level: Platinum",
        ),
        (
            "Plan Level",
            "<Decimal>1</Decimal>",
            "Invalid value for custom field Plan Level: expected <Text>",
        ),
        ("Employees", "<Number>12.5</Number>", "Invalid value for custom field Employees: 12.5"),
        (
            "Engagement Signed",
            "<Date>tomorrow</Date>",
            "Invalid value for custom field Engagement Signed: tomorrow",
        ),
        (
            "Annual Fee",
            "",
            "Message not in expected format. The following required element "
            "was missing - /CustomFields/CustomField/Decimal",
        ),
    ],
)
def test_put_errors_change_nothing(api: Api, sb, field, body, message):
    client = live_clients(sb)[0]
    before = dict(client.custom_values)
    ident = f"<UUID>{definitions_by_name(sb)[field].uuid}</UUID>" if field else ""
    industry = definitions_by_name(sb)["Industry"].uuid
    full = (
        "<CustomFields>"
        f"<CustomField><UUID>{industry}</UUID><Text>Technology</Text></CustomField>"
        f"<CustomField>{ident}{body}</CustomField></CustomFields>"
    )
    assert api.error("PUT", f"client.api/update/{client.uuid}/customfield", full) == message
    assert client.custom_values == before


def test_contact_custom_fields(api: Api, sb):
    newsletter = definitions_by_name(sb)["Newsletter"]
    contact = next(c for c in sb.state.contacts.values() if not c.is_deleted)
    api.ok(
        "PUT",
        f"client.api/contact/{contact.uuid}/customfield",
        f"<CustomFields><CustomField><UUID>{newsletter.uuid}</UUID><Boolean>true</Boolean>"
        "</CustomField></CustomFields>",
    )
    root = api.ok("GET", f"client.api/contact/{contact.uuid}/customfield")
    assert [f.findtext("Name") for f in root.findall("CustomFields/CustomField")] == ["Newsletter"]
    # A client-only field cannot be set on a contact.
    industry = definitions_by_name(sb)["Industry"]
    assert (
        api.error(
            "PUT",
            f"client.api/contact/{contact.uuid}/customfield",
            f"<CustomFields><CustomField><UUID>{industry.uuid}</UUID><Text>Retail</Text>"
            "</CustomField></CustomFields>",
        )
        == "Invalid custom field identifier"
    )
