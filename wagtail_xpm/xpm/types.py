"""Typed, immutable values that cross the `wagtail_xpm.xpm` boundary.

Everything above `xpm/` sees these dataclasses, never XML. Every field is optional except
identifiers, because XPM omits elements freely (an unassigned account manager is simply
absent). Datetimes are timezone-aware (XPM's naive times are UTC); dates are `date`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeVar

from .errors import XpmResponseError
from .values import MONTH_NAMES, parse_datetime

__all__ = [
    "CallUsage",
    "ClientRef",
    "CustomFieldDefinition",
    "CustomFieldValue",
    "FrozenMap",
    "GroupRef",
    "LeadCategory",
    "NewClient",
    "NewContact",
    "NewLead",
    "Page",
    "StaffRef",
    "Tenant",
    "TokenSet",
    "XpmClientGroup",
    "XpmClientRecord",
    "XpmContact",
    "XpmLead",
    "XpmRelationship",
    "XpmStaff",
]

T = TypeVar("T")

CustomValue = str | Decimal | int | bool | date | None


class FrozenMap(Mapping[str, str]):
    """A small immutable, hashable mapping (keeps frozen dataclasses hashable)."""

    __slots__ = ("_data", "_hash")

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._data: dict[str, str] = dict(items)
        self._hash: int | None = None

    def __getitem__(self, key: str) -> str:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._data) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


# --------------------------------------------------------------------------- OAuth


@dataclass(frozen=True, slots=True, repr=False)
class TokenSet:
    """One Xero OAuth token set. Its repr never shows a token (only expiry and scopes)."""

    access_token: str
    refresh_token: str
    expires_at: datetime
    scopes: tuple[str, ...] = ()
    id_token: str | None = None
    token_type: str = "Bearer"

    def __post_init__(self) -> None:
        if self.expires_at.tzinfo is None:
            raise ValueError("TokenSet.expires_at must be timezone-aware")

    def __repr__(self) -> str:
        return (
            f"TokenSet(expires_at={self.expires_at.isoformat()!r}, "
            f"scopes={self.scopes!r}, access_token=<redacted>, refresh_token=<redacted>)"
        )

    __str__ = __repr__

    def is_expired(
        self,
        *,
        leeway: timedelta = timedelta(seconds=60),
        now: datetime | None = None,
    ) -> bool:
        """True when the access token expires within `leeway` (clock skew, request time)."""
        current = now or datetime.now(UTC)
        return current + leeway >= self.expires_at

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (for an encrypted store; it contains the secrets)."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.astimezone(UTC).isoformat(),
            "scopes": list(self.scopes),
            "id_token": self.id_token,
            "token_type": self.token_type,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenSet:
        expires_at = datetime.fromisoformat(str(data["expires_at"]))
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]),
            expires_at=expires_at,
            scopes=tuple(data.get("scopes") or ()),
            id_token=data.get("id_token"),
            token_type=str(data.get("token_type") or "Bearer"),
        )

    @classmethod
    def from_token_response(
        cls,
        data: Mapping[str, Any],
        now: datetime | None = None,
        *,
        previous: TokenSet | None = None,
    ) -> TokenSet:
        """Build from the token endpoint's JSON (`expires_in` is relative to `now`).

        A server may decline to rotate the refresh token; then `previous`'s is kept.
        """
        access_token = data.get("access_token")
        refresh_token = data.get("refresh_token") or (previous.refresh_token if previous else None)
        if not isinstance(access_token, str) or not access_token:
            raise XpmResponseError("token response has no access_token")
        if not isinstance(refresh_token, str) or not refresh_token:
            raise XpmResponseError(
                "token response has no refresh_token (was offline_access requested?)"
            )
        try:
            expires_in = float(data.get("expires_in", 1800))
        except (TypeError, ValueError) as exc:
            raise XpmResponseError("token response has an invalid expires_in") from exc
        scope = data.get("scope")
        if isinstance(scope, str) and scope.strip():
            scopes = tuple(scope.split())
        elif previous is not None:
            scopes = previous.scopes
        else:
            scopes = ()
        current = now or datetime.now(UTC)
        return cls(
            access_token=access_token,
            refresh_token=refresh_token,
            expires_at=current + timedelta(seconds=expires_in),
            scopes=scopes,
            id_token=data.get("id_token") or None,
            token_type=str(data.get("token_type") or "Bearer"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Tenant:
    """One entry of `GET /connections`: a practice (or organisation) the grant can reach."""

    id: str
    tenant_id: str
    tenant_type: str | None = None
    tenant_name: str | None = None
    auth_event_id: str | None = None
    created: datetime | None = None
    updated: datetime | None = None

    @property
    def is_practice_manager(self) -> bool:
        return (self.tenant_type or "").upper() == "PRACTICEMANAGER"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tenant:
        tenant_id = data.get("tenantId")
        if not isinstance(tenant_id, str) or not tenant_id:
            raise XpmResponseError("connection entry without tenantId")
        return cls(
            id=str(data.get("id") or tenant_id),
            tenant_id=tenant_id,
            tenant_type=data.get("tenantType"),
            tenant_name=data.get("tenantName"),
            auth_event_id=data.get("authEventId"),
            created=parse_datetime(data.get("createdDateUtc")),
            updated=parse_datetime(data.get("updatedDateUtc")),
        )


# --------------------------------------------------------------------------- references


@dataclass(frozen=True, slots=True)
class StaffRef:
    """A staff member as referenced from a client or lead (AccountManager, Owner...)."""

    uuid: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class GroupRef:
    """A client group as listed on a detailed client."""

    uuid: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ClientRef:
    """A client (or, on leads, a contact) referenced by UUID and name."""

    uuid: str
    name: str | None = None


# --------------------------------------------------------------------------- clients


@dataclass(frozen=True, slots=True)
class XpmContact:
    """A person linked to a client. `is_primary`/`position` describe that link."""

    uuid: str
    name: str | None = None
    _: KW_ONLY
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None
    salutation: str | None = None
    addressee: str | None = None
    position: str | None = None
    is_primary: bool | None = None
    is_deleted: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class XpmRelationship:
    """A relationship between two clients (detailed clients only)."""

    uuid: str | None = None
    type: str | None = None
    related_client: ClientRef | None = None
    number_of_shares: str | None = None
    percentage: str | None = None
    start_date: date | None = None
    end_date: date | None = None


@dataclass(frozen=True, slots=True)
class XpmClientRecord:
    """One XPM client.

    Typed attributes cover what the app uses; `fields` keeps the stripped text of *every*
    scalar child element by its XML name (`fields["GSTBasis"]`, empty elements as ""), so the
    mapping layer can address any element. Reference elements (`AccountManager`, `Type`...)
    appear under their own name with the referenced `Name`, and each of their scalar children
    as `Parent.Child` (`fields["Type.PaymentTerm"]`). Collections (Contacts, Groups, Notes,
    Relationships) are not in `fields`.
    """

    uuid: str
    name: str | None = None
    _: KW_ONLY
    email: str | None = None
    phone: str | None = None
    fax: str | None = None
    website: str | None = None
    title: str | None = None
    gender: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    other_name: str | None = None
    date_of_birth: date | None = None
    address: str | None = None
    city: str | None = None
    region: str | None = None
    post_code: str | None = None
    country: str | None = None
    postal_address: str | None = None
    postal_city: str | None = None
    postal_region: str | None = None
    postal_post_code: str | None = None
    postal_country: str | None = None
    referral_source: str | None = None
    export_code: str | None = None
    industry: str | None = None
    client_code: str | None = None
    is_archived: bool | None = None
    is_deleted: bool | None = None
    is_prospect: bool | None = None
    account_manager: StaffRef | None = None
    job_manager: StaffRef | None = None
    billing_client: ClientRef | None = None
    type_name: str | None = None
    business_structure: str | None = None
    balance_month: int | None = None
    gst_period: str | None = None
    gst_basis: str | None = None
    gst_registered: bool | None = None
    prepare_gst: bool | None = None
    provisional_tax_basis: str | None = None
    tax_number: str | None = None
    company_number: str | None = None
    business_number: str | None = None
    branch_number: str | None = None
    tax_agent: str | None = None
    agency_status: str | None = None
    return_type: str | None = None
    web_url: str | None = None
    contacts: tuple[XpmContact, ...] = ()
    groups: tuple[GroupRef, ...] = ()
    relationships: tuple[XpmRelationship, ...] = ()
    # repr=False: a hundred raw elements would drown every repr and assertion message.
    fields: Mapping[str, str] = field(default_factory=FrozenMap, repr=False)

    @property
    def balance_month_name(self) -> str | None:
        """`BalanceMonth` as the English month name (`June`), as the mapping layer shows it."""
        if self.balance_month is None:
            return None
        return MONTH_NAMES[self.balance_month - 1]

    @property
    def active_contacts(self) -> tuple[XpmContact, ...]:
        """Linked contacts that XPM has not flagged as deleted."""
        return tuple(c for c in self.contacts if not c.is_deleted)

    @property
    def primary_contact(self) -> XpmContact | None:
        for contact in self.active_contacts:
            if contact.is_primary:
                return contact
        return None


# --------------------------------------------------------------------------- custom fields


@dataclass(frozen=True, slots=True)
class CustomFieldDefinition:
    """A practice-wide custom field definition (`customfield.api/definition`).

    `value_element` says which element carries values (`Text`, `Decimal`, `Number`,
    `Boolean`, `Date`); when XPM leaves it blank it is inferred from `type`.
    """

    uuid: str
    name: str | None = None
    _: KW_ONLY
    type: str | None = None
    value_element: str | None = None
    options: tuple[str, ...] = ()
    link_url: str | None = None
    use_client: bool | None = None
    use_contact: bool | None = None
    use_job: bool | None = None
    use_job_task: bool | None = None
    use_job_cost: bool | None = None
    use_job_time: bool | None = None
    use_lead: bool | None = None
    use_supplier: bool | None = None


@dataclass(frozen=True, slots=True)
class CustomFieldValue:
    """One custom field value of one client or contact.

    `value` is typed by `value_element`: str (Text), Decimal, int (Number), bool (Boolean) or
    date (Date); None when XPM sent nothing usable. `raw` keeps the text as sent.
    """

    uuid: str
    name: str | None = None
    _: KW_ONLY
    value_element: str | None = None
    value: CustomValue = None
    raw: str | None = None


# --------------------------------------------------------------------------- staff, groups, leads


@dataclass(frozen=True, slots=True)
class XpmStaff:
    """A staff member of the practice (`staff.api`)."""

    uuid: str
    name: str | None = None
    _: KW_ONLY
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None
    address: str | None = None
    payroll_code: str | None = None
    web_url: str | None = None


@dataclass(frozen=True, slots=True)
class XpmClientGroup:
    """A client group; `clients` is filled by `clientgroup.api/get` only."""

    uuid: str
    name: str | None = None
    _: KW_ONLY
    taxable: bool | None = None
    clients: tuple[ClientRef, ...] = ()
    web_url: str | None = None


@dataclass(frozen=True, slots=True)
class LeadCategory:
    """A lead category (`lead.api/categories`; not the job categories of `category.api`)."""

    uuid: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class XpmLead:
    """A lead. `category` is the category *name* (XPM does not reference it by UUID)."""

    uuid: str
    name: str | None = None
    _: KW_ONLY
    description: str | None = None
    state: str | None = None
    date: datetime | None = None
    date_won_lost: datetime | None = None
    estimated_value: Decimal | None = None
    category: str | None = None
    client: ClientRef | None = None
    contact: ClientRef | None = None
    owner: StaffRef | None = None


# --------------------------------------------------------------------------- paging


@dataclass(frozen=True, slots=True)
class CallUsage:
    """API calls made and response bytes received (as received) for one kind of call."""

    calls: int = 0
    bytes: int = 0

    def __add__(self, other: CallUsage) -> CallUsage:
        return CallUsage(self.calls + other.calls, self.bytes + other.bytes)

    def __sub__(self, other: CallUsage) -> CallUsage:
        return CallUsage(self.calls - other.calls, self.bytes - other.bytes)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a paginated endpoint; `next_url` is XPM's `Pagination/Links/Next`."""

    items: tuple[T, ...]
    next_url: str | None = None


# --------------------------------------------------------------------------- inputs


def _require_text(value: str, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-blank string")


@dataclass(frozen=True, slots=True)
class NewContact:
    """A contact to create (inside `client.api/add`, or via `client.api/contact`)."""

    name: str
    _: KW_ONLY
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None
    position: str | None = None
    salutation: str | None = None
    addressee: str | None = None
    is_primary: bool = True

    def __post_init__(self) -> None:
        _require_text(self.name, "NewContact.name")


@dataclass(frozen=True, slots=True)
class NewClient:
    """A client to create with `client.api/add` (website enquiries create prospects)."""

    name: str
    _: KW_ONLY
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    address: str | None = None
    city: str | None = None
    region: str | None = None
    post_code: str | None = None
    country: str | None = None
    postal_address: str | None = None
    postal_city: str | None = None
    postal_region: str | None = None
    postal_post_code: str | None = None
    postal_country: str | None = None
    referral_source: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_prospect: bool = True
    contacts: tuple[NewContact, ...] = ()
    account_manager_uuid: str | None = None
    job_manager_uuid: str | None = None
    billing_client_uuid: str | None = None

    def __post_init__(self) -> None:
        _require_text(self.name, "NewClient.name")
        # A list passed by mistake would make the dataclass unhashable; normalise.
        if not isinstance(self.contacts, tuple):
            object.__setattr__(self, "contacts", tuple(self.contacts))


@dataclass(frozen=True, slots=True)
class NewLead:
    """A lead to create with `lead.api/add`: XPM requires an existing client and an owner."""

    name: str
    client_uuid: str
    owner_uuid: str
    _: KW_ONLY
    description: str | None = None
    contact_uuid: str | None = None
    category_uuid: str | None = None
    template_uuid: str | None = None
    estimated_value: Decimal | int | None = None

    def __post_init__(self) -> None:
        _require_text(self.name, "NewLead.name")
        _require_text(self.client_uuid, "NewLead.client_uuid")
        _require_text(self.owner_uuid, "NewLead.owner_uuid")
