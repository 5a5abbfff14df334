"""Writing a run's plan (planner.py) in bulk, then the contacts' archive flags.

The engine runs both in one transaction (engine.py ``_apply``). Every write is an
idempotent upsert keyed by XPM UUIDs, so a run that dies half-way converges when run again;
an unchanged re-run writes nothing.
"""

from __future__ import annotations

from django.db import connection as db_connection

from ..consent import imported
from ..models import Contact, ContactClientLink, PracticeClient
from .planner import WritePlan

BATCH = 1000
# A run writing this many contacts refreshes PostgreSQL's statistics when it ends.
ANALYZE_AFTER_WRITES = 1000

CLIENT_FIELDS = [
    "name", "email", "is_archived", "is_deleted", "is_prospect", "is_missing", "web_url",
    "content_hash", "data", "custom_values", "custom_fields_pending",
    "custom_fields_fetched_at", "last_seen_at",
]  # fmt: skip
# Never ``subscribed``: an unsubscribe made while the sync writes must stand
# (wagtail_xpm/consent/status.py).
CONTACT_FIELDS = [
    "name", "email", "email_key", "phone", "mobile", "position", "xpm_contact_id",
    "xpm_client_id", "client_name", "primary_client", "data", "is_prospect", "xpm_removed",
    "last_synced_at",
]  # fmt: skip


def write(plan: WritePlan) -> None:
    """Create and update the plan's clients, contacts and links."""
    PracticeClient.objects.bulk_create(plan.clients_to_create, batch_size=BATCH)
    if plan.clients_to_update:
        PracticeClient.objects.bulk_update(
            list(plan.clients_to_update.values()), CLIENT_FIELDS, batch_size=BATCH
        )
    for contact in plan.contacts_to_create:
        contact.primary_client_id = contact.primary_client.pk
    # New XPM contacts start subscribed on the firm's relationship, unless their address
    # unsubscribed before; each gets its ledger row (wagtail_xpm/consent/imported.py).
    imported.keep_opt_outs(plan.connection_id, plan.contacts_to_create)
    Contact.objects.bulk_create(plan.contacts_to_create, batch_size=BATCH)
    imported.record(plan.contacts_to_create)
    if plan.contacts_to_update:
        for contact in plan.contacts_to_update.values():
            contact.primary_client_id = contact.primary_client.pk
        Contact.objects.bulk_update(
            list(plan.contacts_to_update.values()), CONTACT_FIELDS, batch_size=BATCH
        )
    _write_links(plan)


def _write_links(plan: WritePlan) -> None:
    creates, updates = [], []
    for link in plan.links_wanted.values():
        link.contact_id, link.client_id = link.contact.pk, link.client.pk
        current = plan.existing_links.get((link.contact_id, link.client_id))
        if current is None:
            creates.append(link)
            continue
        wanted = (link.xpm_contact_id, link.position, link.is_primary)
        if (current.xpm_contact_id, current.position, current.is_primary) != wanted:
            current.xpm_contact_id, current.position, current.is_primary = wanted
            updates.append(current)
    ContactClientLink.objects.bulk_create(creates, batch_size=BATCH)
    if updates:
        ContactClientLink.objects.bulk_update(
            updates, ["xpm_contact_id", "position", "is_primary"], batch_size=BATCH
        )
    if plan.links_to_delete:
        ContactClientLink.objects.filter(pk__in=plan.links_to_delete).delete()


def flag_archived(plan: WritePlan) -> int:
    """Flag contacts whose XPM clients are all archived, deleted or gone (and unflag), once
    the plan is written; the number of contacts archived."""
    affected = set(plan.touched_contact_pks)
    affected.update(c.pk for c in plan.contacts_to_create)
    changed_client_pks = [c.pk for c in plan.clients_to_update.values()]
    for start in range(0, len(changed_client_pks), BATCH):
        affected.update(
            ContactClientLink.objects.filter(
                client_id__in=changed_client_pks[start : start + BATCH]
            ).values_list("contact_id", flat=True)
        )
    pks = sorted(affected)
    archived = 0
    for start in range(0, len(pks), BATCH):
        archive, removed, revive = _archive_flags(pks[start : start + BATCH])
        archived += Contact.objects.filter(pk__in=archive).update(is_archived=True)
        Contact.objects.filter(pk__in=removed).update(xpm_removed=True)
        Contact.objects.filter(pk__in=revive).update(is_archived=False)
    return archived


def _archive_flags(pks: list[int]) -> tuple[list[int], list[int], list[int]]:
    """Which of ``pks`` to archive, flag as removed from XPM, and revive.

    Decided in Python from two index lookups rather than with correlated EXISTS
    subqueries: during a first sync PostgreSQL has no statistics for the rows just
    inserted (autovacuum cannot see an open transaction), and planned those as nested
    anti joins that scanned every link per contact (minutes at 5,000 clients).
    """
    linked: set[int] = set()
    active: set[int] = set()
    links = ContactClientLink.objects.filter(contact_id__in=pks).order_by()
    for contact_id, archived, deleted, missing in links.values_list(
        "contact_id", "client__is_archived", "client__is_deleted", "client__is_missing"
    ):
        linked.add(contact_id)
        if not (archived or deleted or missing):
            active.add(contact_id)
    archive: list[int] = []
    removed: list[int] = []
    revive: list[int] = []
    contacts = Contact.objects.filter(pk__in=pks).order_by()
    for pk, source, is_archived, xpm_removed in contacts.values_list(
        "pk", "source", "is_archived", "xpm_removed"
    ):
        if pk in active:
            if is_archived:
                revive.append(pk)
        # Form contacts that XPM never knew stay as they are.
        elif (pk in linked or source == Contact.Source.XPM) and not is_archived:
            archive.append(pk)
        if pk not in linked and source == Contact.Source.XPM and not xpm_removed:
            removed.append(pk)
    return archive, removed, revive


def refresh_planner_statistics() -> None:
    """ANALYZE the synced tables on PostgreSQL after a large run.

    Autovacuum gets to them within a minute or so; until then the planner still thinks
    the tables are as small as before the first sync, and joins over contacts, links and
    clients (segments, the contacts listing) can be planned as nested loops over
    thousands of rows. Cheap next to the sync itself.
    """
    if db_connection.vendor != "postgresql":
        return
    tables = [model._meta.db_table for model in (Contact, ContactClientLink, PracticeClient)]
    with db_connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(db_connection.ops.quote_name(t) for t in tables))
