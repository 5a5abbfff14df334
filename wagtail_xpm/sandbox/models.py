"""Plain dataclasses for the practice's data, as XPM stores it (docs/xpm-api.md 4-9).

Values are kept in their natural Python form (bools, dates, ints); how they look on the
wire (``Yes``/``No``, month numbers, masked tax numbers) is the renderers' business.
``None`` means "not set": such elements are omitted from responses, while ``""`` renders
as an empty element, which is the distinction real XPM responses make.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(slots=True)
class Staff:
    """A staff member (``staff.api``); leads are owned by staff."""

    uuid: str
    name: str
    email: str = ""
    phone: str = ""
    mobile: str = ""
    address: str = ""
    payroll_code: str = ""
    # The UI still addresses staff by integer id (docs/xpm-api.md 7.2 WebUrl).
    web_id: int = 0


@dataclass(slots=True)
class Contact:
    """A person that can be linked to several clients; link details live on the client."""

    uuid: str
    name: str
    salutation: str = ""
    addressee: str = ""
    mobile: str = ""
    email: str = ""
    phone: str = ""
    is_deleted: bool = False
    seq: int = 0
    custom_values: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ContactLink:
    """One contact's link to one client, carrying the per-link Position and IsPrimary."""

    contact_uuid: str
    position: str = ""
    is_primary: bool = False


@dataclass(slots=True)
class ClientType:
    """A client's billing terms (``<Type>``)."""

    name: str
    cost_markup: str = "0.00"
    payment_term: str = "WithinDays"  # DayOfMonth | WithinDays
    payment_day: int = 20


@dataclass(slots=True)
class Note:
    """A client note (only in detailed client responses)."""

    title: str
    text: str
    date: datetime
    created_by: str
    folder: str = ""


@dataclass(slots=True)
class Relationship:
    """A relationship from one client to another (Director, Trustee, Shareholder...)."""

    uuid: str
    type: str
    related_client_uuid: str
    number_of_shares: int | None = None
    percentage: int | None = None
    start_date: date | None = None
    end_date: date | None = None


@dataclass(slots=True)
class Client:
    """An XPM client with every field the emulator renders (docs/xpm-api.md 4.5)."""

    uuid: str
    name: str
    seq: int = 0
    title: str | None = None
    gender: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    other_name: str | None = None
    email: str | None = ""
    date_of_birth: date | None = None
    address: str = ""
    city: str = ""
    region: str = ""
    post_code: str = ""
    country: str = ""
    postal_address: str = ""
    postal_city: str = ""
    postal_region: str = ""
    postal_post_code: str = ""
    postal_country: str = ""
    phone: str = ""
    fax: str = ""
    website: str = ""
    referral_source: str = ""
    export_code: str = ""
    is_prospect: bool = False
    is_archived: bool = False
    is_deleted: bool = False
    account_manager_uuid: str | None = None
    job_manager_uuid: str | None = None
    client_type: ClientType | None = None
    billing_client_uuid: str | None = None
    # Stored in full; responses mask all but the last three characters.
    tax_number: str = ""
    company_number: str = ""
    business_number: str = ""
    branch_number: str = ""
    business_structure: str | None = None
    balance_month: int | None = None
    prepare_gst: bool = False
    gst_registered: bool = False
    gst_period: str | None = None
    gst_basis: str | None = None
    provisional_tax_basis: str | None = None
    provisional_tax_ratio: str | None = None
    signed_tax_authority: bool = False
    tax_agent: str | None = None
    agency_status: str = "Unlinked"
    return_type: str | None = None
    prepare_activity_statement: bool = False
    prepare_tax_return: bool = False
    active_ato_client: bool = False
    client_code: str | None = None
    contacts: list[ContactLink] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)
    custom_values: dict[str, Any] = field(default_factory=dict)
    web_id: int = 0
    created_at: datetime | None = None
    modified_at: datetime | None = None
    # Not an XPM field: lets the /_sandbox/ pages show what the website created.
    created_via_api: bool = False


@dataclass(slots=True)
class CustomFieldDefinition:
    """A custom field definition; ``value_element`` names the XML element of its values."""

    uuid: str
    name: str
    type: str
    value_element: str  # Text | Decimal | Number | Boolean | Date
    link_url: str = ""
    options: list[str] = field(default_factory=list)
    use_client: bool = True
    use_contact: bool = False
    use_job: bool = False
    use_job_task: bool = False
    use_job_cost: bool = False
    use_job_time: bool = False
    use_lead: bool = False
    use_supplier: bool = False


@dataclass(slots=True)
class ClientGroup:
    """A client group (``clientgroup.api``)."""

    uuid: str
    name: str
    taxable: bool = False
    client_uuids: list[str] = field(default_factory=list)
    web_id: int = 0


@dataclass(slots=True)
class Category:
    """A lead category or a job category: both are just a UUID and a name."""

    uuid: str
    name: str


@dataclass(slots=True)
class LeadActivity:
    """A scheduled activity on a lead (detailed lead responses only)."""

    date: datetime
    subject: str
    responsible_uuid: str
    completed: bool = False


@dataclass(slots=True)
class LeadHistoryItem:
    """One line of a lead's history (detailed lead responses only)."""

    detail: str
    date: datetime
    staff: str
    type: str = "Lead"


@dataclass(slots=True)
class Lead:
    """A sales lead, always attached to an existing client and owned by a staff member."""

    uuid: str
    name: str
    client_uuid: str
    owner_uuid: str
    created_at: datetime
    description: str = ""
    state: str = "Current"  # Current | Won | Lost
    estimated_value: str = "0"
    contact_uuid: str | None = None
    category_uuid: str | None = None
    template_uuid: str | None = None
    date_won_lost: datetime | None = None
    activities: list[LeadActivity] = field(default_factory=list)
    history: list[LeadHistoryItem] = field(default_factory=list)
    created_via_api: bool = False
