"""Applying a ``<Client>`` request body (add/update) to a client record (docs/xpm-api.md 4.6-4.7).

Present elements overwrite, absent ones are left alone, and an empty element clears the
field (``<Email />``). Every value is validated before anything is changed, so a bad
request leaves the client as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element

from ..models import Client
from ..state import PracticeState
from ..values import (
    AGENCY_STATUSES,
    GST_BASES,
    PROVISIONAL_TAX_BASES,
    RETURN_TYPES,
    parse_choice,
    parse_date,
    parse_flag,
    parse_gst_period,
    parse_month,
)
from ..xmlin import text_of
from .context import ApiError

# Request element -> attribute, for text fields that are always present (empty = "").
TEXT_FIELDS = {
    "Email": "email",
    "Address": "address",
    "City": "city",
    "Region": "region",
    "PostCode": "post_code",
    "Country": "country",
    "PostalAddress": "postal_address",
    "PostalCity": "postal_city",
    "PostalRegion": "postal_region",
    "PostalPostCode": "postal_post_code",
    "PostalCountry": "postal_country",
    "Phone": "phone",
    "Fax": "fax",
    # Requests spell it WebSite, responses Website (docs/xpm-api.md 4.5): accept both.
    "WebSite": "website",
    "Website": "website",
    "ReferralSource": "referral_source",
    "ExportCode": "export_code",
    "TaxNumber": "tax_number",
    "CompanyNumber": "company_number",
    "BusinessNumber": "business_number",
    "BranchNumber": "branch_number",
}

# Text fields that are omitted from responses when cleared.
NULLABLE_TEXT_FIELDS = {
    "Title": "title",
    "Gender": "gender",
    "FirstName": "first_name",
    "MiddleName": "middle_name",
    "LastName": "last_name",
    "OtherName": "other_name",
    "BusinessStructure": "business_structure",
    "TaxAgent": "tax_agent",
    "ProvisionalTaxRatio": "provisional_tax_ratio",
    "ClientCode": "client_code",
}

FLAG_FIELDS = {
    "IsProspect": "is_prospect",
    "PrepareGST": "prepare_gst",
    "GSTRegistered": "gst_registered",
    "SignedTaxAuthority": "signed_tax_authority",
    "PrepareActivityStatement": "prepare_activity_statement",
    "PrepareTaxReturn": "prepare_tax_return",
    "ActiveAtoClient": "active_ato_client",
}

_CHOICE_FIELDS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "BalanceMonth": ("balance_month", parse_month),
    "GSTPeriod": ("gst_period", parse_gst_period),
    "GSTBasis": ("gst_basis", lambda text: parse_choice(text, GST_BASES)),
    "ProvisionalTaxBasis": (
        "provisional_tax_basis",
        lambda text: parse_choice(text, PROVISIONAL_TAX_BASES),
    ),
    "ReturnType": ("return_type", lambda text: parse_choice(text, RETURN_TYPES)),
    "DateOfBirth": ("date_of_birth", parse_date),
}


def read_client_changes(
    element: Element, state: PracticeState, *, client_uuid: str | None = None
) -> dict[str, Any]:
    """Validate a ``<Client>`` body; return attribute -> new value for what it sets."""
    changes: dict[str, Any] = {}
    name = text_of(element, "Name")
    if name is not None:
        if not name:
            raise ApiError("Name is required")
        changes["name"] = name
    for tag, attr in TEXT_FIELDS.items():
        value = text_of(element, tag)
        if value is not None:
            changes[attr] = value
    for tag, attr in NULLABLE_TEXT_FIELDS.items():
        value = text_of(element, tag)
        if value is not None:
            changes[attr] = value or None
    for tag, attr in FLAG_FIELDS.items():
        value = text_of(element, tag)
        if value:
            changes[attr] = _parse(tag, value, parse_flag)
    for tag, (attr, parser) in _CHOICE_FIELDS.items():
        value = text_of(element, tag)
        if value is not None:
            changes[attr] = _parse(tag, value, parser) if value else None
    agency = text_of(element, "AgencyStatus")
    if agency:
        changes["agency_status"] = _parse(
            "AgencyStatus", agency, lambda text: parse_choice(text, AGENCY_STATUSES)
        )
    for tag, attr in (
        ("AccountManagerUUID", "account_manager_uuid"),
        ("JobManagerUUID", "job_manager_uuid"),
    ):
        value = text_of(element, tag)
        if value is None:
            continue
        if not value:
            changes[attr] = None
            continue
        staff = state.staff_member(value)
        if staff is None:
            raise ApiError("Invalid staff identifier")
        changes[attr] = staff.uuid
    billing = text_of(element, "BillingClientUUID")
    if billing is not None:
        if not billing:
            changes["billing_client_uuid"] = None
        else:
            other = state.live_client(billing)
            if other is None or other.uuid == client_uuid:
                raise ApiError("Invalid billing client identifier")
            changes["billing_client_uuid"] = other.uuid
    return changes


def apply_changes(client: Client, changes: dict[str, Any]) -> bool:
    """Set the attributes; True when anything actually changed."""
    changed = False
    for attr, value in changes.items():
        if getattr(client, attr) != value:
            setattr(client, attr, value)
            changed = True
    return changed


def _parse(tag: str, text: str, parser: Callable[[str], Any]) -> Any:
    try:
        return parser(text)
    except (ValueError, TypeError):
        raise ApiError(f"Invalid {tag} value: {text}") from None
