"""The wire format: envelope, element order, empty/null style, headers (docs/xpm-api.md 2.3)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from sandbox_helpers import Api, api_fixture, sb_fixture, server_fixture  # noqa: F401


def raw(api: Api, path: str, **kw) -> str:
    response = api.call("GET", path, **kw)
    assert response.status_code == 200
    return response.content.decode("utf-8")


@pytest.mark.parametrize(
    ("path", "method", "first_child"),
    [
        ("client.api/list", "List", "Clients"),
        ("client.api/search?query=walker", "Search", "Clients"),
        ("client.api/paged-list", "PagedList", "Clients"),
        ("client.api/contacts", "Contacts", "Contacts"),
        ("staff.api/list", "List", "StaffList"),
        ("customfield.api/definition", "Definition", "CustomFieldDefinitions"),
        ("clientgroup.api/list", "List", "Groups"),
        ("lead.api/current", "Current", "Leads"),
        ("lead.api/categories", "Categories", "Categories"),
        ("category.api/list", "List", "Categories"),
    ],
)
def test_envelope_api_method_status_first_single_line(api: Api, path, method, first_child):
    text = raw(api, path)
    assert text.startswith(f'<Response api-method="{method}"><Status>OK</Status>')
    assert not text.startswith("<?xml")
    assert ">\n<" not in text and "> <" not in text  # no pretty-printing
    root = ET.fromstring(text)
    assert [child.tag for child in root][:2] == ["Status", first_child]


def test_rate_limit_and_correlation_headers_on_every_api_response(api: Api):
    for path in ("client.api/list", "client.api/get/not-a-client", "staff.api/list"):
        response = api.call("GET", path)
        assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
        for header in ("X-DayLimit-Remaining", "X-MinLimit-Remaining", "X-AppMinLimit-Remaining"):
            assert response.headers[header].isdigit()
        assert re.match(r"^[0-9a-f-]{36}$", response.headers["xero-correlation-id"])


def test_business_error_is_http_200_with_status_error(api: Api):
    response = api.call("GET", "client.api/get/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 200
    assert response.content == (
        b'<Response api-method="Get"><Status>ERROR</Status>'
        b"<ErrorDescription>Invalid client identifier</ErrorDescription></Response>"
    )


def client_xml(api: Api, name: str) -> str:
    text = raw(api, "client.api/list", params={"detailed": "true"})
    match = re.search(
        rf"<Client><UUID>[^<]+</UUID><Name>{re.escape(name)}</Name>.*?</Client>"
        r"(?=<Client>|</Clients>)",
        text,
    )
    assert match, name
    return match.group(0)


def test_empty_strings_render_open_close_and_empty_collections_self_close(api: Api, sb):
    company = next(c for c in sb.state.clients.values() if c.name == "Walker Holdings Pty Ltd")
    xml = client_xml(api, company.name)
    assert "<Fax></Fax>" in xml
    assert "<BranchNumber></BranchNumber>" in xml
    assert "<Fax />" not in xml
    # Relationships live on the individual: the company's collection is empty.
    assert "<Relationships />" in xml
    individual = next(c for c in sb.state.clients.values() if c.relationships)
    assert "<Relationship><UUID>" in client_xml(api, individual.name)


def test_null_fields_are_omitted(api: Api, sb):
    prospect = next(c for c in sb.state.clients.values() if c.is_prospect)
    xml = client_xml(api, prospect.name)
    assert "<AccountManager>" not in xml
    assert "<JobManager>" not in xml
    assert "<Type>" not in xml
    assert "<BusinessStructure>" not in xml
    assert "<IsProspect>Yes</IsProspect>" in xml
    company = next(c for c in sb.state.clients.values() if c.name.endswith("Pty Ltd"))
    company_xml = client_xml(api, company.name)
    # Individual-only fields are absent for a company.
    assert "<FirstName>" not in company_xml and "<DateOfBirth>" not in company_xml


def test_client_element_order_and_formats(api: Api, sb):
    individual = next(
        c
        for c in sb.state.clients.values()
        if c.date_of_birth and c.account_manager_uuid and c.tax_number
    )
    element = ET.fromstring(client_xml(api, individual.name))
    tags = [child.tag for child in element]
    assert tags[:2] == ["UUID", "Name"]
    assert tags.index("Email") < tags.index("Address") < tags.index("IsProspect")
    assert tags.index("IsDeleted") < tags.index("AccountManager") < tags.index("TaxNumber")
    assert tags[-4:] == ["Contacts", "Notes", "Groups", "Relationships"]
    assert re.match(r"^\d{4}-\d\d-\d\dT00:00:00$", element.findtext("DateOfBirth"))
    tax = element.findtext("TaxNumber")
    assert tax.endswith(individual.tax_number[-3:])
    assert set(tax[:-3]) == {"*"}
    manager = element.find("AccountManager")
    assert [child.tag for child in manager] == ["UUID", "Name"]
    assert element.findtext("BalanceMonth") == str(individual.balance_month)


def test_contact_element_fields(api: Api):
    root = api.ok("GET", "client.api/list")
    contact = root.find("Clients/Client/Contacts/Contact")
    assert [child.tag for child in contact] == [
        "UUID",
        "Name",
        "Salutation",
        "Addressee",
        "Mobile",
        "Email",
        "Phone",
        "IsDeleted",
        "IsPrimary",
        "Position",
    ]
    assert contact.findtext("IsPrimary") in ("Yes", "No")


def test_special_characters_are_escaped(api: Api, sb):
    text = raw(api, "client.api/list")
    partnership = next(c for c in sb.state.clients.values() if " & " in c.name)
    assert partnership.name.replace("&", "&amp;") in text
    root = ET.fromstring(text)
    assert partnership.name in [c.findtext("Name") for c in root.iter("Client")]


def test_unicode_survives_as_utf8(api: Api):
    root = api.ok("GET", "client.api/list")
    names = {c.findtext("Name") for c in root.iter("Contact")}
    assert any("ā" in name for name in names)
    assert any("Zoë" in name for name in names)
