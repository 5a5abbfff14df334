"""The practice: every record the emulator serves, plus the primitives that change them.

Handlers validate requests and then call these primitives, which keep the derived indexes
(contact -> clients, client -> groups) and the per-client ``modified_at`` stamp right: any
change to a client, its contact links, a linked contact or its groups bumps the stamp that
``client.api/list?modifiedsince=`` compares. A custom-field value does not: XPM leaves the
client untouched when only a custom field changes (see api/customfields.py).
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import datetime

from .authmodels import AuthState
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

_DERIVED = {"persist": False}


@dataclass
class PracticeState:
    """One XPM practice (tenant) with its staff, clients, contacts, custom fields, groups,
    lead and job categories, leads, and the identity server's grants and tokens."""

    practice_name: str
    tenant_id: str
    org_tenant_id: str
    org_name: str
    created_at: datetime
    country: str = "AU"
    web_domain: str = "practice.example"
    user_name: str = "Demo Admin"
    user_email: str = "admin@practice.example"
    user_id: str = ""
    staff: dict[str, Staff] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    custom_fields: dict[str, CustomFieldDefinition] = field(default_factory=dict)
    groups: dict[str, ClientGroup] = field(default_factory=dict)
    lead_categories: dict[str, Category] = field(default_factory=dict)
    job_categories: dict[str, Category] = field(default_factory=dict)
    leads: dict[str, Lead] = field(default_factory=dict)
    auth: AuthState = field(default_factory=AuthState)
    next_seq: int = 1
    next_web_id: int = 1000

    # Derived indexes: rebuilt by reindex(), never persisted, never compared.
    _contact_clients: dict[str, list[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False, metadata=_DERIVED
    )
    _client_groups: dict[str, list[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False, metadata=_DERIVED
    )

    def __post_init__(self) -> None:
        self.reindex()

    # -- identities ---------------------------------------------------------------------

    @staticmethod
    def new_uuid() -> str:
        """A fresh lower-case UUID, as XPM 3.1 issues them."""
        return str(uuidlib.uuid4())

    def take_seq(self) -> int:
        """The next insertion sequence number (orders paged lists stably)."""
        seq = self.next_seq
        self.next_seq += 1
        return seq

    def take_web_id(self) -> int:
        """The next integer id, used only in ``WebUrl`` links like the real UI's."""
        web_id = self.next_web_id
        self.next_web_id += 1
        return web_id

    # -- indexes ------------------------------------------------------------------------

    def reindex(self) -> None:
        """Rebuild the derived indexes from the primary records."""
        contact_clients: dict[str, list[str]] = {}
        for client in self.clients.values():
            for link in client.contacts:
                contact_clients.setdefault(link.contact_uuid, []).append(client.uuid)
        client_groups: dict[str, list[str]] = {}
        for group in self.groups.values():
            for client_uuid in group.client_uuids:
                client_groups.setdefault(client_uuid, []).append(group.uuid)
        self._contact_clients = contact_clients
        self._client_groups = client_groups

    def clients_of_contact(self, contact_uuid: str) -> list[Client]:
        """Every client the contact is linked to, in link order."""
        return [
            self.clients[uuid]
            for uuid in self._contact_clients.get(contact_uuid, ())
            if uuid in self.clients
        ]

    def client_groups_index(self) -> dict[str, list[str]]:
        """The whole client -> group UUIDs index (for rendering big detailed lists)."""
        return self._client_groups

    # -- lookups ------------------------------------------------------------------------

    def live_client(self, client_uuid: str | None) -> Client | None:
        """A client that exists and is not flagged deleted, looked up case-insensitively."""
        client = self.clients.get((client_uuid or "").strip().lower())
        if client is None or client.is_deleted:
            return None
        return client

    def live_contact(self, contact_uuid: str | None) -> Contact | None:
        """A contact that exists and is not deleted, looked up case-insensitively."""
        contact = self.contacts.get((contact_uuid or "").strip().lower())
        if contact is None or contact.is_deleted:
            return None
        return contact

    def staff_member(self, staff_uuid: str | None) -> Staff | None:
        """A staff member by UUID, case-insensitively."""
        return self.staff.get((staff_uuid or "").strip().lower())

    @staticmethod
    def link_of(client: Client, contact_uuid: str) -> ContactLink | None:
        """The client's link to a contact, if any."""
        for link in client.contacts:
            if link.contact_uuid == contact_uuid:
                return link
        return None

    # -- mutations ----------------------------------------------------------------------

    def add_client(self, client: Client, now: datetime) -> Client:
        """Store a new client (its links must point at stored contacts)."""
        if not client.seq:
            client.seq = self.take_seq()
        if not client.web_id:
            client.web_id = self.take_web_id()
        client.created_at = client.created_at or now
        client.modified_at = now
        self.clients[client.uuid] = client
        for link in client.contacts:
            self._contact_clients.setdefault(link.contact_uuid, []).append(client.uuid)
        return client

    def add_contact(self, contact: Contact) -> Contact:
        """Store a new (not yet linked) contact."""
        if not contact.seq:
            contact.seq = self.take_seq()
        self.contacts[contact.uuid] = contact
        return contact

    def touch_client(self, client: Client, now: datetime) -> None:
        """Record that something the client's list entry shows has changed."""
        client.modified_at = now

    def touch_contact(self, contact_uuid: str, now: datetime) -> None:
        """A contact changed: every client showing it counts as modified."""
        for client in self.clients_of_contact(contact_uuid):
            client.modified_at = now

    def link_contact(
        self,
        client: Client,
        contact_uuid: str,
        now: datetime,
        *,
        position: str | None = None,
        is_primary: bool | None = None,
    ) -> ContactLink:
        """Link (or re-link) a contact to a client; a new primary demotes the others."""
        link = self.link_of(client, contact_uuid)
        if link is None:
            link = ContactLink(contact_uuid=contact_uuid)
            # A client's first contact is its primary contact unless told otherwise.
            link.is_primary = not client.contacts if is_primary is None else is_primary
            client.contacts.append(link)
            self._contact_clients.setdefault(contact_uuid, []).append(client.uuid)
        elif is_primary is not None:
            link.is_primary = is_primary
        if position is not None:
            link.position = position
        if link.is_primary:
            # One primary per client (docs/xpm-api.md 5.1): setting Yes on one clears the others.
            for other in client.contacts:
                if other is not link:
                    other.is_primary = False
        client.modified_at = now
        return link

    def unlink_contact(self, client: Client, contact_uuid: str, now: datetime) -> bool:
        """Remove a contact's link to a client; True when a link was removed."""
        link = self.link_of(client, contact_uuid)
        if link is None:
            return False
        client.contacts.remove(link)
        owners = self._contact_clients.get(contact_uuid, [])
        if client.uuid in owners:
            owners.remove(client.uuid)
        client.modified_at = now
        return True

    def add_group_member(self, group: ClientGroup, client: Client, now: datetime) -> None:
        """Put a client in a group (groups show in detailed client responses)."""
        if client.uuid not in group.client_uuids:
            group.client_uuids.append(client.uuid)
            self._client_groups.setdefault(client.uuid, []).append(group.uuid)
            client.modified_at = now

    def remove_group_member(self, group: ClientGroup, client: Client, now: datetime) -> None:
        """Take a client out of a group."""
        if client.uuid in group.client_uuids:
            group.client_uuids.remove(client.uuid)
            owners = self._client_groups.get(client.uuid, [])
            if group.uuid in owners:
                owners.remove(group.uuid)
            client.modified_at = now

    def delete_group(self, group: ClientGroup, now: datetime) -> None:
        """Delete a group; its former members count as modified."""
        for client_uuid in list(group.client_uuids):
            client = self.clients.get(client_uuid)
            if client is not None:
                self.remove_group_member(group, client, now)
        del self.groups[group.uuid]

    # -- counts -------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Headline numbers for the inspection page."""
        clients = self.clients.values()
        return {
            "clients": len(self.clients),
            "active_clients": sum(1 for c in clients if not c.is_archived and not c.is_deleted),
            "archived_clients": sum(1 for c in clients if c.is_archived),
            "prospects": sum(1 for c in clients if c.is_prospect),
            "contacts": sum(1 for c in self.contacts.values() if not c.is_deleted),
            "staff": len(self.staff),
            "groups": len(self.groups),
            "custom_fields": len(self.custom_fields),
            "leads": len(self.leads),
        }
