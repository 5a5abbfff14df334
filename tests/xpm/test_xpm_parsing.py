"""XML -> dataclasses: shapes from docs/xpm-api.md, quirks, and hostile or broken input."""

from __future__ import annotations

import io
import tracemalloc
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import xpm_testdata as td

from wagtail_xpm.xpm import parsing
from wagtail_xpm.xpm.errors import (
    XpmApiError,
    XpmNotFoundError,
    XpmResponseError,
)
from wagtail_xpm.xpm.http import CappedReader
from wagtail_xpm.xpm.problems import parse_problem

# The official get/[identifier] example (docs/xpm-api.md 4.4), comments and all.
OFFICIAL_CLIENT = b"""<Response>
  <Status>OK</Status>
  <WebUrl>https://practicemanager.xero.com/Client/123/Detail</WebUrl>
  <Client>
    <UUID>f8235e1a-d383-48b7-9139-ba97ab8ca889</UUID>
    <Name>Acmer Pty Ltd</Name>
    <Email>someone@example.com</Email>
    <DateOfBirth>1970-11-26</DateOfBirth>
    <Address />
    <PostalAddress>
       Level 32, PWC Building
       188 Quay Street
       Auckland Central
    </PostalAddress>
    <PostalCity>Auckland</PostalCity>
    <Phone>(02) 1723 5265</Phone>
    <Website />
    <AccountManager>
      <UUID>dc48df15-1a5c-4675-9d82-4ca54e2c6e86</UUID>
      <Name>Jo Blogs</Name>
    </AccountManager>
    <Type>
      <Name>20th of Month</Name>
      <CostMarkup>30.00</CostMarkup>
      <PaymentTerm>DayOfMonth</PaymentTerm>  <!-- DayOfMonth or WithinDays  -->
      <PaymentDay>20</PaymentDay>
    </Type>
    <Contacts>
      <Contact>
        <UUID>dd92bcf4-4227-447a-a0d9-81984609aa5e</UUID>
        <Name>Wyett E Coyote</Name>
        <Salutation />
        <Addressee />
        <Mobile />
        <Email />
        <Phone />
        <IsDeleted>No</IsDeleted>
        <IsPrimary>Yes</IsPrimary>
        <Position />
      </Contact>
    </Contacts>
    <Notes>
      <Note><Title>note title</Title><Text>subject</Text><Date>2008-09-12T13:00:00</Date></Note>
    </Notes>
    <BillingClient>
      <UUID>f8235e1a-d383-48b7-9139-ba97ab8ca889</UUID>
      <Name>Billing Client</Name>
    </BillingClient>
    <JobManager>
      <UUID>98466a19-16df-4ded-b657-0a80ef9a2094</UUID>
      <Name>John Smith</Name>
    </JobManager>
    <FirstName />
    <DateOfBirth />
    <TaxNumber />   ******123  <!-- e.g. masked -->
    <BusinessStructure>Trust</BusinessStructure>
    <BalanceMonth>Jun</BalanceMonth>
    <PrepareGST>Yes</PrepareGST>
    <GSTRegistered>No</GSTRegistered>
    <GSTPeriod>6 Monthly</GSTPeriod>
    <GSTBasis>Payment</GSTBasis>
    <Groups>
      <Group>
        <UUID>0dd913a9-6c7b-4060-ac4b-6ff7b41bd233</UUID>
        <Name>Bloggs Family</Name>
      </Group>
    </Groups>
    <Relationships>
      <Relationship>
        <UUID>1d44f4b8-094f-4b91-a73e-b00b83593f71</UUID>
        <Type>Shareholder</Type>
        <RelatedClient>
          <UUID>7b57ae35-244b-4ded-b237-b3ea8a222dd2</UUID>
          <Name>Bloggs Ltd</Name>
        </RelatedClient>
        <NumberOfShares>1000</NumberOfShares>
        <StartDate>2011-01-01</StartDate>
        <EndDate>2013-03-31</EndDate>
      </Relationship>
    </Relationships>
  </Client>
</Response>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Response><Status>OK</Status><Clients><Client><UUID>x</UUID><Name>&lol9;</Name></Client>
</Clients></Response>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Response><Status>OK</Status><Client><UUID>x</UUID><Name>&xxe;</Name></Client></Response>"""

PLAIN_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Response SYSTEM "http://attacker.example/xpm.dtd">
<Response><Status>OK</Status><Clients /></Response>"""

HOSTILE = [
    pytest.param(BILLION_LAUGHS, id="billion-laughs"),
    pytest.param(EXTERNAL_ENTITY, id="external-entity"),
    pytest.param(PLAIN_DTD, id="external-dtd"),
]


def stream(body: bytes, limit: int = 10**9) -> CappedReader:
    return CappedReader(io.BytesIO(body).read, limit)


# --------------------------------------------------------------------------- clients


def test_official_client_example_parses_to_typed_record() -> None:
    client = parsing.parse_client_response(OFFICIAL_CLIENT)

    assert client.uuid == "f8235e1a-d383-48b7-9139-ba97ab8ca889"
    assert client.name == "Acmer Pty Ltd"
    assert client.email == "someone@example.com"
    # The example repeats DateOfBirth, the second time empty: the value must survive.
    assert client.date_of_birth == date(1970, 11, 26)
    assert client.fields["DateOfBirth"] == "1970-11-26"
    assert client.postal_address == "Level 32, PWC Building\n188 Quay Street\nAuckland Central"
    assert client.address is None
    assert client.website is None
    assert client.account_manager is not None
    assert client.account_manager.name == "Jo Blogs"
    assert client.job_manager is not None
    assert client.job_manager.uuid == "98466a19-16df-4ded-b657-0a80ef9a2094"
    assert client.billing_client is not None
    assert client.billing_client.name == "Billing Client"
    assert client.type_name == "20th of Month"
    assert client.business_structure == "Trust"
    assert client.balance_month == 6
    assert client.balance_month_name == "June"
    assert client.gst_period == "6 Monthly"
    assert client.gst_registered is False
    assert client.prepare_gst is True
    assert client.tax_number is None  # the masked text sits *after* the empty element
    assert client.web_url == "https://practicemanager.xero.com/Client/123/Detail"
    assert [g.name for g in client.groups] == ["Bloggs Family"]
    (relationship,) = client.relationships
    assert relationship.type == "Shareholder"
    assert relationship.related_client is not None
    assert relationship.related_client.name == "Bloggs Ltd"
    assert relationship.end_date == date(2013, 3, 31)


def test_single_contact_and_group_are_still_tuples() -> None:
    client = parsing.parse_client_response(OFFICIAL_CLIENT)

    assert isinstance(client.contacts, tuple)
    assert len(client.contacts) == 1
    contact = client.contacts[0]
    assert contact.name == "Wyett E Coyote"
    assert contact.is_primary is True
    assert contact.is_deleted is False
    assert contact.email is None  # <Email /> is None, not ""
    assert client.primary_contact == contact
    assert isinstance(client.groups, tuple)
    assert len(client.groups) == 1


def test_fields_expose_every_scalar_element_and_reference_names() -> None:
    client = parsing.parse_client_response(OFFICIAL_CLIENT)

    assert client.fields["GSTBasis"] == "Payment"
    assert client.fields["BalanceMonth"] == "Jun"
    assert client.fields["Address"] == ""  # present but empty
    assert client.fields["AccountManager"] == "Jo Blogs"
    assert client.fields["AccountManager.UUID"] == "dc48df15-1a5c-4675-9d82-4ca54e2c6e86"
    assert client.fields["Type.PaymentTerm"] == "DayOfMonth"
    assert "Contacts" not in client.fields
    assert "Notes" not in client.fields
    assert "GSTRegistered" in client.fields
    assert "Industry" not in client.fields
    # Hashable although it carries a mapping (frozen dataclass all the way down).
    assert hash(client) == hash(parsing.parse_client_response(OFFICIAL_CLIENT))
    with pytest.raises(TypeError):
        client.fields["GSTBasis"] = "x"  # type: ignore[index]


def test_missing_elements_are_none() -> None:
    body = td.envelope(
        "<Clients><Client><UUID>9e023415-b173-4375-b8d5-4220b5a6b294</UUID>"
        "<Name>A. Dutchess</Name><Contacts /></Client></Clients>",
        method="List",
    )
    (client,) = parsing.parse_client_list(body)

    assert client.name == "A. Dutchess"
    assert client.email is None
    assert client.account_manager is None
    assert client.is_archived is None
    assert client.balance_month is None
    assert client.balance_month_name is None
    assert client.contacts == ()
    assert client.groups == ()
    assert client.primary_contact is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Yes", True),
        ("No", False),
        ("true", True),
        ("false", False),
        ("TRUE", True),
        ("yes", True),
        ("", None),
        ("maybe", None),
    ],
)
def test_yes_no_flags(raw: str, expected: bool | None) -> None:
    body = td.envelope(
        f"<Clients><Client><UUID>u</UUID><IsArchived>{raw}</IsArchived></Client></Clients>"
    )
    (client,) = parsing.parse_client_list(body)
    assert client.is_archived is expected


@pytest.mark.parametrize(
    ("raw", "month"),
    [("6", 6), ("06", 6), ("Jun", 6), ("June", 6), ("december", 12), ("13", None), ("Ju", None)],
)
def test_balance_month_forms(raw: str, month: int | None) -> None:
    body = td.envelope(
        f"<Clients><Client><UUID>u</UUID><BalanceMonth>{raw}</BalanceMonth></Client></Clients>"
    )
    (client,) = parsing.parse_client_list(body)
    assert client.balance_month == month


def test_utf8_names_without_declaration_or_charset() -> None:
    body = td.envelope(
        "<Clients><Client><UUID>u1</UUID><Name>M\u0101ori Trust Ltd</Name><Contacts><Contact>"
        "<UUID>c1</UUID><Name>Zo\u00eb Ng</Name></Contact></Contacts></Client></Clients>"
    )
    assert b"\xc4\x81" in body  # really UTF-8 bytes on the wire
    (client,) = parsing.parse_client_list(body)
    assert client.name == "M\u0101ori Trust Ltd"
    assert client.contacts[0].name == "Zo\u00eb Ng"


def test_xml_declaration_encoding_is_honoured() -> None:
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>'
        "<Response><Status>OK</Status><Clients><Client><UUID>u</UUID><Name>Zo\u00eb Ng</Name>"
        "</Client></Clients></Response>"
    ).encode("latin-1")
    (client,) = parsing.parse_client_list(body)
    assert client.name == "Zo\u00eb Ng"


def test_invalid_utf8_is_a_response_error() -> None:
    body = b"<Response><Status>OK</Status><Clients><Client><UUID>u</UUID><Name>Zo\xeb</Name>"
    body += b"</Client></Clients></Response>"
    with pytest.raises(XpmResponseError):
        parsing.parse_client_list(body)


def test_v30_style_ids_fall_back_when_uuid_absent() -> None:
    body = td.envelope("<Staff><ID>859230</ID><Name>Jo</Name></Staff>")
    assert parsing.parse_staff_response(body).uuid == "859230"


def test_client_without_identifier_is_refused() -> None:
    with pytest.raises(XpmResponseError, match="UUID"):
        parsing.parse_client_list(td.envelope("<Clients><Client><Name>x</Name></Client></Clients>"))


# --------------------------------------------------------------------------- envelope and errors


def test_status_error_raises_api_error_with_description() -> None:
    with pytest.raises(XpmApiError) as excinfo:
        parsing.parse_lead_response(td.error_envelope("Invalid owner"))
    assert excinfo.value.description == "Invalid owner"
    assert excinfo.value.message == "Invalid owner"
    assert excinfo.value.status == 200
    assert not isinstance(excinfo.value, XpmNotFoundError)


def test_invalid_identifier_is_not_found() -> None:
    with pytest.raises(XpmNotFoundError):
        parsing.parse_client_response(td.error_envelope("Invalid client identifier"))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"<Response><Status>OK</Status>",
        b"not xml",
        b"<Clients/>",
        b"<Response><Clients/></Response>",
        b'{"status": "OK"}',
    ],
    ids=["empty", "blank", "truncated", "text", "wrong-root", "no-status", "json"],
)
def test_malformed_bodies_raise_response_error(body: bytes) -> None:
    with pytest.raises(XpmResponseError):
        parsing.parse_client_list(body)


def test_response_error_is_also_a_value_error() -> None:
    with pytest.raises(ValueError):
        parsing.parse_client_list(b"<<<")


@pytest.mark.parametrize("body", HOSTILE)
def test_hostile_xml_is_refused_quickly(body: bytes) -> None:
    # Refused before anything is expanded or fetched: the memory peak shows it (a timed
    # assertion would fail on a loaded machine; speed is bench/'s to measure).
    tracemalloc.start()
    try:
        with pytest.raises(XpmResponseError, match="hostile"):
            parsing.parse_client_list(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024


@pytest.mark.parametrize("body", HOSTILE)
def test_hostile_xml_is_refused_by_the_streaming_parser(body: bytes) -> None:
    with pytest.raises(XpmResponseError, match="hostile"):
        list(parsing.iter_client_list(stream(body)))


def test_problem_reader_handles_gateway_json_oauth_and_xml() -> None:
    gateway = (
        b'{"Type":null,"Title":"Unauthorized","Status":401,'
        b'"Detail":"TokenExpired: token expired at 04/29/2020 09:22:02","Extensions":{}}'
    )
    assert parse_problem(gateway).detail.startswith("TokenExpired")
    assert parse_problem(b'{"error":"invalid_grant"}').summary == "invalid_grant"
    assert parse_problem(td.error_envelope("Bad")).detail == "Bad"
    assert parse_problem(b"").summary is None
    assert parse_problem(b"<html>oops").summary is None
    assert parse_problem(b"[1,2]").summary is None


# --------------------------------------------------------------------------- streaming


def test_streaming_yields_the_same_records_as_whole_parsing() -> None:
    body = td.client_list_bytes(30)
    streamed = list(parsing.iter_client_list(stream(body)))
    whole = parsing.parse_client_list(body)
    assert streamed == whole
    assert len(streamed) == 30
    assert streamed[3].contacts[0].email == "person3.0@example.co.nz"


def test_streaming_status_error_raises_before_yielding() -> None:
    body = (
        b'<Response api-method="List"><Status>ERROR</Status>'
        b"<ErrorDescription>Something broke</ErrorDescription>"
        b"<Clients><Client><UUID>u</UUID></Client></Clients></Response>"
    )
    iterator = parsing.iter_client_list(stream(body))
    with pytest.raises(XpmApiError, match="Something broke"):
        next(iterator)


def test_streaming_error_description_after_clients_still_yields_nothing() -> None:
    body = (
        b"<Response><Status>ERROR</Status><Clients><Client><UUID>u</UUID></Client></Clients>"
        b"<ErrorDescription>Late</ErrorDescription></Response>"
    )
    seen = []
    with pytest.raises(XpmApiError, match="Late"):
        for record in parsing.iter_client_list(stream(body)):
            seen.append(record)
    assert seen == []


def test_streaming_refuses_clients_before_status() -> None:
    body = b"<Response><Clients><Client><UUID>u</UUID></Client></Clients></Response>"
    with pytest.raises(XpmResponseError, match="before <Status>"):
        list(parsing.iter_client_list(stream(body)))


def test_streaming_truncated_body_raises_after_complete_records() -> None:
    body = td.client_list_bytes(3)[:-200]
    records = []
    with pytest.raises(XpmResponseError, match="malformed"):
        for record in parsing.iter_client_list(stream(body)):
            records.append(record)
    assert len(records) == 2


def test_streaming_cap_is_enforced() -> None:
    body = td.client_list_bytes(40)
    with pytest.raises(XpmResponseError, match="limit"):
        list(parsing.iter_client_list(stream(body, limit=len(body) // 2)))


def test_streaming_empty_list() -> None:
    body = td.envelope("<Clients />", method="List")
    assert list(parsing.iter_client_list(stream(body))) == []


# --------------------------------------------------------------------------- contacts, paging


def test_contact_page_with_next_link() -> None:
    body = td.envelope(
        "<Contacts><Contact><UUID>c1</UUID><Name>Wyett E Coyote</Name><Salutation />"
        "<IsDeleted>No</IsDeleted></Contact></Contacts><Pagination><Links>"
        "<First>https://api.xero.com/practicemanager/3.1/client.api/contacts?pageSize=10</First>"
        "<Next>https://api.xero.com/practicemanager/3.1/client.api/contacts?pageSize=10&amp;"
        "pageToken=bGlnaHQgd29y</Next></Links></Pagination>"
    )
    page = parsing.parse_contact_page(body)
    assert [c.uuid for c in page.items] == ["c1"]
    assert page.items[0].is_primary is None  # the contacts list carries no link fields
    assert page.next_url is not None
    assert page.next_url.endswith("pageSize=10&pageToken=bGlnaHQgd29y")


def test_last_page_has_no_next() -> None:
    page = parsing.parse_client_page(
        td.envelope(
            "<Clients><Client><UUID>u</UUID></Client></Clients><Pagination><Links>"
            "<First>x</First></Links></Pagination>"
        )
    )
    assert page.next_url is None
    assert len(page.items) == 1


# --------------------------------------------------------------------------- custom fields


def test_custom_field_definitions_options_and_inferred_value_element() -> None:
    body = td.envelope(
        "<CustomFieldDefinitions>"
        "<CustomFieldDefinition><UUID>d1</UUID><Name>Plan Level</Name><Type>Dropdown List</Type>"
        "<LinkUrl /><Options>Gold\nSilver\r\nBronze\n</Options><UseClient>true</UseClient>"
        "<UseContact>false</UseContact><UseJob>false</UseJob><UseLead>true</UseLead>"
        "<ValueElement>Text</ValueElement></CustomFieldDefinition>"
        "<CustomFieldDefinition><UUID>d2</UUID><Name>Industry</Name><Type>Dropdown List</Type>"
        "<Options>Retail, Farming , Tech</Options><UseClient>True</UseClient>"
        "<ValueElement /></CustomFieldDefinition>"
        "<CustomFieldDefinition><UUID>d3</UUID><Name>Onboarded</Name><Type>Checkbox</Type>"
        "</CustomFieldDefinition>"
        "<CustomFieldDefinition><UUID>d4</UUID><Name>Section</Name><Type>Heading</Type>"
        "</CustomFieldDefinition>"
        "</CustomFieldDefinitions>"
    )
    plan, industry, onboarded, heading = parsing.parse_custom_field_definitions(body)

    assert plan.options == ("Gold", "Silver", "Bronze")
    assert plan.use_client is True
    assert plan.use_contact is False
    assert plan.use_lead is True
    assert plan.use_supplier is None
    assert plan.value_element == "Text"
    assert industry.options == ("Retail", "Farming", "Tech")
    assert industry.value_element == "Text"  # inferred from the Dropdown List type
    assert onboarded.value_element == "Boolean"
    assert onboarded.options == ()
    assert heading.value_element is None


def test_custom_field_values_are_typed() -> None:
    body = td.envelope(
        "<CustomFields>"
        "<CustomField><UUID>a</UUID><Name>Date Field</Name><Date>2010-10-11T00:00:00</Date>"
        "</CustomField>"
        "<CustomField><UUID>b</UUID><Name>Number Field</Name><Number>123</Number></CustomField>"
        "<CustomField><UUID>c</UUID><Name>Decimal Field</Name><Decimal>1,234.50</Decimal>"
        "</CustomField>"
        "<CustomField><UUID>d</UUID><Name>Localized</Name><Decimal>123,45</Decimal>"
        "</CustomField>"
        "<CustomField><UUID>e</UUID><Name>Boolean Field</Name><Boolean>true</Boolean>"
        "</CustomField>"
        "<CustomField><UUID>f</UUID><Name>Plan Level</Name><Text> Gold </Text></CustomField>"
        "<CustomField><UUID>g</UUID><Name>Empty</Name><Text /></CustomField>"
        "<CustomField><UUID>h</UUID><Name>Odd</Name><Decimal>n/a</Decimal></CustomField>"
        "</CustomFields>"
    )
    values = {v.name: v for v in parsing.parse_custom_field_values(body)}

    assert values["Date Field"].value == date(2010, 10, 11)
    assert values["Date Field"].value_element == "Date"
    assert values["Number Field"].value == 123
    assert values["Decimal Field"].value == Decimal("1234.50")
    assert values["Localized"].value == Decimal("123.45")
    assert values["Boolean Field"].value is True
    assert values["Plan Level"].value == "Gold"
    assert values["Empty"].value is None
    assert values["Odd"].value is None
    assert values["Odd"].raw == "n/a"


def test_single_custom_field_is_a_list() -> None:
    body = td.envelope(
        "<CustomFields><CustomField><UUID>a</UUID><Name>X</Name><Text>y</Text>"
        "</CustomField></CustomFields>"
    )
    values = parsing.parse_custom_field_values(body)
    assert isinstance(values, list)
    assert len(values) == 1


# --------------------------------------------------------------------------- staff, groups, leads


def test_staff_list_and_get() -> None:
    listing = td.envelope(
        "<StaffList><Staff><UUID>s1</UUID><Name>Jo Bloggs</Name><Email>jo@bloggs.net</Email>"
        "<Phone /><Mobile /><Address /><PayrollCode /></Staff></StaffList>",
        method="List",
    )
    (staff,) = parsing.parse_staff_list(listing)
    assert staff.name == "Jo Bloggs"
    assert staff.email == "jo@bloggs.net"
    assert staff.phone is None

    single = td.envelope(
        "<WebUrl>https://app.practicemanager.xero.com/admin/resourceedit.aspx?id=123</WebUrl>"
        "<Staff><UUID>s1</UUID><Name>Jo Bloggs</Name></Staff>"
    )
    assert parsing.parse_staff_response(single).web_url.endswith("id=123")


def test_client_groups() -> None:
    listing = td.envelope(
        "<Groups><Group><UUID>g1</UUID><Name>Bloggs Family</Name><Taxable>Yes</Taxable></Group>"
        "<Group><UUID>g2</UUID><Name>Smith Family</Name><Taxable>No</Taxable></Group></Groups>"
    )
    groups = parsing.parse_client_group_list(listing)
    assert [(g.name, g.taxable) for g in groups] == [
        ("Bloggs Family", True),
        ("Smith Family", False),
    ]
    assert groups[0].clients == ()

    single = td.envelope(
        "<Group><UUID>g1</UUID><Name>Bloggs Family</Name><Clients><Client><UUID>c1</UUID>"
        "<Name>Bloggs Ltd</Name></Client></Clients></Group>"
    )
    group = parsing.parse_client_group_response(single)
    assert [c.name for c in group.clients] == ["Bloggs Ltd"]


def test_leads_and_categories() -> None:
    lead_xml = (
        "<Lead><UUID>l1</UUID><Name>Brochure Design</Name><Description /><State>Current</State>"
        "<EstimatedValue>10000</EstimatedValue><Date>2008-08-29T00:00:00</Date><DateWonLost />"
        "<Category>Hot</Category><Client><UUID>c1</UUID><Name>A C Smith Limited</Name></Client>"
        "<Contact><UUID>p1</UUID><Name>Andrew Smith</Name></Contact>"
        "<Owner><UUID>s1</UUID><Name>Jo Bloggs</Name></Owner></Lead>"
    )
    lead = parsing.parse_lead_response(td.envelope(lead_xml, method="Add"))
    assert lead.uuid == "l1"
    assert lead.state == "Current"
    assert lead.estimated_value == Decimal("10000")
    assert lead.date == datetime(2008, 8, 29, tzinfo=UTC)
    assert lead.date_won_lost is None
    assert lead.category == "Hot"
    assert lead.client is not None
    assert lead.client.name == "A C Smith Limited"
    assert lead.contact is not None
    assert lead.contact.uuid == "p1"
    assert lead.owner is not None
    assert lead.owner.name == "Jo Bloggs"

    (current,) = parsing.parse_lead_list(td.envelope(f"<Leads>{lead_xml}</Leads>"))
    assert current == lead

    categories = parsing.parse_lead_categories(
        td.envelope(
            "<Categories><Category><UUID>k1</UUID><Name>Hot</Name></Category></Categories>",
            method="Categories",
        )
    )
    assert [(c.uuid, c.name) for c in categories] == [("k1", "Hot")]


def test_lead_add_answer_with_only_an_identifier() -> None:
    lead = parsing.parse_lead_response(td.envelope("<UUID>l9</UUID>", method="Add"))
    assert lead.uuid == "l9"
    assert lead.name is None


def test_connections_json() -> None:
    body = (
        b'[{"id":"7cb59f93","authEventId":"e1","tenantId":"t1","tenantType":"PRACTICEMANAGER",'
        b'"tenantName":"Demo Practice","createdDateUtc":"2019-12-07T18:46:19.5165400",'
        b'"updatedDateUtc":"2019-12-07T18:46:19.5187840"},'
        b'{"id":"x","tenantId":"t2","tenantType":"ORGANISATION","tenantName":"Org"}]'
    )
    practice, org = parsing.parse_connections(body)
    assert practice.is_practice_manager
    assert not org.is_practice_manager
    assert practice.created == datetime(2019, 12, 7, 18, 46, 19, 516540, tzinfo=UTC)
    with pytest.raises(XpmResponseError):
        parsing.parse_connections(b'{"not": "a list"}')
    with pytest.raises(XpmResponseError):
        parsing.parse_connections(b"[{")
