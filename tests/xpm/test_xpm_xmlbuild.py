"""Request bodies: escaping of website input, XPM's element names, UTF-8."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

from wagtail_xpm.xpm.types import NewClient, NewContact, NewLead
from wagtail_xpm.xpm.xmlbuild import (
    build_client_add,
    build_contact_add,
    build_lead_add,
    xml_safe,
)


def test_client_add_escapes_and_spells_website_as_xpm_expects() -> None:
    body = build_client_add(
        NewClient(
            "A & B <Ltd>",
            email="a&b@example.com",
            website="https://example.com/?a=1&b=2",
            account_manager_uuid="s1",
            contacts=(NewContact('Zo\u00eb "Zee" Ng', email="zoe@example.com"),),
        )
    )
    assert b"A &amp; B &lt;Ltd&gt;" in body
    assert b"<Ltd>" not in body
    root = ET.fromstring(body)
    assert root.tag == "Client"
    assert root.findtext("Name") == "A & B <Ltd>"
    assert root.findtext("WebSite") == "https://example.com/?a=1&b=2"
    assert root.find("Website") is None
    assert root.findtext("IsProspect") == "Yes"
    assert root.findtext("AccountManagerUUID") == "s1"
    (contact,) = root.find("Contacts")
    assert contact.findtext("Name") == 'Zo\u00eb "Zee" Ng'
    assert contact.findtext("IsPrimary") == "Yes"
    # UTF-8 on the wire, no declaration claiming anything else.
    assert "Zo\u00eb".encode() in body
    assert not body.startswith(b"<?xml")


def test_client_add_omits_blank_optional_fields() -> None:
    root = ET.fromstring(build_client_add(NewClient("Solo", email="  ", is_prospect=False)))
    assert [child.tag for child in root] == ["Name", "IsProspect"]
    assert root.findtext("IsProspect") == "No"


def test_client_add_sends_exactly_one_primary_contact() -> None:
    body = build_client_add(
        NewClient(
            "Family Trust",
            contacts=(NewContact("One"), NewContact("Two"), NewContact("Three", is_primary=False)),
        )
    )
    flags = [c.findtext("IsPrimary") for c in ET.fromstring(body).find("Contacts")]
    assert flags == ["Yes", "No", "No"]


def test_control_characters_from_forms_are_dropped() -> None:
    assert xml_safe("a\x00b\x0bc\td\n") == "abc\td\n"
    body = build_client_add(NewClient("Bad\x00Name\x1f Ltd"))
    assert ET.fromstring(body).findtext("Name") == "BadName Ltd"


def test_contact_add_links_to_client() -> None:
    body = build_contact_add(
        "50539fbc-d8e2-4943-bece-313a22489bb8",
        NewContact("Wyett E Coyote", position="CEO & Founder", is_primary=False),
    )
    root = ET.fromstring(body)
    assert root.tag == "Contact"
    assert root.findtext("Client/UUID") == "50539fbc-d8e2-4943-bece-313a22489bb8"
    assert root.findtext("Position") == "CEO & Founder"
    assert root.findtext("IsPrimary") == "No"


def test_lead_add_uses_uuid_elements_and_plain_decimals() -> None:
    body = build_lead_add(
        NewLead(
            "Website enquiry: A & B <Ltd>",
            "c1",
            "s1",
            description="Line one\n<script>alert(1)</script>",
            contact_uuid="p1",
            category_uuid="k1",
            estimated_value=Decimal("1E+4"),
        )
    )
    root = ET.fromstring(body)
    assert root.tag == "Lead"
    assert [child.tag for child in root] == [
        "Name",
        "Description",
        "ClientUUID",
        "ContactUUID",
        "OwnerUUID",
        "CategoryUUID",
        "EstimatedValue",
    ]
    assert root.findtext("Name") == "Website enquiry: A & B <Ltd>"
    assert root.findtext("Description") == "Line one\n<script>alert(1)</script>"
    assert b"<script>" not in body
    assert root.findtext("EstimatedValue") == "10000"
    assert root.find("TemplateUUID") is None
