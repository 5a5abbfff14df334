"""Field rules: how one XPM client field becomes a JSON-safe contact value.

Values are stored in ``Contact.data`` / ``PracticeClient.data`` by mapping key: text as
``str``, Yes/No as ``bool``, numbers as ``int``/``float``, dates as ISO ``YYYY-MM-DD``,
Balance Month as the English month name, staff references as the staff member's name and
groups as a list of names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..xpm.types import CustomFieldDefinition, CustomFieldValue, XpmClientRecord

CUSTOM_PREFIX = "custom:"
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

JsonValue = str | bool | int | float | list[str] | None


@dataclass(frozen=True)
class StandardField:
    """An XPM client element the mapping editor offers, with its type and reader."""

    source: str
    label: str
    value_type: str
    read: Callable[[XpmClientRecord], JsonValue]
    default: bool = False
    choices: tuple[str, ...] = ()


def _yes_no(value: bool | None) -> bool | None:
    return value


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _month(record: XpmClientRecord) -> str | None:
    if record.balance_month and 1 <= record.balance_month <= 12:
        return MONTHS[record.balance_month - 1]
    return None


STANDARD_FIELDS: tuple[StandardField, ...] = (
    StandardField(
        "AccountManager",
        "Account Manager",
        "choice",
        lambda r: _text(r.account_manager.name) if r.account_manager else None,
        default=True,
    ),
    StandardField(
        "JobManager",
        "Job Manager",
        "choice",
        lambda r: _text(r.job_manager.name) if r.job_manager else None,
        default=True,
    ),
    StandardField(
        "BusinessStructure",
        "Business Structure",
        "choice",
        lambda r: _text(r.business_structure),
        default=True,
    ),
    StandardField("BalanceMonth", "Balance Month", "month", _month, default=True, choices=MONTHS),
    StandardField("GSTPeriod", "GST Period", "choice", lambda r: _text(r.gst_period), default=True),
    StandardField(
        "GSTRegistered",
        "GST Registered",
        "boolean",
        lambda r: _yes_no(r.gst_registered),
        default=True,
    ),
    StandardField("GSTBasis", "GST Basis", "choice", lambda r: _text(r.gst_basis)),
    StandardField("PrepareGST", "Prepare GST", "boolean", lambda r: _yes_no(r.prepare_gst)),
    StandardField("Type", "Client Type", "choice", lambda r: _text(r.type_name)),
    StandardField(
        "Groups",
        "Client Groups",
        "list",
        lambda r: sorted(g.name for g in r.groups if g.name) or None,
    ),
    StandardField("ReferralSource", "Referral Source", "text", lambda r: _text(r.referral_source)),
    StandardField(
        "ProvisionalTaxBasis",
        "Provisional Tax Basis",
        "choice",
        lambda r: _text(r.provisional_tax_basis),
    ),
    StandardField("AgencyStatus", "Agency Status", "choice", lambda r: _text(r.agency_status)),
    StandardField("ReturnType", "Return Type", "choice", lambda r: _text(r.return_type)),
    StandardField("TaxNumber", "Tax Number (masked)", "text", lambda r: _text(r.tax_number)),
    StandardField("CompanyNumber", "Company Number", "text", lambda r: _text(r.company_number)),
    StandardField("BusinessNumber", "Business Number", "text", lambda r: _text(r.business_number)),
    StandardField("City", "City", "text", lambda r: _text(r.city or r.postal_city)),
    StandardField("Region", "Region", "choice", lambda r: _text(r.region or r.postal_region)),
    StandardField("Country", "Country", "choice", lambda r: _text(r.country or r.postal_country)),
    StandardField("ClientCode", "Client Code", "text", lambda r: _text(r.client_code)),
)
STANDARD_BY_SOURCE = {f.source.lower(): f for f in STANDARD_FIELDS}


def default_key(label: str) -> str:
    key = "".join(ch if ch.isalnum() else "_" for ch in label.lower()).strip("_")
    while "__" in key:
        key = key.replace("__", "_")
    if not key or not key[0].isalpha():
        key = f"f_{key}"
    return key[:64]


VALUE_TYPE_BY_ELEMENT = {
    "text": "text",
    "decimal": "number",
    "number": "number",
    "boolean": "boolean",
    "date": "date",
}


def custom_value_type(definition: CustomFieldDefinition | Mapping[str, Any]) -> str:
    if isinstance(definition, Mapping):
        element, options = definition.get("value_element"), definition.get("options")
    else:
        element, options = definition.value_element, definition.options
    value_type = VALUE_TYPE_BY_ELEMENT.get((element or "text").lower(), "text")
    if value_type == "text" and options:
        return "choice"
    return value_type


def json_value(value: Any) -> JsonValue:
    """A custom field value (typed by the client) as stored in JSON."""
    if value is None or isinstance(value, bool | int | str):
        return value if value != "" else None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class Mapper:
    """Turns client records and stored custom values into mapped data (by mapping key).

    Custom values are stored per client as ``{uuid: [name, value]}``; a ``custom:`` source
    matches by UUID or, case-insensitively, by the custom field's name.
    """

    def __init__(self, mappings: Iterable[tuple[str, str]]) -> None:
        """``mappings``: (source, key) pairs, e.g. ("AccountManager", "account_manager")."""
        self.standard: list[tuple[str, Callable[[XpmClientRecord], JsonValue]]] = []
        self.custom: list[tuple[str, str]] = []
        for source, key in mappings:
            if source.startswith(CUSTOM_PREFIX):
                self.custom.append((key, source[len(CUSTOM_PREFIX) :].strip()))
            else:
                standard = STANDARD_BY_SOURCE.get(source.lower())
                self.standard.append(
                    (key, standard.read if standard else _raw_element_reader(source))
                )

    @property
    def uses_custom_fields(self) -> bool:
        return bool(self.custom)

    def standard_data(self, record: XpmClientRecord) -> dict[str, JsonValue]:
        data = {}
        for key, read in self.standard:
            value = read(record)
            if value is not None:
                data[key] = value
        return data

    def custom_data(self, stored: Mapping[str, Any]) -> dict[str, JsonValue]:
        if not self.custom or not stored:
            return {}
        by_name = {str(name).strip().lower(): value for name, value in stored.values()}
        data = {}
        for key, ref in self.custom:
            value = stored[ref][1] if ref in stored else by_name.get(ref.lower())
            if value is not None:
                data[key] = value
        return data


def stored_custom_values(values: Iterable[CustomFieldValue]) -> dict[str, list]:
    """Custom values as kept on PracticeClient.custom_values: {uuid: [name, value]}."""
    stored = {}
    for value in values:
        converted = json_value(value.value)
        if converted is not None:
            stored[value.uuid] = [value.name or "", converted]
    return stored


def _raw_element_reader(element: str) -> Callable[[XpmClientRecord], JsonValue]:
    """Any other client element, as text (the mapping layer can address every element)."""

    def read(record: XpmClientRecord) -> JsonValue:
        return _text(record.fields.get(element))

    return read
