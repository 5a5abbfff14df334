"""The rows a run's plan starts from: the connection's clients, contacts and links.

A full run loads every row (it must notice vanished clients); an incremental run loads
only what the listed clients touch, so a quiet run stays cheap however large the practice
is. Four queries at most, in this order: clients, contacts, the unlisted primary clients
of those contacts (incremental runs), links.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import Q

from ..models import Contact, ContactClientLink, PracticeClient, XpmConnection, email_key
from .seen import SeenClient


@dataclass(slots=True)
class ExistingRows:
    """The stored rows a plan reads and changes (planner.py)."""

    clients_by_uuid: dict[str, PracticeClient]
    clients_by_pk: dict[int, PracticeClient]
    contacts: list[Contact]
    links: dict[tuple[int, int], ContactClientLink]  # by (contact pk, client pk)
    client_pks_by_contact: dict[int, set[int]]


def load_existing(
    connection: XpmConnection,
    seen: list[SeenClient],
    *,
    incremental: bool,
    also_clients: Collection[str] = (),
) -> ExistingRows:
    """The rows ``seen`` touches (every row on a full run); ``also_clients`` are the UUIDs of
    further clients the run writes (owed custom fields, found deleted in XPM)."""
    clients = PracticeClient.objects.filter(connection=connection)
    if incremental:
        clients = clients.filter(uuid__in={c.uuid for c in seen} | set(also_clients))
    clients_by_uuid = {c.uuid: c for c in clients}
    clients_by_pk = {c.pk: c for c in clients_by_uuid.values()}
    contacts = _contacts(connection, seen, incremental, set(clients_by_pk))
    links = ContactClientLink.objects.filter(contact__connection=connection)
    if incremental:
        links = links.filter(
            Q(contact_id__in=[c.pk for c in contacts]) | Q(client_id__in=set(clients_by_pk))
        )
        # Primary clients of these contacts that were not listed: needed to keep a
        # contact's primary record where it is.
        unlisted = {c.primary_client_id for c in contacts} - set(clients_by_pk) - {None}
        for row in PracticeClient.objects.filter(pk__in=unlisted):
            clients_by_pk[row.pk] = row
            clients_by_uuid.setdefault(row.uuid, row)
    by_pair: dict[tuple[int, int], ContactClientLink] = {}
    client_pks_by_contact: dict[int, set[int]] = {}
    for link in links:
        by_pair[(link.contact_id, link.client_id)] = link
        client_pks_by_contact.setdefault(link.contact_id, set()).add(link.client_id)
    return ExistingRows(clients_by_uuid, clients_by_pk, contacts, by_pair, client_pks_by_contact)


def _contacts(
    connection: XpmConnection, seen: list[SeenClient], incremental: bool, client_pks: set[int]
) -> list[Contact]:
    """The connection's contacts; on an incremental run only those a listed contact may be:
    by ContactID, by address (the same-email rule, ownership.py), or by client."""
    contacts = Contact.objects.filter(connection=connection)
    if incremental:
        listed = [c for client in seen for c in client.contacts]
        keys = {email_key(c.email) for c in listed} - {""}
        contacts = contacts.filter(
            Q(xpm_contact_id__in={c.uuid for c in listed})
            | Q(email_key__in=keys)
            | Q(primary_client_id__in=client_pks)
            | Q(client_links__client_id__in=client_pks)
        ).distinct()
    return list(contacts)
