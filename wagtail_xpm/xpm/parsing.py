"""XPM response bodies (bytes or a byte stream) to the dataclasses in `types`.

XML never leaves this module: everything it returns is a frozen dataclass. All XML goes
through defusedxml with DTDs forbidden, so entity expansion ("billion laughs"), external
entities and DTD tricks are refused at the `<!DOCTYPE`, before any expansion happens.

Bytes are handed to the XML parser undecoded: expat reads an XML declaration's encoding
when there is one and UTF-8 otherwise, which is what XPM sends. (requests' `.text` would
guess ISO-8859-1 for a `text/xml` reply without a charset and mangle "Zoë".)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from .errors import XpmApiError, XpmNotFoundError, XpmResponseError
from .problems import about_refusal
from .types import (
    ClientRef,
    CustomFieldDefinition,
    CustomFieldValue,
    CustomValue,
    FrozenMap,
    GroupRef,
    LeadCategory,
    Page,
    StaffRef,
    Tenant,
    XpmClientGroup,
    XpmClientRecord,
    XpmContact,
    XpmLead,
    XpmRelationship,
    XpmStaff,
)
from .values import parse_bool, parse_date, parse_datetime, parse_decimal, parse_int, parse_month

__all__ = [
    "MAX_CLIENT_BYTES",
    "iter_client_list",
    "parse_client_group_list",
    "parse_client_group_response",
    "parse_client_list",
    "parse_client_page",
    "parse_client_response",
    "parse_connections",
    "parse_contact_page",
    "parse_contact_response",
    "parse_custom_field_definitions",
    "parse_custom_field_values",
    "parse_json",
    "parse_lead_categories",
    "parse_lead_list",
    "parse_lead_response",
    "parse_staff_list",
    "parse_staff_response",
    "parse_status",
    "text",
    "yes_no",
]

#: Cap for one client of the streamed list (a detailed client is a few KB). The stream cap
#: alone would let one giant text node or an endless client through, held whole in memory.
MAX_CLIENT_BYTES = 8 * 1024 * 1024

# Elements of a client that hold lists; they are parsed into tuples, not into `fields`.
_CLIENT_COLLECTIONS = frozenset(
    {"Contacts", "Notes", "Groups", "Relationships", "CustomFields", "Documents"}
)
_VALUE_ELEMENTS = ("Text", "Decimal", "Number", "Boolean", "Date")
# Custom field type (as named in the XPM UI) -> value element, for definitions that leave
# ValueElement blank (docs/xpm-api.md 6.1).
_TYPE_TO_VALUE_ELEMENT = {
    "text": "Text",
    "multi-line text": "Text",
    "multiline text": "Text",
    "dropdown list": "Text",
    "dropdown": "Text",
    "link": "Text",
    "value link": "Text",
    "contact link": "Text",
    "phone number": "Text",
    "serial number": "Text",
    "skype call": "Text",
    "skype chat": "Text",
    "twitter": "Text",
    "decimal": "Decimal",
    "number": "Number",
    "checkbox": "Boolean",
    "boolean": "Boolean",
    "date": "Date",
}
_NOT_FOUND_RE = re.compile(r"^invalid\b.*\bidentifier\b", re.IGNORECASE)


# --------------------------------------------------------------------------- reading bytes


class _ItemGuard:
    """Refuses a stream that runs on for more than `limit` bytes without an item ending;
    the parser calls `read`, the caller resets `pending` whenever an item completes."""

    def __init__(self, stream: Any, limit: int) -> None:
        self._stream = stream
        self.limit = limit
        self.pending = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.pending += len(data)
        if self.pending > self.limit:
            raise XpmResponseError(
                f"XPM sent over {self.limit} bytes without completing a client record"
            )
        return data


def _fromstring(body: bytes) -> Element:
    if not body or not body.strip():
        raise XpmResponseError("XPM returned an empty body where XML was expected")
    try:
        return SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise XpmResponseError(f"refused hostile XML ({type(exc).__name__})") from exc
    except ParseError as exc:
        raise XpmResponseError(f"malformed XML from XPM: {exc}") from exc


# --------------------------------------------------------------------------- element helpers


def _clean(value: str | None) -> str:
    return value.strip() if value else ""


def text(el: Element | None, tag: str) -> str | None:
    """The stripped text of `el/tag`; None when the element is missing or empty."""
    if el is None:
        return None
    child = el.find(tag)
    if child is None:
        return None
    value = _clean(child.text)
    return value or None


def yes_no(el: Element | None, tag: str) -> bool | None:
    """`el/tag` as a bool (`Yes`/`No`/`true`/`false`, any case); None if missing or blank."""
    return parse_bool(text(el, tag))


def _items(el: Element | None, container: str, item: str) -> list[Element]:
    """Items of a collection, always a list (one item is still a list; absent is empty)."""
    if el is None:
        return []
    holder = el.find(container)
    if holder is None:
        return []
    return holder.findall(item)


def _identifier(el: Element) -> str | None:
    # 3.1 uses UUID; 3.0 responses carry an integer ID (and clients a trailing UUID).
    return text(el, "UUID") or text(el, "ID")


def _required_identifier(el: Element, what: str) -> str:
    identifier = _identifier(el)
    if identifier is None:
        raise XpmResponseError(f"XPM sent a {what} without a UUID")
    return identifier


def _multiline(value: str | None) -> str | None:
    # Addresses arrive indented ("\n   188 Quay Street\n   Auckland"): keep the lines only.
    if value is None:
        return None
    lines = [line.strip() for line in value.splitlines()]
    joined = "\n".join(line for line in lines if line)
    return joined or None


def _staff_ref(el: Element | None) -> StaffRef | None:
    if el is None:
        return None
    identifier = _identifier(el)
    return StaffRef(identifier, text(el, "Name")) if identifier else None


def _client_ref(el: Element | None) -> ClientRef | None:
    if el is None:
        return None
    identifier = _identifier(el)
    return ClientRef(identifier, text(el, "Name")) if identifier else None


# --------------------------------------------------------------------------- envelope


def _raise_for_status(root: Element, status_text: str | None, http_status: int | None) -> None:
    if status_text is None:
        raise XpmResponseError("XPM response has no <Status>")
    if status_text.upper() == "OK":
        return
    description = text(root, "ErrorDescription")
    raise _api_error(description, http_status)


def _api_error(description: str | None, http_status: int | None) -> XpmApiError:
    message = description or "XPM reported an error without a description"
    cls = (
        XpmNotFoundError
        if http_status == 404 or (description and _NOT_FOUND_RE.match(description))
        else XpmApiError
    )
    return cls(
        message, description=description, about=about_refusal(description), status=http_status
    )


def _envelope(body: bytes, *, http_status: int | None = 200) -> Element:
    root = _fromstring(body)
    if root.tag != "Response":
        raise XpmResponseError(f"unexpected XML root <{root.tag}> (expected <Response>)")
    _raise_for_status(root, text(root, "Status"), http_status)
    return root


def parse_status(body: bytes) -> None:
    """Check a bare `<Response><Status>OK</Status></Response>` (raises XpmApiError)."""
    _envelope(body)


# --------------------------------------------------------------------------- clients


def _contact(el: Element) -> XpmContact:
    return XpmContact(
        _required_identifier(el, "contact"),
        text(el, "Name"),
        email=text(el, "Email"),
        phone=text(el, "Phone"),
        mobile=text(el, "Mobile"),
        salutation=text(el, "Salutation"),
        addressee=text(el, "Addressee"),
        position=text(el, "Position"),
        is_primary=yes_no(el, "IsPrimary"),
        is_deleted=yes_no(el, "IsDeleted"),
    )


def _relationship(el: Element) -> XpmRelationship:
    return XpmRelationship(
        uuid=_identifier(el),
        type=text(el, "Type"),
        related_client=_client_ref(el.find("RelatedClient")),
        number_of_shares=text(el, "NumberOfShares"),
        percentage=text(el, "Percentage"),
        start_date=parse_date(text(el, "StartDate")),
        end_date=parse_date(text(el, "EndDate")),
    )


def _client_fields(el: Element) -> dict[str, str]:
    fields: dict[str, str] = {}

    def put(key: str, value: str) -> None:
        # The official example repeats <DateOfBirth> (filled, then empty): keep the value.
        if value or key not in fields:
            fields[key] = value

    for child in el:
        tag = child.tag
        if not isinstance(tag, str) or tag in _CLIENT_COLLECTIONS:
            continue
        if len(child) == 0:
            put(tag, _clean(child.text))
            continue
        name = child.find("Name")
        put(tag, _clean(name.text) if name is not None else "")
        for sub in child:
            if isinstance(sub.tag, str) and len(sub) == 0:
                put(f"{tag}.{sub.tag}", _clean(sub.text))
    return fields


def _client(el: Element, *, web_url: str | None = None) -> XpmClientRecord:
    uuid = text(el, "UUID") or text(el, "ID")
    if uuid is None:
        raise XpmResponseError("XPM sent a client without a UUID")
    fields = _client_fields(el)

    def f(tag: str) -> str | None:
        return fields.get(tag) or None

    return XpmClientRecord(
        uuid,
        f("Name"),
        email=f("Email"),
        phone=f("Phone"),
        fax=f("Fax"),
        website=f("Website") or f("WebSite"),
        title=f("Title"),
        gender=f("Gender"),
        first_name=f("FirstName"),
        middle_name=f("MiddleName"),
        last_name=f("LastName"),
        other_name=f("OtherName"),
        date_of_birth=parse_date(f("DateOfBirth")),
        address=_multiline(f("Address")),
        city=f("City"),
        region=f("Region"),
        post_code=f("PostCode"),
        country=f("Country"),
        postal_address=_multiline(f("PostalAddress")),
        postal_city=f("PostalCity"),
        postal_region=f("PostalRegion"),
        postal_post_code=f("PostalPostCode"),
        postal_country=f("PostalCountry"),
        referral_source=f("ReferralSource"),
        export_code=f("ExportCode"),
        industry=f("Industry"),
        client_code=f("ClientCode"),
        is_archived=parse_bool(f("IsArchived")),
        is_deleted=parse_bool(f("IsDeleted")),
        is_prospect=parse_bool(f("IsProspect")),
        account_manager=_staff_ref(el.find("AccountManager")),
        job_manager=_staff_ref(el.find("JobManager")),
        billing_client=_client_ref(el.find("BillingClient")),
        type_name=f("Type"),
        business_structure=f("BusinessStructure"),
        balance_month=parse_month(f("BalanceMonth")),
        gst_period=f("GSTPeriod"),
        gst_basis=f("GSTBasis"),
        gst_registered=parse_bool(f("GSTRegistered")),
        prepare_gst=parse_bool(f("PrepareGST")),
        provisional_tax_basis=f("ProvisionalTaxBasis"),
        tax_number=f("TaxNumber"),
        company_number=f("CompanyNumber"),
        business_number=f("BusinessNumber"),
        branch_number=f("BranchNumber"),
        tax_agent=f("TaxAgent"),
        agency_status=f("AgencyStatus"),
        return_type=f("ReturnType"),
        web_url=f("WebUrl") or web_url,
        contacts=tuple(_contact(c) for c in _items(el, "Contacts", "Contact")),
        groups=tuple(
            GroupRef(_required_identifier(g, "group"), text(g, "Name"))
            for g in _items(el, "Groups", "Group")
        ),
        relationships=tuple(_relationship(r) for r in _items(el, "Relationships", "Relationship")),
        fields=FrozenMap(fields),
    )


def parse_client_response(body: bytes) -> XpmClientRecord:
    """`client.api/get/{uuid}` and `client.api/add`: one detailed `<Client>`."""
    root = _envelope(body)
    el = root.find("Client")
    if el is None:
        raise XpmResponseError("XPM response has no <Client>")
    return _client(el, web_url=text(root, "WebUrl"))


def parse_client_list(body: bytes) -> list[XpmClientRecord]:
    """`client.api/list` or `client.api/search`, read whole."""
    root = _envelope(body)
    return [_client(el) for el in _items(root, "Clients", "Client")]


def parse_client_page(body: bytes) -> Page[XpmClientRecord]:
    """One page of `client.api/paged-list`."""
    root = _envelope(body)
    return Page(
        tuple(_client(el) for el in _items(root, "Clients", "Client")),
        _next_url(root),
    )


def iter_client_list(
    stream: Any, *, max_client_bytes: int = MAX_CLIENT_BYTES
) -> Iterator[XpmClientRecord]:
    """Parse a `client.api/list` body incrementally from a binary stream (`read(size)`).

    Yields each client as soon as its `</Client>` arrives and then drops the element, so
    memory stays flat whatever the body size. `<Status>` comes first in XPM's replies; an
    ERROR raises before anything is yielded, and a client before any `<Status>` is refused
    rather than trusted. More than `max_client_bytes` without a client (or a top-level
    element) ending is refused.
    """
    guard = _ItemGuard(stream, max_client_bytes)
    events = SafeET.iterparse(guard, events=("start", "end"), forbid_dtd=True)
    depth = 0
    root: Element | None = None
    clients_holder: Element | None = None
    status: str | None = None
    error_pending = False
    try:
        for event, el in events:
            if event == "start":
                depth += 1
                if depth == 1:
                    if el.tag != "Response":
                        raise XpmResponseError(
                            f"unexpected XML root <{el.tag}> (expected <Response>)"
                        )
                    root = el
                elif depth == 2 and el.tag == "Clients":
                    clients_holder = el
                continue
            depth -= 1
            if depth <= 2:
                guard.pending = 0
            if depth == 1:
                if el.tag == "Status":
                    status = _clean(el.text)
                    error_pending = status.upper() != "OK"
                elif el.tag == "ErrorDescription" and error_pending:
                    break
                elif el.tag != "Clients" and root is not None:
                    root.remove(el)
            elif depth == 2 and el.tag == "Client" and clients_holder is not None:
                if status is None:
                    raise XpmResponseError("XPM client list has data before <Status>")
                if error_pending:
                    clients_holder.clear()
                    continue
                record = _client(el)
                # Drop the parsed element (and the empty shell the parent keeps).
                clients_holder.clear()
                yield record
    except DefusedXmlException as exc:
        raise XpmResponseError(f"refused hostile XML ({type(exc).__name__})") from exc
    except ParseError as exc:
        raise XpmResponseError(f"malformed XML from XPM: {exc}") from exc
    if root is None:
        raise XpmResponseError("XPM returned an empty body where XML was expected")
    _raise_for_status(root, status, 200)


# --------------------------------------------------------------------------- contacts


def parse_contact_response(body: bytes) -> XpmContact:
    """`client.api/contact/{uuid}` and `POST client.api/contact`: one `<Contact>`."""
    root = _envelope(body)
    el = root.find("Contact")
    if el is None:
        raise XpmResponseError("XPM response has no <Contact>")
    return _contact(el)


def parse_contact_page(body: bytes) -> Page[XpmContact]:
    """One page of `client.api/contacts`."""
    root = _envelope(body)
    return Page(
        tuple(_contact(el) for el in _items(root, "Contacts", "Contact")),
        _next_url(root),
    )


def _next_url(root: Element) -> str | None:
    pagination = root.find("Pagination")
    if pagination is None:
        return None
    return text(pagination.find("Links"), "Next")


# --------------------------------------------------------------------------- custom fields


def _split_options(el: Element | None) -> tuple[str, ...]:
    if el is None:
        return ()
    if len(el):
        values = [_clean(child.text) for child in el]
    else:
        raw = el.text or ""
        # One option per line is XPM's own format; fall back to commas for single-line lists.
        values = raw.splitlines() if ("\n" in raw or "\r" in raw) else raw.split(",")
    return tuple(v.strip() for v in values if v and v.strip())


def _definition(el: Element) -> CustomFieldDefinition:
    field_type = text(el, "Type")
    value_element = text(el, "ValueElement")
    if value_element is None and field_type is not None:
        value_element = _TYPE_TO_VALUE_ELEMENT.get(field_type.strip().lower())
    return CustomFieldDefinition(
        _required_identifier(el, "custom field definition"),
        text(el, "Name"),
        type=field_type,
        value_element=value_element,
        options=_split_options(el.find("Options")),
        link_url=text(el, "LinkUrl") or text(el, "LinkURL"),
        use_client=yes_no(el, "UseClient"),
        use_contact=yes_no(el, "UseContact"),
        use_job=yes_no(el, "UseJob"),
        use_job_task=yes_no(el, "UseJobTask"),
        use_job_cost=yes_no(el, "UseJobCost"),
        use_job_time=yes_no(el, "UseJobTime"),
        use_lead=yes_no(el, "UseLead"),
        use_supplier=yes_no(el, "UseSupplier"),
    )


def parse_custom_field_definitions(body: bytes) -> list[CustomFieldDefinition]:
    """`customfield.api/definition`."""
    root = _envelope(body)
    return [
        _definition(el) for el in _items(root, "CustomFieldDefinitions", "CustomFieldDefinition")
    ]


def _typed_value(element: str, raw: str | None) -> CustomValue:
    if element == "Text":
        return raw
    if element == "Decimal":
        return parse_decimal(raw)
    if element == "Number":
        return parse_int(raw)
    if element == "Boolean":
        return parse_bool(raw)
    if element == "Date":
        return parse_date(raw)
    return None


def _custom_value(el: Element) -> CustomFieldValue:
    element: str | None = None
    raw: str | None = None
    for candidate in _VALUE_ELEMENTS:
        child = el.find(candidate)
        if child is not None:
            element = candidate
            raw = _clean(child.text) or None
            break
    return CustomFieldValue(
        _required_identifier(el, "custom field"),
        text(el, "Name"),
        value_element=element,
        value=_typed_value(element, raw) if element else None,
        raw=raw,
    )


def parse_custom_field_values(body: bytes) -> list[CustomFieldValue]:
    """`client.api/get/{uuid}/customfield` (only fields with a value are sent)."""
    root = _envelope(body)
    return [_custom_value(el) for el in _items(root, "CustomFields", "CustomField")]


# --------------------------------------------------------------------------- staff, groups


def _staff(el: Element, *, web_url: str | None = None) -> XpmStaff:
    return XpmStaff(
        _required_identifier(el, "staff member"),
        text(el, "Name"),
        email=text(el, "Email"),
        phone=text(el, "Phone"),
        mobile=text(el, "Mobile"),
        address=_multiline(text(el, "Address")),
        payroll_code=text(el, "PayrollCode"),
        web_url=text(el, "WebUrl") or web_url,
    )


def parse_staff_list(body: bytes) -> list[XpmStaff]:
    """`staff.api/list` (container `StaffList`, items `Staff`)."""
    root = _envelope(body)
    return [_staff(el) for el in _items(root, "StaffList", "Staff")]


def parse_staff_response(body: bytes) -> XpmStaff:
    """`staff.api/get/{uuid}`."""
    root = _envelope(body)
    el = root.find("Staff")
    if el is None:
        raise XpmResponseError("XPM response has no <Staff>")
    return _staff(el, web_url=text(root, "WebUrl"))


def _group(el: Element, *, web_url: str | None = None) -> XpmClientGroup:
    return XpmClientGroup(
        _required_identifier(el, "client group"),
        text(el, "Name"),
        taxable=yes_no(el, "Taxable"),
        clients=tuple(
            ref for ref in (_client_ref(c) for c in _items(el, "Clients", "Client")) if ref
        ),
        web_url=text(el, "WebUrl") or web_url,
    )


def parse_client_group_list(body: bytes) -> list[XpmClientGroup]:
    """`clientgroup.api/list`."""
    root = _envelope(body)
    return [_group(el) for el in _items(root, "Groups", "Group")]


def parse_client_group_response(body: bytes) -> XpmClientGroup:
    """`clientgroup.api/get/{uuid}` (with its member clients)."""
    root = _envelope(body)
    el = root.find("Group")
    if el is None:
        raise XpmResponseError("XPM response has no <Group>")
    return _group(el, web_url=text(root, "WebUrl"))


# --------------------------------------------------------------------------- leads


def _lead(el: Element) -> XpmLead:
    category_el = el.find("Category")
    if category_el is not None and len(category_el):
        category = text(category_el, "Name")
    else:
        category = text(el, "Category")
    return XpmLead(
        _required_identifier(el, "lead"),
        text(el, "Name"),
        description=text(el, "Description"),
        state=text(el, "State"),
        date=parse_datetime(text(el, "Date")),
        date_won_lost=parse_datetime(text(el, "DateWonLost")),
        estimated_value=parse_decimal(text(el, "EstimatedValue")),
        category=category,
        client=_client_ref(el.find("Client")),
        contact=_client_ref(el.find("Contact")),
        owner=_staff_ref(el.find("Owner")),
    )


def parse_lead_response(body: bytes) -> XpmLead:
    """`lead.api/get/{uuid}` and `lead.api/add`.

    If `add` answers with only the new identifier, a lead with just its UUID is returned.
    """
    root = _envelope(body)
    el = root.find("Lead")
    if el is not None:
        return _lead(el)
    identifier = _identifier(root)
    if identifier is None:
        raise XpmResponseError("XPM response has no <Lead>")
    return XpmLead(identifier)


def parse_lead_list(body: bytes) -> list[XpmLead]:
    """`lead.api/current` and `lead.api/list`."""
    root = _envelope(body)
    return [_lead(el) for el in _items(root, "Leads", "Lead")]


def parse_lead_categories(body: bytes) -> list[LeadCategory]:
    """`lead.api/categories`."""
    root = _envelope(body)
    return [
        LeadCategory(_required_identifier(el, "lead category"), text(el, "Name"))
        for el in _items(root, "Categories", "Category")
    ]


# --------------------------------------------------------------------------- JSON


def parse_json(body: bytes) -> Any:
    """Decode a JSON body (identity endpoints, gateway errors) as bytes (UTF-8/16/32)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise XpmResponseError("malformed JSON from Xero") from exc


def parse_connections(body: bytes) -> list[Tenant]:
    """`GET /connections`: the tenants this grant can reach."""
    data = parse_json(body)
    if not isinstance(data, list):
        raise XpmResponseError("GET /connections did not return a list")
    return [Tenant.from_json(item) for item in data if isinstance(item, dict)]
