"""The one funnel for every change of a person's marketing status (docs/privacy.md).

Every path that subscribes or unsubscribes someone (the email's link and one-click header,
the ESP's reports, an editor, a confirmed form, the XPM opt-out) calls :func:`subscribe` or
:func:`unsubscribe`. Each call, in one transaction with the contact's row locked:

* changes ``Contact.subscribed`` / ``unsubscribed_at`` (the lock serialises it with a
  concurrent unsubscribe; the sync never writes these columns, wagtail_xpm/sync/engine.py);
* adds the ledger row (what, when, how, by whom, where, with what wording);
* voids the pending double opt-in confirmations on an unsubscribe, so an old emailed link
  cannot undo it;
* queues the opt-out (or its withdrawal) for XPM (``consent.xpm_optout``);
* logs the change in Wagtail's audit log (``CONSENT_CHANGE``): an editor's with their user,
  the person's, the sync's and the email service's with none, so "Site history" shows every
  step the ledger shows.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import audit
from ..models import ConsentConfirmation, ConsentEvent, Contact, EmailSuppression
from . import ledger, xpm_optout

Action = ConsentEvent.Action
Actor = ConsentEvent.Actor

# Rows saying the person withdrew (or the firm must treat them as having withdrawn) consent.
OPT_OUT_ACTIONS = (
    Action.UNSUBSCRIBED_LINK,
    Action.UNSUBSCRIBED_ONE_CLICK,
    Action.UNSUBSCRIBED_ESP,
    Action.UNSUBSCRIBED_EDITOR,
    Action.SUPPRESSED_COMPLAINT,
    Action.OPTED_OUT_XPM,
)


def subscribe(
    contact: Contact,
    action: str,
    actor: str,
    *,
    user: Any = None,
    request: HttpRequest | None = None,
    page: Any = None,
    wording: str = "",
    address: str | None = None,
    detail: dict[str, Any] | None = None,
    record_unchanged: bool = False,
) -> bool:
    """Make ``contact`` subscribed; True when their status changed.

    A row is written when it changed, or always with ``record_unchanged`` (a confirmed
    consent is evidence even for someone already subscribed).
    """
    return _change(
        contact,
        True,
        action,
        actor,
        user=user,
        request=request,
        page=page,
        wording=wording,
        address=address,
        detail=detail,
        record_unchanged=record_unchanged,
    )


def unsubscribe(
    contact: Contact,
    action: str,
    actor: str,
    *,
    user: Any = None,
    request: HttpRequest | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Make ``contact`` unsubscribed (voiding pending confirmations); True when it changed."""
    return _change(contact, False, action, actor, user=user, request=request, detail=detail)


def _change(
    contact: Contact,
    subscribed: bool,
    action: str,
    actor: str,
    *,
    user: Any = None,
    request: HttpRequest | None = None,
    page: Any = None,
    wording: str = "",
    address: str | None = None,
    detail: dict[str, Any] | None = None,
    record_unchanged: bool = False,
) -> bool:
    with transaction.atomic():
        locked = Contact.objects.select_for_update().filter(pk=contact.pk).first()
        if locked is None:
            return False  # deleted meanwhile: nobody left to email
        changed = locked.subscribed != subscribed
        if changed:
            locked.subscribed = subscribed
            locked.unsubscribed_at = None if subscribed else timezone.now()
            locked.save(update_fields=["subscribed", "unsubscribed_at", "updated_at"])
        contact.subscribed, contact.unsubscribed_at = locked.subscribed, locked.unsubscribed_at
        if not subscribed:
            void_pending(locked)
        if not changed and not record_unchanged:
            return False
        ledger.record(
            locked,
            action,
            subscribed=subscribed,
            actor=actor,
            user=user,
            request=request,
            page=page,
            wording=wording,
            detail=detail,
            address=address,
        )
        if changed:
            xpm_optout.queue_for(locked, opted_out=not subscribed)
        editor = user if actor == Actor.USER and getattr(user, "is_authenticated", False) else None
        what = _("subscribed") if subscribed else _("unsubscribed")
        audit.record(
            locked,
            audit.CONSENT_CHANGE,
            editor,
            what=f"{what} ({Action(action).label})",
            consent_action=action,
            actor=actor,
        )
    return changed


def void_pending(contact: Contact) -> int:
    """Void ``contact``'s confirmations still waiting for a click (after an unsubscribe)."""
    return ConsentConfirmation.objects.filter(
        contact=contact, used_at__isnull=True, voided_at__isnull=True
    ).update(voided_at=timezone.now())


def unsubscribed_before(contact: Contact) -> bool:
    """Whether this person ever withdrew consent: only a confirmation subscribes them again.

    ``unsubscribed_at`` covers unsubscribes from before the ledger existed; the ledger (kept
    by address) covers a contact that was deleted and made again.
    """
    if contact.subscribed is False and contact.unsubscribed_at is not None:
        return True
    return ConsentEvent.objects.filter(
        connection_id=contact.connection_id,
        email_key=contact.email_key,
        action__in=OPT_OUT_ACTIONS,
    ).exists()


def suppressed(address_key: str, reason: str, *, detail: dict[str, Any] | None = None) -> int:
    """Ledger rows for a bounce or complaint suppression of an address (ESP reports): one per
    contact holding it, on every site. ``subscribed`` is untouched (a suppression is kept by
    address, ``EmailSuppression``); pending confirmations to it are voided. Returns the rows."""
    action = (
        Action.SUPPRESSED_COMPLAINT
        if reason == EmailSuppression.Reason.COMPLAINED
        else Action.SUPPRESSED_BOUNCE
    )
    written = 0
    for contact in Contact.objects.filter(email_key=address_key).exclude(email_key=""):
        with transaction.atomic():
            locked = Contact.objects.select_for_update().get(pk=contact.pk)
            void_pending(locked)
            ledger.record(
                locked, action, subscribed=locked.subscribed, actor=Actor.ESP, detail=detail
            )
        written += 1
    return written
