"""Opt-outs shared with XPM: which XPM field holds them, and queuing the writes.

A site names a checkbox custom field on XPM contacts (``XpmSiteSettings
.xpm_opt_out_field_uuid``, docs/privacy.md "Opt-outs shared with XPM"). An unsubscribe here
queues one ``XpmOptOutWrite`` row per XPM contact record of the person, in the same
transaction as the unsubscribe; ``optout_delivery`` sends them. With no field chosen nothing
is queued and nothing is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from .. import background
from ..models import (
    Contact,
    ContactClientLink,
    PracticeCustomField,
    XpmConnection,
    XpmOptOutWrite,
    XpmSiteSettings,
)

Status = XpmOptOutWrite.Status
TASK = "deliver_opt_out"


def opt_out_field(connection: XpmConnection | None) -> str:
    """The UUID of the site's XPM opt-out field, or "" when opt-outs are not shared."""
    if connection is None or connection.site_id is None:
        return ""
    return (XpmSiteSettings.for_site(connection.site).xpm_opt_out_field_uuid or "").strip()


def is_opt_out_definition(definition: PracticeCustomField) -> bool:
    """A definition that can hold an opt-out: used for contacts, and a checkbox (its values
    are ``<Boolean>``, docs/xpm-api.md 6.1)."""
    kind = (definition.type or "").strip().casefold()
    return bool(definition.use_contact) and (
        (definition.value_element or "") == "Boolean" or kind in ("checkbox", "boolean")
    )


def field_problem(connection: XpmConnection, field_uuid: str) -> str:
    """Why the chosen field cannot be used, in words for staff; "" when it looks fine.

    Judged from the mirror of ``customfield.api/definition`` (``PracticeCustomField``,
    refreshed from the settings page and the mapping editor, and told when XPM refuses the
    field). An empty mirror is not evidence: the field is tried.
    """
    if not field_uuid:
        return ""
    mirror = PracticeCustomField.objects.filter(connection=connection)
    row = mirror.filter(uuid__iexact=field_uuid).first()
    if (row is None and mirror.filter(is_current=True).exists()) or (
        row is not None and not row.is_current
    ):
        name = row.name if row is not None else field_uuid
        return _(
            "The XPM custom field “%(name)s” chosen for opt-outs no longer exists in XPM "
            "(it was deleted or renamed there). Opt-outs are not shared with XPM until you "
            "choose a field again in the Xero Practice Manager settings; unsubscribes wait "
            "and are sent then."
        ) % {"name": name}
    if row is not None and not is_opt_out_definition(row):
        return _(
            "The XPM custom field “%(name)s” chosen for opt-outs is not a checkbox on "
            "contacts. Choose a contact checkbox in the Xero Practice Manager settings."
        ) % {"name": row.name}
    return ""


def record_ids(contact: Contact, *, opted_out: bool) -> list[str]:
    """The XPM contact records of ``contact`` to write: its own and every client link's
    (one person may be a contact of several clients). An opt-out skips records XPM is
    already known to hold as opted out (read by the sync or written before)."""
    ids: dict[str, None] = {}
    known_out: set[str] = set()
    links = ContactClientLink.objects.filter(contact=contact).exclude(xpm_contact_id="")
    for xpm_id, flagged in links.values_list("xpm_contact_id", "xpm_opted_out"):
        key = xpm_id.strip().lower()
        ids.setdefault(key)
        if flagged:
            known_out.add(key)
    own = (contact.xpm_contact_id or "").strip().lower()
    if own:
        ids.setdefault(own)
    if opted_out:
        return [xpm_id for xpm_id in ids if xpm_id not in known_out]
    return list(ids)


def queue_for(contact: Contact, *, opted_out: bool) -> int:
    """Queue writes of the opt-out field to each XPM contact record of ``contact``.

    Call it inside the transaction that changes the person's status: the rows commit with
    the change, and their tasks are queued only once it commits. A record with an unsent
    write already waiting gets that row's value changed instead of a second row, so an
    unsubscribe followed by a confirmed re-subscribe can never land in XPM in the wrong
    order. Returns the number of records queued (0 when no opt-out field is chosen).
    """
    if contact.pk is None or not contact.connection_id:
        return 0
    if not opt_out_field(contact.connection):
        return 0
    with transaction.atomic():
        return _queue(contact, opted_out)


def _queue(contact: Contact, opted_out: bool) -> int:
    queued = 0
    for xpm_id in record_ids(contact, opted_out=opted_out):
        waiting = (
            XpmOptOutWrite.objects.select_for_update()
            .filter(
                connection_id=contact.connection_id,
                xpm_contact_id=xpm_id,
                status__in=[Status.PENDING, Status.FAILED],
            )
            .order_by("-pk")
            .first()
        )
        if waiting is not None:
            waiting.opted_out = opted_out
            waiting.contact = contact
            waiting.status = Status.PENDING
            waiting.attempts = 0
            waiting.next_attempt_at = None
            waiting.save(
                update_fields=["opted_out", "contact", "status", "attempts", "next_attempt_at"]
            )
            row = waiting
        else:
            row = XpmOptOutWrite.objects.create(
                connection_id=contact.connection_id,
                contact=contact,
                xpm_contact_id=xpm_id,
                opted_out=opted_out,
            )
        background.enqueue_on_commit(TASK, row.pk)
        queued += 1
    return queued


@dataclass(frozen=True)
class OutboxCounts:
    """Opt-out writes of a connection not yet accepted by XPM."""

    pending: int  # waiting or being sent (retries included)
    failed: int  # given up after too many refusals: a person should look

    @property
    def total(self) -> int:
        return self.pending + self.failed


def outbox_counts(connection: XpmConnection | None) -> OutboxCounts:
    """How many opt-out writes are pending and failed for ``connection``."""
    if connection is None:
        return OutboxCounts(0, 0)
    rows = XpmOptOutWrite.objects.filter(connection=connection)
    pending = rows.filter(status__in=[Status.PENDING, Status.SENDING]).count()
    failed = rows.filter(status=Status.FAILED).count()
    return OutboxCounts(pending, failed)


@dataclass(frozen=True)
class ReadState:
    """How old the XPM opt-outs known here may be, over contacts who can be emailed."""

    records: int  # XPM contact records of contacts who can be emailed
    unread: int  # of those, never read
    oldest: datetime | None  # when the least recently read one was read


def read_state(connection: XpmConnection | None) -> ReadState:
    if connection is None:
        return ReadState(0, 0, None)
    links = emailable_links(connection)
    records = links.values("xpm_contact_id").distinct().count()
    unread = links.filter(opt_out_read_at__isnull=True).values("xpm_contact_id").distinct().count()
    oldest = (
        links.filter(opt_out_read_at__isnull=False)
        .order_by("opt_out_read_at")
        .values_list("opt_out_read_at", flat=True)
        .first()
    )
    return ReadState(records, unread, oldest)


def emailable_links(connection: XpmConnection):
    """Client links of contacts a campaign could reach (subscribed, with an address, not
    archived) on live clients: the XPM records whose opt-out matters."""
    return ContactClientLink.objects.filter(
        contact__connection=connection,
        contact__subscribed=True,
        contact__is_archived=False,
        contact__xpm_removed=False,
        client__is_archived=False,
        client__is_deleted=False,
        client__is_missing=False,
    ).filter(~Q(contact__email_key="") & ~Q(xpm_contact_id=""))
