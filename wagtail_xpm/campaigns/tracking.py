"""Bounces, complaints and unsubscribes reported by the email service provider.

django-anymail turns every ESP's tracking webhook into one ``anymail.signals.tracking``
signal carrying an ``AnymailTrackingEvent``; :func:`record_tracking_event` (connected in
``WagtailXpmConfig.ready``) acts on it:

* **hard bounce** (``bounced``, or ``rejected`` because the address bounced or is invalid):
  the address is suppressed for every future send (:class:`EmailSuppression`, reason
  "bounced"), whichever contact record holds it;
* **complaint** (``complained``, or ``rejected`` as spam): suppressed, reason "complained";
* **soft bounce** (``deferred``, or a bounce that timed out): counted; ``SOFT_BOUNCE_LIMIT``
  soft bounces in a row suppress the address as bounced; a delivery resets the count;
* **unsubscribe** reported by the ESP (its own link or list-unsubscribe handling): the
  contacts with the address are unsubscribed, as with the site's own link.

Each acted-on event is stored once per ``(esp, event_id)`` (:class:`DeliveryEvent`), so a
webhook delivered twice changes nothing the second time. An event for an address the site
does not know still suppresses the address (a contact created later is left out). Opens and
clicks are ignored.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ..conf import get_setting
from ..consent import status
from ..models import (
    Campaign,
    CampaignRecipient,
    ConsentEvent,
    Contact,
    DeliveryEvent,
    EmailSuppression,
)
from ..models.contacts import email_key
from .snapshot import refresh_counts

logger = logging.getLogger(__name__)

Reason = EmailSuppression.Reason

# anymail.signals.EventType / RejectReason values (strings, so this module imports no anymail).
HARD_REJECT_REASONS = {"bounced", "invalid"}
SPAM_REJECT_REASONS = {"spam"}


def classify(event: Any) -> str | None:
    """``"hard"``, ``"soft"``, ``"complaint"``, ``"unsubscribe"``, ``"delivered"`` or None."""
    kind = getattr(event, "event_type", "")
    reject = getattr(event, "reject_reason", None)
    if kind == "complained" or (kind == "rejected" and reject in SPAM_REJECT_REASONS):
        return "complaint"
    if kind == "bounced":
        return "soft" if reject == "timed_out" else "hard"
    if kind == "rejected" and reject in HARD_REJECT_REASONS:
        return "hard"
    if kind == "deferred":
        return "soft"
    if kind == "unsubscribed" or (kind == "rejected" and reject == "unsubscribed"):
        return "unsubscribe"
    if kind == "delivered":
        return "delivered"
    return None


def _campaign_id(event: Any) -> int | None:
    metadata = getattr(event, "metadata", None) or {}
    try:
        campaign_id = int(metadata.get("campaign_id"))
    except (TypeError, ValueError):
        return None
    return campaign_id if Campaign.objects.filter(pk=campaign_id).exists() else None


def _detail(event: Any) -> str:
    words = getattr(event, "mta_response", None) or getattr(event, "description", None) or ""
    return " ".join(str(words).split())[:255]


def record_tracking_event(sender: Any = None, event: Any = None, esp_name: str = "", **kwargs: Any):
    """The ``anymail.signals.tracking`` receiver. Returns what it did (for tests and logs)."""
    kind = classify(event)
    address = email_key(getattr(event, "recipient", "") or "")
    if kind is None or not address:
        return None
    esp = (esp_name or "")[:50]
    if kind == "delivered":
        # A delivery ends a run of soft bounces (only an existing count is touched).
        EmailSuppression.objects.filter(email_key=address, reason="", soft_bounces__gt=0).update(
            soft_bounces=0, updated_at=timezone.now()
        )
        return "delivered"
    event_id = str(getattr(event, "event_id", "") or "")[:255]
    now = timezone.now()
    try:
        with transaction.atomic():
            DeliveryEvent.objects.create(
                esp=esp,
                event_id=event_id,
                event_type=kind,
                email_key=address,
                campaign_id=_campaign_id(event),
                occurred_at=getattr(event, "timestamp", None) or now,
                detail=_detail(event),
            )
            result = _apply(kind, address, esp, _detail(event), now)
    except IntegrityError:
        logger.info("Delivery event %s/%s was already recorded", esp, event_id)
        return "duplicate"
    logger.info("%s reported a %s (address %s)", esp or "The ESP", kind, result)
    return result


def _apply(kind: str, address: str, esp: str, detail: str, now: Any) -> str:
    if kind == "unsubscribe":
        # Through the one funnel (ledger row, confirmations voided, XPM told), on every site.
        changed = 0
        for contact in Contact.objects.filter(email_key=address, subscribed=True):
            changed += status.unsubscribe(
                contact,
                ConsentEvent.Action.UNSUBSCRIBED_ESP,
                ConsentEvent.Actor.ESP,
                detail={"esp": esp, "detail": detail},
            )
        return "unsubscribed" if changed else "already unsubscribed"
    row, _created = EmailSuppression.objects.select_for_update().get_or_create(
        email_key=address, defaults={"esp": esp}
    )
    reason_before = row.reason
    if row.reason == Reason.ERASED:
        # Erased on request: stays so (a later bounce or complaint must not make it liftable).
        return "already suppressed"
    if kind == "complaint":
        # A complaint outranks a bounce: the person said they do not want the firm's email.
        row.reason, row.suppressed_at = Reason.COMPLAINED, row.suppressed_at or now
    elif kind == "hard":
        if row.reason != Reason.COMPLAINED:
            row.reason, row.suppressed_at = Reason.BOUNCED, row.suppressed_at or now
    else:  # soft
        row.soft_bounces = F("soft_bounces") + 1
        row.save(update_fields=["soft_bounces", "updated_at"])
        row.refresh_from_db(fields=["soft_bounces"])
        limit = int(get_setting("SOFT_BOUNCE_LIMIT"))
        if row.reason or row.soft_bounces < limit:
            return "soft bounce counted" if not row.reason else "already suppressed"
        row.reason, row.suppressed_at = Reason.BOUNCED, now
        detail = (f"{row.soft_bounces} soft bounces in a row. " + detail)[:255]
    newly = row.reason != reason_before
    row.esp, row.detail = esp or row.esp, detail or row.detail
    row.save(update_fields=["reason", "suppressed_at", "esp", "detail", "updated_at"])
    if newly:
        # The ledger of each contact with the address says why campaigns skip them now.
        status.suppressed(address, row.reason, detail={"esp": esp, "detail": detail})
    # Still waiting in a campaign being sent (or stopped): left out from now on.
    waiting = CampaignRecipient.objects.filter(
        email=address, status=CampaignRecipient.Status.PENDING
    )
    campaign_ids = set(waiting.values_list("campaign_id", flat=True))
    waiting.update(status=CampaignRecipient.Status.EXCLUDED, reason=row.reason)
    for campaign in Campaign.objects.filter(pk__in=campaign_ids):
        refresh_counts(campaign)
    return f"suppressed ({row.reason})"


def suppression_for(address: str) -> EmailSuppression | None:
    """The suppression of an address (suppressed, not just soft-bounced), or None."""
    key = email_key(address)
    if not key:
        return None
    return EmailSuppression.objects.filter(email_key=key).exclude(reason="").first()


def lift(address: str) -> bool:
    """Allow campaigns to an address again (an editor's decision, e.g. the mailbox exists now).

    An address erased on request stays suppressed: the person asked never to be emailed
    again (docs/privacy.md), and an editor cannot undo that."""
    rows = EmailSuppression.objects.filter(email_key=email_key(address)).exclude(
        reason=Reason.ERASED
    )
    return bool(rows.delete()[0])


def connect() -> None:
    """Listen to django-anymail's tracking signal (called from ``WagtailXpmConfig.ready``)."""
    try:
        from anymail.signals import tracking
    except ImportError:  # pragma: no cover - anymail is a dependency
        return
    tracking.connect(record_tracking_event, dispatch_uid="wagtail_xpm.campaigns.tracking")
