"""Records -> XPM XML elements, in the element order and empty/null style of real responses."""

from __future__ import annotations

from .models import (
    Category,
    Client,
    ClientGroup,
    Contact,
    ContactLink,
    CustomFieldDefinition,
    Lead,
    Staff,
)
from .state import PracticeState
from .values import (
    format_date,
    format_datetime,
    format_day,
    format_decimal,
    mask_tax_number,
    true_false,
)
from .xmlout import collection, el, ref


def _flag(tag: str, value: bool) -> str:
    return f"<{tag}>{'Yes' if value else 'No'}</{tag}>"


def contact_xml(contact: Contact, link: ContactLink | None = None) -> str:
    """A ``<Contact>``; Position and IsPrimary only when seen through a client link."""
    parts = [
        "<Contact>",
        el("UUID", contact.uuid),
        el("Name", contact.name),
        el("Salutation", contact.salutation),
        el("Addressee", contact.addressee),
        el("Mobile", contact.mobile),
        el("Email", contact.email),
        el("Phone", contact.phone),
        _flag("IsDeleted", contact.is_deleted),
    ]
    if link is not None:
        parts.append(_flag("IsPrimary", link.is_primary))
        parts.append(el("Position", link.position))
    parts.append("</Contact>")
    return "".join(parts)


class ClientRenderer:
    """Renders clients against one practice; built once per request so big lists reuse
    the lookups instead of re-resolving them per client."""

    def __init__(self, state: PracticeState) -> None:
        self.state = state
        self._staff = state.staff
        self._clients = state.clients
        self._contacts = state.contacts
        self._groups = state.groups
        self._group_index = state.client_groups_index()

    def _staff_ref(self, tag: str, staff_uuid: str | None) -> str:
        staff = self._staff.get(staff_uuid) if staff_uuid else None
        return ref(tag, staff.uuid, staff.name) if staff else ""

    def _client_ref(self, tag: str, client_uuid: str | None) -> str:
        other = self._clients.get(client_uuid) if client_uuid else None
        return ref(tag, other.uuid, other.name) if other else ""

    def base_fields(self, c: Client) -> str:
        """Every scalar field of a client (the paged-list ``ClientBaseDto``)."""
        client_type = c.client_type
        type_xml = (
            (
                "<Type>"
                f"{el('Name', client_type.name)}"
                f"{el('CostMarkup', client_type.cost_markup)}"
                f"{el('PaymentTerm', client_type.payment_term)}"
                f"<PaymentDay>{client_type.payment_day}</PaymentDay>"
                "</Type>"
            )
            if client_type
            else ""
        )
        return "".join(
            (
                el("UUID", c.uuid),
                el("Name", c.name),
                el("Title", c.title),
                el("Gender", c.gender),
                el("FirstName", c.first_name),
                el("MiddleName", c.middle_name),
                el("LastName", c.last_name),
                el("OtherName", c.other_name),
                el("Email", c.email),
                el("DateOfBirth", format_date(c.date_of_birth) if c.date_of_birth else None),
                el("Address", c.address),
                el("City", c.city),
                el("Region", c.region),
                el("PostCode", c.post_code),
                el("Country", c.country),
                el("PostalAddress", c.postal_address),
                el("PostalCity", c.postal_city),
                el("PostalRegion", c.postal_region),
                el("PostalPostCode", c.postal_post_code),
                el("PostalCountry", c.postal_country),
                el("Phone", c.phone),
                el("Fax", c.fax),
                el("Website", c.website),
                el("ReferralSource", c.referral_source),
                el("ExportCode", c.export_code),
                _flag("IsProspect", c.is_prospect),
                _flag("IsArchived", c.is_archived),
                _flag("IsDeleted", c.is_deleted),
                self._staff_ref("AccountManager", c.account_manager_uuid),
                self._staff_ref("JobManager", c.job_manager_uuid),
                type_xml,
                self._client_ref("BillingClient", c.billing_client_uuid),
                el("TaxNumber", mask_tax_number(c.tax_number)),
                el("CompanyNumber", c.company_number),
                el("BusinessNumber", c.business_number),
                el("BranchNumber", c.branch_number),
                el("BusinessStructure", c.business_structure),
                el("BalanceMonth", str(c.balance_month) if c.balance_month else None),
                _flag("PrepareGST", c.prepare_gst),
                _flag("GSTRegistered", c.gst_registered),
                el("GSTPeriod", c.gst_period),
                el("GSTBasis", c.gst_basis),
                el("ProvisionalTaxBasis", c.provisional_tax_basis),
                el("ProvisionalTaxRatio", c.provisional_tax_ratio),
                _flag("SignedTaxAuthority", c.signed_tax_authority),
                el("TaxAgent", c.tax_agent),
                el("AgencyStatus", c.agency_status),
                el("ReturnType", c.return_type),
                _flag("PrepareActivityStatement", c.prepare_activity_statement),
                _flag("PrepareTaxReturn", c.prepare_tax_return),
                _flag("ActiveAtoClient", c.active_ato_client),
                el("ClientCode", c.client_code),
            )
        )

    def contacts_xml(self, c: Client) -> str:
        """The client's ``<Contacts>`` with per-link Position and IsPrimary."""
        contacts = self._contacts
        inner = "".join(
            contact_xml(contacts[link.contact_uuid], link)
            for link in c.contacts
            if link.contact_uuid in contacts
        )
        return collection("Contacts", inner)

    def notes_xml(self, c: Client) -> str:
        """``<Notes>`` (detailed only); Folder is null since the 2025 tags change."""
        inner = "".join(
            "<Note>"
            f"{el('Title', note.title)}{el('Text', note.text)}"
            f"{el('Folder', note.folder or None)}"
            f"{el('Date', format_datetime(note.date))}{el('CreatedBy', note.created_by)}"
            "</Note>"
            for note in c.notes
        )
        return collection("Notes", inner)

    def groups_xml(self, c: Client) -> str:
        """``<Groups>`` (detailed only)."""
        groups = self._groups
        inner = "".join(
            ref("Group", uuid, groups[uuid].name)
            for uuid in self._group_index.get(c.uuid, ())
            if uuid in groups
        )
        return collection("Groups", inner)

    def relationships_xml(self, c: Client) -> str:
        """``<Relationships>`` (detailed only)."""
        parts = []
        for rel in c.relationships:
            related = self._clients.get(rel.related_client_uuid)
            if related is None:
                continue
            parts.append(
                "<Relationship>"
                f"{el('UUID', rel.uuid)}{el('Type', rel.type)}"
                f"{ref('RelatedClient', related.uuid, related.name)}"
                + (
                    f"<NumberOfShares>{rel.number_of_shares}</NumberOfShares>"
                    if rel.number_of_shares is not None
                    else ""
                )
                + (
                    f"<Percentage>{rel.percentage}</Percentage>"
                    if rel.percentage is not None
                    else ""
                )
                + el("StartDate", format_day(rel.start_date) if rel.start_date else None)
                + el("EndDate", format_day(rel.end_date) if rel.end_date else None)
                + "</Relationship>"
            )
        return collection("Relationships", "".join(parts))

    def render(self, c: Client, *, detailed: bool = False, base_only: bool = False) -> str:
        """One ``<Client>``: base fields, then Contacts (unless ``base_only``), then Notes,
        Groups and Relationships when ``detailed``."""
        if base_only:
            return f"<Client>{self.base_fields(c)}</Client>"
        tail = ""
        if detailed:
            tail = self.notes_xml(c) + self.groups_xml(c) + self.relationships_xml(c)
        return f"<Client>{self.base_fields(c)}{self.contacts_xml(c)}{tail}</Client>"

    def web_url(self, c: Client) -> str:
        """The practice UI link for a client, like the real ``WebUrl``."""
        return f"https://practicemanager.xero.com/Client/{c.web_id}/Detail"


def staff_xml(staff: Staff) -> str:
    """A ``<Staff>`` element."""
    return (
        "<Staff>"
        f"{el('UUID', staff.uuid)}{el('Name', staff.name)}{el('Email', staff.email)}"
        f"{el('Phone', staff.phone)}{el('Mobile', staff.mobile)}"
        f"{el('Address', staff.address)}{el('PayrollCode', staff.payroll_code)}"
        "</Staff>"
    )


def definition_xml(definition: CustomFieldDefinition) -> str:
    """A ``<CustomFieldDefinition>``; Options is one newline-separated string, as the
    practice UI stores dropdown options one per line."""
    d = definition
    flags = (
        ("UseClient", d.use_client),
        ("UseContact", d.use_contact),
        ("UseJob", d.use_job),
        ("UseJobTask", d.use_job_task),
        ("UseJobCost", d.use_job_cost),
        ("UseJobTime", d.use_job_time),
        ("UseLead", d.use_lead),
        ("UseSupplier", d.use_supplier),
    )
    return (
        "<CustomFieldDefinition>"
        f"{el('UUID', d.uuid)}{el('Name', d.name)}{el('Type', d.type)}"
        f"{el('LinkUrl', d.link_url)}{el('Options', chr(10).join(d.options))}"
        + "".join(f"<{tag}>{true_false(value)}</{tag}>" for tag, value in flags)
        + f"{el('ValueElement', d.value_element)}</CustomFieldDefinition>"
    )


def custom_value_text(definition: CustomFieldDefinition, value: object) -> str | None:
    """The wire text of a stored value, or None when it counts as unset (an unticked
    checkbox is the same as no value)."""
    element = definition.value_element
    if value is None or value == "":
        return None
    if element == "Boolean":
        return "true" if value else None
    if element == "Decimal":
        return format_decimal(str(value))
    if element == "Number":
        return str(int(value))  # type: ignore[call-overload]
    if element == "Date":
        return f"{value}T00:00:00"
    return str(value)


def custom_fields_xml(
    definitions: dict[str, CustomFieldDefinition], values: dict[str, object]
) -> str:
    """``<CustomFields>`` with only the fields that hold a value, in definition order."""
    parts = []
    for definition in definitions.values():
        if definition.uuid not in values:
            continue
        text = custom_value_text(definition, values[definition.uuid])
        if text is None:
            continue
        parts.append(
            "<CustomField>"
            f"{el('UUID', definition.uuid)}{el('Name', definition.name)}"
            f"{el(definition.value_element, text)}"
            "</CustomField>"
        )
    return collection("CustomFields", "".join(parts))


def group_xml(group: ClientGroup, state: PracticeState | None = None) -> str:
    """A ``<Group>``; with ``state`` also its member ``<Clients>`` (``get``)."""
    members = ""
    if state is not None:
        inner = "".join(
            ref("Client", state.clients[uuid].uuid, state.clients[uuid].name)
            for uuid in group.client_uuids
            if uuid in state.clients and not state.clients[uuid].is_deleted
        )
        members = collection("Clients", inner)
    return (
        f"<Group>{el('UUID', group.uuid)}{el('Name', group.name)}"
        f"{_flag('Taxable', group.taxable)}{members}</Group>"
    )


def category_xml(category: Category) -> str:
    """A ``<Category>`` (lead or job category)."""
    return f"<Category>{el('UUID', category.uuid)}{el('Name', category.name)}</Category>"


def lead_xml(lead: Lead, state: PracticeState, *, detailed: bool = False) -> str:
    """A ``<Lead>``; Category is the category's name, not a reference (docs/xpm-api.md 8.3)."""
    client = state.clients.get(lead.client_uuid)
    contact = state.contacts.get(lead.contact_uuid) if lead.contact_uuid else None
    owner = state.staff.get(lead.owner_uuid)
    category = state.lead_categories.get(lead.category_uuid) if lead.category_uuid else None
    parts = [
        "<Lead>",
        el("UUID", lead.uuid),
        el("Name", lead.name),
        el("Description", lead.description),
        el("State", lead.state),
        el("EstimatedValue", lead.estimated_value),
        el("Date", format_date(lead.created_at.date())),
        el("DateWonLost", format_datetime(lead.date_won_lost) if lead.date_won_lost else ""),
        el("Category", category.name if category else None),
        ref("Client", client.uuid, client.name) if client else "",
        ref("Contact", contact.uuid, contact.name) if contact else "",
        ref("Owner", owner.uuid, owner.name) if owner else "",
    ]
    if detailed:
        activities = "".join(
            "<Activity>"
            f"{el('Date', format_datetime(a.date))}{el('Subject', a.subject)}"
            f"<Completed>{true_false(a.completed)}</Completed>"
            + (
                ref("Responsible", a.responsible_uuid, state.staff[a.responsible_uuid].name)
                if a.responsible_uuid in state.staff
                else ""
            )
            + "</Activity>"
            for a in lead.activities
        )
        history = "".join(
            "<Item>"
            f"{el('Detail', h.detail)}{el('Date', format_datetime(h.date))}"
            f"{el('Staff', h.staff)}{el('Type', h.type)}"
            "</Item>"
            for h in lead.history
        )
        parts.append(collection("Activities", activities))
        parts.append(collection("History", history))
    parts.append("</Lead>")
    return "".join(parts)


__all__ = [
    "ClientRenderer",
    "category_xml",
    "contact_xml",
    "custom_fields_xml",
    "custom_value_text",
    "definition_xml",
    "group_xml",
    "lead_xml",
    "staff_xml",
]
