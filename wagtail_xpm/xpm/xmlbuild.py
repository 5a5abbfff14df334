"""Request bodies for XPM's write calls, built as XML trees (never by string formatting).

User input from website forms ends up here, so every value is escaped by the serializer,
and characters XML 1.0 cannot carry at all (NUL, most C0 controls, lone surrogates) are
dropped instead of producing a body XPM would reject. Bodies are UTF-8 bytes without an
XML declaration, which is what XPM's own examples send.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from xml.etree.ElementTree import Element, SubElement, tostring

from .types import NewClient, NewContact, NewLead

__all__ = [
    "build_client_add",
    "build_contact_add",
    "build_custom_field_flag",
    "build_lead_add",
    "xml_safe",
]

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_safe(value: str) -> str:
    """Drop characters that XML 1.0 forbids (escaping cannot represent them)."""
    return _XML_ILLEGAL.sub("", value)


def _add(parent: Element, tag: str, value: str | None) -> None:
    if value is None:
        return
    cleaned = xml_safe(str(value)).strip()
    if cleaned:
        SubElement(parent, tag).text = cleaned


def _yes_no(value: bool) -> str:
    return "Yes" if value else "No"


def _serialize(root: Element) -> bytes:
    return tostring(root, encoding="unicode").encode("utf-8")


def _contact_elements(parent: Element, contact: NewContact) -> None:
    _add(parent, "Name", contact.name)
    _add(parent, "Salutation", contact.salutation)
    _add(parent, "Addressee", contact.addressee)
    _add(parent, "Phone", contact.phone)
    _add(parent, "Mobile", contact.mobile)
    _add(parent, "Email", contact.email)
    _add(parent, "Position", contact.position)
    _add(parent, "IsPrimary", _yes_no(contact.is_primary))


def _primary_flags(contacts: Iterable[NewContact]) -> list[bool]:
    # XPM makes the *last* contact flagged primary the primary one; send exactly one flag so
    # the result does not depend on that rule.
    flags = [c.is_primary for c in contacts]
    if any(flags):
        first = flags.index(True)
        flags = [i == first for i in range(len(flags))]
    return flags


def build_client_add(new: NewClient) -> bytes:
    """`POST client.api/add` body. Note the request spells the website `WebSite`."""
    root = Element("Client")
    _add(root, "Name", new.name)
    _add(root, "Email", new.email)
    _add(root, "Address", new.address)
    _add(root, "City", new.city)
    _add(root, "Region", new.region)
    _add(root, "PostCode", new.post_code)
    _add(root, "Country", new.country)
    _add(root, "PostalAddress", new.postal_address)
    _add(root, "PostalCity", new.postal_city)
    _add(root, "PostalRegion", new.postal_region)
    _add(root, "PostalPostCode", new.postal_post_code)
    _add(root, "PostalCountry", new.postal_country)
    _add(root, "Phone", new.phone)
    _add(root, "WebSite", new.website)
    _add(root, "ReferralSource", new.referral_source)
    _add(root, "IsProspect", _yes_no(new.is_prospect))
    _add(root, "AccountManagerUUID", new.account_manager_uuid)
    if new.contacts:
        contacts_el = SubElement(root, "Contacts")
        for contact, primary in zip(new.contacts, _primary_flags(new.contacts), strict=True):
            contact_el = SubElement(contacts_el, "Contact")
            _contact_elements(contact_el, contact)
            contact_el.find("IsPrimary").text = _yes_no(primary)  # type: ignore[union-attr]
    _add(root, "BillingClientUUID", new.billing_client_uuid)
    _add(root, "FirstName", new.first_name)
    _add(root, "LastName", new.last_name)
    _add(root, "JobManagerUUID", new.job_manager_uuid)
    return _serialize(root)


def build_contact_add(client_uuid: str, new: NewContact) -> bytes:
    """`POST client.api/contact` body: create a contact and link it to `client_uuid`."""
    root = Element("Contact")
    client_el = SubElement(root, "Client")
    _add(client_el, "UUID", client_uuid)
    _contact_elements(root, new)
    return _serialize(root)


def _format_decimal(value: Decimal | int | str) -> str:
    number = Decimal(str(value))
    if not number.is_finite():
        raise ValueError("estimated_value must be a finite number")
    # Plain notation: Decimal("1E+4") would otherwise serialise as "1E+4".
    return f"{number:f}"


def build_lead_add(new: NewLead) -> bytes:
    """`POST lead.api/add` body (3.1 `*UUID` element names)."""
    root = Element("Lead")
    _add(root, "Name", new.name)
    _add(root, "Description", new.description)
    _add(root, "ClientUUID", new.client_uuid)
    _add(root, "ContactUUID", new.contact_uuid)
    _add(root, "OwnerUUID", new.owner_uuid)
    _add(root, "CategoryUUID", new.category_uuid)
    _add(root, "TemplateUUID", new.template_uuid)
    if new.estimated_value is not None:
        _add(root, "EstimatedValue", _format_decimal(new.estimated_value))
    return _serialize(root)


def build_custom_field_flag(field_uuid: str, value: bool) -> bytes:
    """`PUT .../customfield` body setting one checkbox field (docs/xpm-api.md 6.2).

    An unticked checkbox is sent as `<Boolean>false</Boolean>`: XPM treats a checkbox with no
    value as false, and clearing with an empty element is documented only for the other
    value elements.
    """
    root = Element("CustomFields")
    item = SubElement(root, "CustomField")
    _add(item, "UUID", field_uuid)
    SubElement(item, "Boolean").text = "true" if value else "false"
    return _serialize(root)
