"""Freezing a campaign's recipient list, and who is left out and why.

The segment is evaluated once, with archived contacts included so that they can be reported
as left out, and every member becomes a CampaignRecipient row: ``pending`` (will be sent) or
``excluded`` with a reason. Later changes to the segment or the contacts do not change who
receives the campaign, except that someone who unsubscribes meanwhile is skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import getaddresses
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from ..models import Campaign, CampaignRecipient, EmailSuppression, Segment
from ..segments.compile import Definition, members

Reason = CampaignRecipient.Reason
CHUNK = 1000


def normalised_address(email: str) -> str | None:
    """The mailbox an email field names (``"Jo <jo@x.com>"`` -> ``jo@x.com``), or None.

    A field holding several addresses (``a@b.com; c@d.com``, as XPM allows) names the first.
    ``getaddresses`` over a comma-separated list, not ``parseaddr``: since Python 3.13 (and
    security releases of 3.11/3.12) ``parseaddr`` refuses such a list outright.
    """
    found = getaddresses([(email or "").replace(";", ",")])
    address = next((addr.strip().lower() for _name, addr in found if addr.strip()), "")
    if not address:
        return None
    try:
        validate_email(address)
    except ValidationError:
        return None
    return address


@dataclass
class Classified:
    contact_id: int
    name: str
    email: str
    reason: str  # "" when the contact will be sent the campaign


def classify(rows: Any, *, names_archived: bool) -> Iterator[Classified]:
    """Decide, member by member in primary-key order, who is sent the campaign.

    Reasons, first that applies: unsubscribed, no email, email not valid, the address
    bounced or its owner complained (an ESP reported it: ``EmailSuppression``), archived in
    XPM (unless the segment targets archived contacts on purpose), same email as an earlier
    recipient (the first one, by contact id, is kept).
    """
    seen: set[str] = set()
    for row in rows:
        email = (row["email"] or "").strip()
        address = normalised_address(email)
        if not row["subscribed"]:
            reason = Reason.UNSUBSCRIBED
        elif not email:
            reason = Reason.NO_EMAIL
        elif address is None:
            reason = Reason.INVALID_EMAIL
        elif row.get("suppressed"):
            reason = SUPPRESSED_AS.get(row["suppressed"], Reason.UNSUBSCRIBED)
        elif row["is_archived"] and not names_archived:
            reason = Reason.ARCHIVED
        elif address in seen:
            reason = Reason.DUPLICATE_EMAIL
        else:
            reason = ""
            seen.add(address)
        yield Classified(row["pk"], row["name"], address or email, str(reason))


# A suppressed address's row reason. An address erased on request (docs/privacy.md) is
# left out exactly like a bounce; its row reads "Unsubscribed": the person asked for no
# more email, and campaign rows have no reason of their own for it.
SUPPRESSED_AS = {
    EmailSuppression.Reason.BOUNCED: Reason.BOUNCED,
    EmailSuppression.Reason.COMPLAINED: Reason.COMPLAINED,
    EmailSuppression.Reason.ERASED: Reason.UNSUBSCRIBED,
}


def suppressed_reason() -> Subquery:
    """Per contact: its address's suppression ("bounced", "complained", "erased"), else
    None."""
    return Subquery(
        EmailSuppression.objects.filter(email_key=OuterRef("email_key"))
        .exclude(reason="")
        .values("reason")[:1]
    )


def _member_rows(segment: Segment, definition: Definition) -> Iterator[dict[str, Any]]:
    queryset = members(segment.connection, definition, include_archived=True)
    return (
        queryset.annotate(suppressed=suppressed_reason())
        .order_by("pk")
        .values("pk", "name", "email", "subscribed", "is_archived", "suppressed")
        .iterator(chunk_size=2000)
    )


@dataclass
class Audience:
    """Who a segment would be sent to right now (not frozen), for the confirm page."""

    total: int = 0
    to_send: int = 0
    excluded: Counter = field(default_factory=Counter)

    def reasons(self) -> list[tuple[str, str, int]]:
        """(reason, label, count) for each reason that applies, largest first."""
        labels = dict(Reason.choices)
        return [
            (reason, str(labels.get(reason, reason)), count)
            for reason, count in self.excluded.most_common()
        ]


def audience(segment: Segment) -> Audience:
    definition = Definition.of(segment)
    result = Audience()
    for item in classify(
        _member_rows(segment, definition), names_archived=definition.names_archived
    ):
        result.total += 1
        if item.reason:
            result.excluded[item.reason] += 1
        else:
            result.to_send += 1
    return result


def lock_campaign(campaign_id: int) -> None:
    """Lock the campaign's row for the current transaction with a write that changes nothing.

    Not SELECT ... FOR UPDATE: SQLite ignores it, and there a transaction that reads before
    it writes fails at once ("database is locked") when another worker writes meanwhile;
    writing first makes the other wait its turn (the busy timeout). On PostgreSQL the UPDATE
    takes the same row lock FOR UPDATE would.
    """
    Campaign.objects.filter(pk=campaign_id).update(updated_at=F("updated_at"))


def take_snapshot(campaign: Campaign) -> bool:
    """Freeze the recipient list once; True when this call took it.

    Runs in one transaction with the campaign row locked, so two workers cannot both take it
    and a crash halfway leaves no partial list.
    """
    with transaction.atomic():
        lock_campaign(campaign.pk)
        locked = Campaign.objects.get(pk=campaign.pk)
        if locked.snapshot_at is not None:
            return False
        segment = locked.segment
        if segment is None:
            raise ValueError("The campaign has no segment to send to.")
        definition = Definition.of(segment)
        batch: list[CampaignRecipient] = []
        for item in classify(
            _member_rows(segment, definition), names_archived=definition.names_archived
        ):
            batch.append(
                CampaignRecipient(
                    campaign_id=locked.pk,
                    contact_id=item.contact_id,
                    email=item.email[:254],
                    name=item.name[:255],
                    status=(
                        CampaignRecipient.Status.EXCLUDED
                        if item.reason
                        else CampaignRecipient.Status.PENDING
                    ),
                    reason=item.reason,
                )
            )
            if len(batch) >= CHUNK:
                CampaignRecipient.objects.bulk_create(batch)
                batch = []
        CampaignRecipient.objects.bulk_create(batch)
        locked.snapshot_at = timezone.now()
        locked.save(update_fields=["snapshot_at", "updated_at"])
        refresh_counts(locked)
    campaign.snapshot_at = locked.snapshot_at
    return True


def refresh_counts(campaign: Campaign) -> Campaign:
    """Recount the snapshot's rows by status (one grouped query) and store the counts."""
    from django.db.models import Count

    counts = dict(
        CampaignRecipient.objects.filter(campaign=campaign)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    Status = CampaignRecipient.Status
    values = {
        "recipients_total": sum(counts.values()),
        "sent_count": counts.get(Status.SENT, 0),
        "failed_count": counts.get(Status.FAILED, 0),
        "excluded_count": counts.get(Status.EXCLUDED, 0),
        "pending_count": counts.get(Status.PENDING, 0) + counts.get(Status.CLAIMED, 0),
    }
    Campaign.objects.filter(pk=campaign.pk).update(**values)
    for name, value in values.items():
        setattr(campaign, name, value)
    return campaign


def excluded_breakdown(campaign: Campaign) -> list[tuple[str, str, int]]:
    """(reason, label, count) of the frozen list's left-out and failed rows."""
    from django.db.models import Count

    labels = dict(Reason.choices)
    rows = (
        CampaignRecipient.objects.filter(campaign=campaign)
        .exclude(reason="")
        .order_by()
        .values_list("reason")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    return [(reason, str(labels.get(reason, reason)), n) for reason, n in rows]
