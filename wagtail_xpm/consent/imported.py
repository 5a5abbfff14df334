"""What contacts made by the XPM sync start with, and the ledger row that says so.

XPM clients are people the firm already has a relationship with: they start subscribed,
on that existing relationship (docs/privacy.md), and each new contact gets an ``IMPORTED``
row. An address whose ledger already ends unsubscribed (someone deleted here and made again
by a sync) starts unsubscribed: a sync never undoes an unsubscribe. Both work in bulk, so a
first sync of thousands of contacts costs a few queries more, not one per person.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..models import ConsentEvent, Contact

BATCH = 500
# SQLite's default limit on a query's parameters is far above this.
KEYS_PER_QUERY = 900


def keep_opt_outs(connection_id: int, contacts: Iterable[Contact]) -> int:
    """Unsubscribe the not yet saved ``contacts`` whose address's last ledger row says
    unsubscribed; returns how many."""
    by_key = {c.email_key: c for c in contacts if c.email_key}
    if not by_key or not ConsentEvent.objects.filter(connection_id=connection_id).exists():
        return 0
    last: dict[str, ConsentEvent] = {}
    keys = sorted(by_key)
    for start in range(0, len(keys), KEYS_PER_QUERY):
        rows = (
            ConsentEvent.objects.filter(
                connection_id=connection_id, email_key__in=keys[start : start + KEYS_PER_QUERY]
            )
            .order_by("created_at", "pk")
            .only("email_key", "subscribed", "created_at")
        )
        for row in rows:
            last[row.email_key] = row
    kept = 0
    for key, row in last.items():
        if not row.subscribed:
            contact = by_key[key]
            contact.subscribed, contact.unsubscribed_at = False, row.created_at
            kept += 1
    return kept


def record(contacts: Iterable[Contact]) -> int:
    """``IMPORTED`` rows for contacts the sync just created (saved: they have a pk)."""
    rows = [
        ConsentEvent(
            connection_id=contact.connection_id,
            contact_id=contact.pk,
            email_key=contact.email_key,
            action=ConsentEvent.Action.IMPORTED,
            subscribed=contact.subscribed,
            actor=ConsentEvent.Actor.SYNC,
            detail={
                "xpm_contact_id": contact.xpm_contact_id,
                "xpm_client_id": contact.xpm_client_id,
            },
        )
        for contact in contacts
        if contact.pk is not None
    ]
    ConsentEvent.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)
