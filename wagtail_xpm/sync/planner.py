"""Planning a run's writes in memory: what XPM listed, against the rows already stored.

The ``Planner`` is given everything it reads (the clients the run saw, the existing rows,
the field mappings, the same-email rule, the run's options) and returns a ``WritePlan``:
the rows to create and update, the links wanted and gone, the clients to flag, the
skipped duplicates for the report. It queries nothing; sync/apply.py writes the plan in
bulk, then decides the contacts' archive flags from what was written.

The firm's rules it applies (docs/architecture.md, "A sync"): one contact per XPM contact,
carrying the ClientID and ContactID of its primary record and the mapped values of that
client; the same-email rule (ownership.py); archived, deleted or vanished clients flagged,
never deleted; what a visitor typed into a form never overwritten (``form_locked_fields``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from ..models import Contact, ContactClientLink, PracticeClient, XpmConnection, email_key
from . import ownership
from .existing import ExistingRows
from .mapping import Mapper
from .seen import SeenClient, SeenContact

# How many examples a run's report keeps of each kind (skipped contacts, errors...).
REPORT_SAMPLES = 50


@dataclass(frozen=True)
class PlanOptions:
    """What the run decided before planning."""

    now: datetime
    # Only changed clients were listed (``modifiedsince``).
    incremental: bool
    # A full run that read XPM's whole list: known clients it did not list are missing.
    find_missing: bool
    # Custom values read this run, by client UUID, and the clients owed a read.
    custom_values: Mapping[str, dict[str, Any]]
    custom_wanted: frozenset[str]
    # Clients a reconciliation found deleted in XPM.
    removed: frozenset[str]
    # A sweep flagging more known clients than this as missing looks like a fault.
    max_missing_share: float
    max_missing_floor: int


@dataclass
class WritePlan:
    """Every write a run needs (sync/apply.py performs them)."""

    connection_id: int
    clients_to_create: list[PracticeClient] = field(default_factory=list)
    clients_to_update: dict[str, PracticeClient] = field(default_factory=dict)
    contacts_to_create: list[Contact] = field(default_factory=list)
    contacts_to_update: dict[int, Contact] = field(default_factory=dict)
    # Stored contacts XPM listed with nothing new.
    unchanged_contacts: set[int] = field(default_factory=set)
    # By (contact, client): a pk, or id() of a row still to be created.
    links_wanted: dict[tuple[int, int], ContactClientLink] = field(default_factory=dict)
    existing_links: dict[tuple[int, int], ContactClientLink] = field(default_factory=dict)
    links_to_delete: list[int] = field(default_factory=list)
    # Clients newly flagged missing (a reconciliation, or a full run's list).
    missing_clients: list[PracticeClient] = field(default_factory=list)
    # Stored contacts whose archive flags are decided again once the plan is written.
    touched_contact_pks: set[int] = field(default_factory=set)
    # Contacts skipped by the same-email rule, and the first few for the report.
    skipped: int = 0
    skipped_duplicates: list[dict[str, str]] = field(default_factory=list)
    # Refusals for the run's errors (a sweep that would flag too many clients).
    errors: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return len(self.unchanged_contacts - self.contacts_to_update.keys())


class Planner:
    """Works out in memory every write a run needs: ``Planner(...).build()``, once.

    ``decide_ownership`` is the same-email rule (``ownership.decide``)."""

    def __init__(
        self,
        *,
        connection: XpmConnection,
        seen: list[SeenClient],
        existing: ExistingRows,
        mapper: Mapper,
        options: PlanOptions,
        decide_ownership: Callable[..., ownership.Ownership],
    ) -> None:
        self.connection = connection
        self.seen = seen
        self.mapper = mapper
        self.options = options
        self.decide_ownership = decide_ownership
        self.now = options.now
        self.seen_uuids = {c.uuid for c in seen}
        self.listed_contacts = {c.uuid: {x.uuid for x in c.contacts} for c in seen}
        # The planner adds the clients it creates; the stored rows it changes in place.
        self.clients_by_uuid = dict(existing.clients_by_uuid)
        self.clients_by_pk = existing.clients_by_pk
        self.contacts = existing.contacts
        self.client_pks_by_contact = existing.client_pks_by_contact
        # Who holds each ContactID and address, as the plan goes (the same-email rule).
        self.by_xpm_id = {c.xpm_contact_id: c for c in existing.contacts if c.xpm_contact_id}
        self.by_email = {c.email_key: c for c in existing.contacts if c.email_key}
        self.filled: set[int] = set()  # id() of contacts already filled from XPM this run
        # Clients owed custom fields from an earlier run, not listed but read this time.
        self.refreshed_unlisted: dict[int, PracticeClient] = {}
        self.plan = WritePlan(connection_id=connection.pk, existing_links=existing.links)

    def build(self) -> WritePlan:
        self._plan_listed_clients()
        self._flag_removed_clients()
        self._refresh_unlisted_clients()
        self._plan_contacts()
        self._refresh_unlisted_contacts()
        self._drop_links_xpm_no_longer_has()
        if self.options.find_missing:
            self._plan_missing_clients()
        return self.plan

    # --- clients ----------------------------------------------------------------------------

    def _plan_listed_clients(self) -> None:
        for client in self.seen:
            row = self.clients_by_uuid.get(client.uuid)
            if row is None:
                row = PracticeClient(connection=self.connection, uuid=client.uuid)
                self.clients_by_uuid[client.uuid] = row
                self.plan.clients_to_create.append(row)
            fetched = self.options.custom_values.get(client.uuid)
            custom_values = fetched if fetched is not None else row.custom_values
            self._set_client(
                row,
                name=client.name,
                email=client.email,
                is_archived=client.is_archived,
                is_deleted=client.is_deleted,
                is_prospect=client.is_prospect,
                is_missing=False,
                web_url=client.web_url,
                content_hash=client.content_hash,
                custom_values=custom_values,
                data={**client.standard_data, **self.mapper.custom_data(custom_values)},
                custom_fields_pending=fetched is None and client.uuid in self.options.custom_wanted,
            )
            if fetched is not None:
                self._set_client(row, custom_fields_fetched_at=self.now, force=True)

    def _flag_removed_clients(self) -> None:
        """Clients a reconciliation found deleted in XPM: flagged, never deleted here."""
        for uuid in sorted(self.options.removed):
            row = self.clients_by_uuid.get(uuid)
            if row is not None and not row.is_missing:
                self._set_client(row, is_missing=True)
                self.plan.missing_clients.append(row)

    def _refresh_unlisted_clients(self) -> None:
        """Clients owed custom fields from an earlier run but not listed this time."""
        for uuid in self.options.custom_wanted - self.seen_uuids:
            row, fetched = self.clients_by_uuid.get(uuid), self.options.custom_values.get(uuid)
            if row is None or fetched is None:
                continue
            self._set_client(
                row,
                custom_values=fetched,
                data={**row.data, **self.mapper.custom_data(fetched)},
                custom_fields_pending=False,
                custom_fields_fetched_at=self.now,
            )
            self.refreshed_unlisted[row.pk] = row

    def _set_client(self, row: PracticeClient, *, force: bool = False, **values: Any) -> None:
        changed = force
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        if row.pk is None:
            row.last_seen_at = self.now
        elif changed:
            row.last_seen_at = self.now
            self.plan.clients_to_update[row.uuid] = row

    def _plan_missing_clients(self) -> None:
        known = [c for c in self.clients_by_uuid.values() if c.pk is not None]
        candidates = [c for c in known if c.uuid not in self.seen_uuids and not c.is_missing]
        if not candidates:
            return
        options = self.options
        limit = max(options.max_missing_floor, int(len(known) * options.max_missing_share))
        if len(candidates) > limit:
            self.plan.errors.append(
                _(
                    "XPM's client list no longer has %(missing)s of the %(known)s clients synced "
                    "before. Flagging that many at once looks like a fault, so none were flagged "
                    "(the limit is %(limit)s). Check the practice, then run a full sync again."
                )
                % {"missing": len(candidates), "known": len(known), "limit": limit}
            )
            return
        for client in candidates:
            self._set_client(client, is_missing=True)
            self.plan.missing_clients.append(client)

    # --- contacts ---------------------------------------------------------------------------

    def _plan_contacts(self) -> None:
        for client in self.seen:
            client_row = self.clients_by_uuid[client.uuid]
            for seen in client.contacts:
                self._plan_contact(client, client_row, seen)

    def _plan_contact(
        self, client: SeenClient, client_row: PracticeClient, seen: SeenContact
    ) -> None:
        key = email_key(seen.email)
        own_row = self.by_xpm_id.get(seen.uuid)
        holder = self.by_email.get(key) if key else None
        decision = self.decide_ownership(key, has_own_row=own_row is not None, holder=holder)
        if decision is ownership.Ownership.SKIP:
            self._skip_duplicate(client, client_row, seen, holder)
            return
        contact = own_row if decision is ownership.Ownership.OWN else holder
        if contact is None:
            contact = Contact(connection=self.connection, source=Contact.Source.XPM)
            self.plan.contacts_to_create.append(contact)
        self.by_xpm_id[seen.uuid] = contact
        if id(contact) not in self.filled:
            self.filled.add(id(contact))
            self._fill_and_record(contact, seen, client_row)
        self._want_link(contact, client_row, seen)

    def _skip_duplicate(
        self, client: SeenClient, client_row: PracticeClient, seen: SeenContact, holder: Contact
    ) -> None:
        """The same-email rule's "skip": reported, and the holder linked to this client too."""
        self.plan.skipped += 1
        if len(self.plan.skipped_duplicates) < REPORT_SAMPLES:
            self.plan.skipped_duplicates.append(
                {
                    "contact_id": seen.uuid,
                    "client_id": client.uuid,
                    "kept_contact_id": holder.xpm_contact_id,
                    # Names, so the report reads without the UUIDs.
                    "name": seen.name,
                    "client_name": client.name,
                    "kept_name": holder.name,
                }
            )
        self._want_link(holder, client_row, seen)

    def _fill_and_record(
        self, contact: Contact, seen: SeenContact, client_row: PracticeClient
    ) -> None:
        changed = self._fill_contact(contact, seen, client_row)
        if contact.pk is None:
            return
        self.plan.touched_contact_pks.add(contact.pk)
        if changed:
            self.plan.contacts_to_update[contact.pk] = contact
        else:
            self.plan.unchanged_contacts.add(contact.pk)

    def _fill_contact(
        self, contact: Contact, seen: SeenContact, client_row: PracticeClient
    ) -> bool:
        """Copy XPM's values onto the contact; True when something changed."""
        current = self.clients_by_pk.get(contact.primary_client_id)
        if (
            current is not None
            and current is not client_row
            and self._still_linked(contact, current, seen)
        ):
            # The primary record stays where it was while the person is still linked there.
            client_row = current
        values: dict[str, Any] = {
            "name": seen.name,
            "phone": seen.phone,
            "mobile": seen.mobile,
            "position": seen.position,
            "xpm_contact_id": seen.uuid,
            "xpm_client_id": client_row.uuid,
            "client_name": client_row.name,
            "data": client_row.data,
            "is_prospect": client_row.is_prospect,
            "xpm_removed": False,
        }
        key = email_key(seen.email)
        holder = self.by_email.get(key) if key else None
        if ownership.may_take_address(key, holder=holder, contact=contact):
            values["email"] = seen.email
            self.by_email[key] = contact
        changed = self._copy_unlocked(contact, values)
        if client_row.pk is None or contact.primary_client_id != client_row.pk:
            contact.primary_client = client_row
            changed = True
        if changed:
            contact.email_key = email_key(contact.email)
            contact.last_synced_at = self.now
        return changed

    @staticmethod
    def _copy_unlocked(contact: Contact, values: dict[str, Any]) -> bool:
        """Set ``values`` except what a visitor typed into a form; True for a new contact or
        when something changed."""
        locked = set(contact.form_locked_fields or ())
        changed = contact.pk is None
        for name, value in values.items():
            if name not in locked and getattr(contact, name) != value:
                setattr(contact, name, value)
                changed = True
        return changed

    def _still_linked(self, contact: Contact, client: PracticeClient, seen: SeenContact) -> bool:
        if client.uuid in self.seen_uuids:
            return seen.uuid in self.listed_contacts[client.uuid]
        return client.pk in self.client_pks_by_contact.get(contact.pk, ())

    def _want_link(self, contact: Contact, client_row: PracticeClient, seen: SeenContact) -> None:
        key = (contact.pk or id(contact), client_row.pk or id(client_row))
        if key not in self.plan.links_wanted:
            self.plan.links_wanted[key] = ContactClientLink(
                contact=contact,
                client=client_row,
                xpm_contact_id=seen.uuid,
                position=seen.position,
                is_primary=seen.is_primary,
            )

    def _refresh_unlisted_contacts(self) -> None:
        """Contacts whose primary client was not listed but got its owed custom fields."""
        for contact in self.contacts:
            row = self.refreshed_unlisted.get(contact.primary_client_id)
            if row is None or id(contact) in self.filled or contact.data == row.data:
                continue
            contact.data = row.data
            contact.last_synced_at = self.now
            contact.primary_client = row
            self.plan.contacts_to_update[contact.pk] = contact
            self.plan.touched_contact_pks.add(contact.pk)

    def _drop_links_xpm_no_longer_has(self) -> None:
        """Links of listed clients that XPM no longer has."""
        listed_pks = {self.clients_by_uuid[u].pk for u in self.seen_uuids} - {None}
        for (contact_pk, client_pk), link in self.plan.existing_links.items():
            if client_pk in listed_pks and (contact_pk, client_pk) not in self.plan.links_wanted:
                self.plan.links_to_delete.append(link.pk)
                self.plan.touched_contact_pks.add(contact_pk)


# --- a dry run's report -----------------------------------------------------------------------


def archived_estimate(plan: WritePlan, existing: ExistingRows) -> int:
    """Contacts a dry run's plan would archive: every client they are linked to inactive."""
    if not plan.missing_clients:
        return 0
    clients = existing.clients_by_pk
    return sum(
        1
        for client_pks in existing.client_pks_by_contact.values()
        if client_pks
        and all(
            clients[pk].is_missing or not clients[pk].is_active
            for pk in client_pks
            if pk in clients
        )
    )


def describe(plan: WritePlan, *, custom_fields_to_fetch: int) -> dict[str, Any]:
    """A dry run's report: samples of what the plan would create, update and flag."""

    def sample(contacts: Iterable[Contact]) -> list[dict[str, str]]:
        return [
            {"name": c.name, "contact_id": c.xpm_contact_id, "client_id": c.xpm_client_id}
            for c in list(contacts)[:REPORT_SAMPLES]
        ]

    return {
        "create": sample(plan.contacts_to_create),
        "update": sample(plan.contacts_to_update.values()),
        "clients_missing": [c.uuid for c in plan.missing_clients[:REPORT_SAMPLES]],
        "custom_fields_to_fetch": custom_fields_to_fetch,
    }
