"""Double opt-in: consent ticked on a website form subscribes a person once they confirm it.

A form with consent ticked (``from_form``, called by leads/crm.py after the submission is
stored) either subscribes at once (the site's ``single_opt_in``, never for someone who
unsubscribed before) or creates a :class:`ConsentConfirmation` and queues its email. The
email's link is signed and expires (``signing.dumps`` with its own salt, ``MAX_AGE``); it
carries only the confirmation's nonce. Opening it shows a button (consent/public.py): only
the POST confirms, so a mail scanner fetching the link confirms nothing. A confirmation is
single-use (``used_at``) and an unsubscribe voids it (``voided_at``, consent/status.py).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import background, mailer, mailfaults
from ..links import public_url
from ..models import ConsentConfirmation, ConsentEvent, Contact, XpmSiteSettings
from . import ledger, status

logger = logging.getLogger(__name__)

Action = ConsentEvent.Action
Actor = ConsentEvent.Actor

SALT = "wagtail_xpm.consent.confirm"
MAX_AGE = timedelta(days=7)
# A form sent again and again with someone's address sends them one email, not a flood: a
# pending confirmation younger than this is reused.
RESEND_AFTER = timedelta(hours=1)
# ...and while its email waits in the queue, the same form sent again queues nothing more:
# a flood of forms naming one address would otherwise queue a task per form (the send is
# claimed, so one email would still go, but the queue would fill). Forgotten when a send
# fails, so the person sending the form again is how they get it.
QUEUED_FOR = timedelta(minutes=15)
TASK = "send_consent_confirmation"


class InvalidLink(Exception):
    """The link was altered, truncated or signed with a key this site does not know."""


class ExpiredLink(InvalidLink):
    """The link is genuine but older than ``MAX_AGE``."""


@dataclass(frozen=True)
class FormConsent:
    """Consent as given on one form: where, in what words, from which address."""

    page: Any
    wording: str
    address: str | None
    detail: dict[str, Any]


# --- tokens ----------------------------------------------------------------------------------


def make_token(nonce: str) -> str:
    return signing.dumps({"n": nonce}, salt=SALT)


def read_token(token: str) -> str:
    """The nonce a genuine, unexpired link carries; raises ExpiredLink or InvalidLink."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.SignatureExpired:
        raise ExpiredLink(token) from None
    except (signing.BadSignature, ValueError, TypeError):
        raise InvalidLink(token) from None
    nonce = payload.get("n") if isinstance(payload, dict) else None
    if not isinstance(nonce, str) or not nonce:
        raise InvalidLink(token)
    return nonce


def confirm_path(token: str) -> str:
    return reverse("wagtail_xpm_leads:confirm_consent", args=[token])


# --- consent from a form ---------------------------------------------------------------------


def from_form(contact: Contact, consent: FormConsent, *, site: Any) -> str:
    """Act on consent ticked on a form; returns what happened (``"already"``, ``"subscribed"``
    or ``"confirmation"``).

    Someone already subscribed is left as they are. With the site's single opt-in the tick
    subscribes at once, except someone who unsubscribed before: they, like everyone without
    single opt-in, are sent a confirmation email and stay as they are until they confirm.
    """
    if contact.subscribed:
        return "already"
    single = site is not None and XpmSiteSettings.for_site(site).single_opt_in
    if single and not status.unsubscribed_before(contact):
        status.subscribe(
            contact,
            Action.SUBSCRIBED_FORM,
            Actor.PERSON,
            page=consent.page,
            wording=consent.wording,
            address=consent.address,
            detail=consent.detail,
        )
        return "subscribed"
    request_confirmation(contact, consent)
    return "confirmation"


def request_confirmation(contact: Contact, consent: FormConsent) -> ConsentConfirmation:
    """A pending confirmation for ``contact`` (a recent one is reused), its ledger row, and
    its email queued once the transaction commits."""
    recent = (
        ConsentConfirmation.objects.filter(
            contact=contact,
            used_at__isnull=True,
            voided_at__isnull=True,
            created_at__gte=timezone.now() - RESEND_AFTER,
        )
        .order_by("-created_at")
        .first()
    )
    confirmation = recent or ConsentConfirmation.objects.create(
        connection_id=contact.connection_id,
        contact=contact,
        email_key=contact.email_key,
        nonce=secrets.token_urlsafe(32),
        page=consent.page,
        wording=consent.wording,
        ip_prefix=ledger.prefix_of(consent.address),
    )
    ledger.record(
        contact,
        Action.REQUESTED,
        subscribed=contact.subscribed,
        actor=Actor.PERSON,
        page=consent.page,
        wording=consent.wording,
        address=consent.address,
        detail={**consent.detail, "confirmation": confirmation.pk, "email_queued": recent is None},
    )
    if recent is None or recent.sent_at is None:
        # A new confirmation, or one whose email has not gone out (the mail server was
        # down): the person sending the form again is how they ask for it again.
        pk, nonce = confirmation.pk, confirmation.nonce
        transaction.on_commit(lambda: _enqueue(pk, nonce))
    return confirmation


def _queued_key(nonce: str) -> str:
    # The nonce, not the row id: ids come round again (a restored or test database).
    return f"wagtail_xpm:consent-confirmation-queued:{nonce}"


def _marked_queued(nonce: str) -> bool:
    """Mark the confirmation's email as queued; False when it was already. A cache outage
    counts as not queued: the send is claimed in the database (:func:`send`), so a second
    task still sends one email, and the enquiry behind it is never lost to the cache."""
    try:
        return bool(cache.add(_queued_key(nonce), True, QUEUED_FOR.total_seconds()))
    except Exception:  # noqa: BLE001 - any cache backend's outage (Redis down...)
        logger.warning("The cache is unavailable: queuing the confirmation email unguarded")
        return True


def _forget_queued(nonce: str) -> None:
    try:
        cache.delete(_queued_key(nonce))
    except Exception:  # noqa: BLE001 - see _marked_queued; the mark expires by itself
        logger.warning("The cache is unavailable: the confirmation's queued mark stays")


def _enqueue(confirmation_id: int, nonce: str) -> None:
    if not _marked_queued(nonce):
        return  # its email is queued already
    try:
        background.enqueue(TASK, confirmation_id)
    except Exception:  # noqa: BLE001 - the form is answered; the person can send it again
        _forget_queued(nonce)
        logger.exception("Could not queue the consent confirmation email %s", confirmation_id)


# --- the email -------------------------------------------------------------------------------


def send(confirmation_id: int) -> str:
    """Send one confirmation email (the Huey task); returns ``"sent"``, ``"skipped"`` or
    ``"failed"``. A failure is logged and kept in the request's ledger row (``mail_error``):
    the person is simply not subscribed, and can send the form again."""
    confirmation = (
        ConsentConfirmation.objects.select_related("connection__site", "contact")
        .filter(pk=confirmation_id)
        .first()
    )
    if confirmation is None or confirmation.contact is None:
        return "skipped"
    # Claimed before sending, so two queued sends of one confirmation send one email.
    claimed = ConsentConfirmation.objects.filter(
        pk=confirmation.pk, sent_at__isnull=True, used_at__isnull=True, voided_at__isnull=True
    ).update(sent_at=timezone.now())
    if not claimed:
        return "skipped"  # sent already, confirmed or voided
    message = build_message(confirmation)
    backend = None
    try:
        backend = mailer.open_backend()
        backend.send_messages([message])
    except Exception as exc:  # noqa: BLE001 - every backend raises its own errors (mailfaults)
        ConsentConfirmation.objects.filter(pk=confirmation.pk).update(sent_at=None)
        _forget_queued(confirmation.nonce)  # the next form queues it again
        fault = mailfaults.describe(exc, backend=backend)
        logger.warning("Consent confirmation email %s not sent: %s", confirmation.pk, fault.reason)
        _note(confirmation, {"mail_error": fault.reason[:500]})
        return "failed"
    _note(confirmation, {"mail_sent": True, "mail_error": ""})
    return "sent"


def _note(confirmation: ConsentConfirmation, values: dict[str, Any]) -> None:
    """The email's outcome on the request's ledger row (the row says what happened; this adds
    whether the email went out)."""
    for row in ConsentEvent.objects.filter(
        action=Action.REQUESTED, contact_id=confirmation.contact_id
    ).filter(detail__confirmation=confirmation.pk):
        row.detail = {**row.detail, **values}
        row.save(update_fields=["detail"])


def build_message(confirmation: ConsentConfirmation) -> EmailMultiAlternatives:
    site = confirmation.connection.site
    site_name = (site.site_name or site.hostname) if site is not None else ""
    url = public_url(site, confirm_path(make_token(confirmation.nonce)))
    context = {
        "site_name": site_name,
        "confirm_url": url,
        "wording": confirmation.wording,
        "days": MAX_AGE.days,
    }
    subject = _("Please confirm you want emails from %(site)s") % {"site": site_name}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("wagtail_xpm/consent/confirm_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[confirmation.contact.email],
    )
    message.attach_alternative(
        render_to_string("wagtail_xpm/consent/confirm_email.html", context), "text/html"
    )
    return message


# --- confirming ------------------------------------------------------------------------------


def pending_state(nonce: str) -> str:
    """What the link's page should offer: ``"confirm"``, ``"used"``, ``"voided"`` or
    ``"invalid"`` (no such confirmation)."""
    confirmation = ConsentConfirmation.objects.filter(nonce=nonce).first()
    return _state(confirmation) or "confirm"


def _state(confirmation: ConsentConfirmation | None) -> str:
    if confirmation is None:
        return "invalid"
    if confirmation.used_at is not None:
        return "used"
    if confirmation.voided_at is not None or confirmation.contact_id is None:
        return "voided"
    return ""


def confirm(nonce: str, request: HttpRequest | None = None) -> str:
    """Confirm once: ``"done"``, or why not (``"used"``, ``"voided"``, ``"invalid"``).

    The contact's row is locked before the confirmation's, in the order an unsubscribe
    takes them (consent/status.py), so the two cannot deadlock or both win.
    """
    found = ConsentConfirmation.objects.filter(nonce=nonce).values_list("contact_id", flat=True)
    contact_ids = list(found[:1])
    if not contact_ids:
        return "invalid"
    with transaction.atomic():
        contact = None
        if contact_ids[0] is not None:
            contact = Contact.objects.select_for_update().filter(pk=contact_ids[0]).first()
        confirmation = ConsentConfirmation.objects.select_for_update().get(nonce=nonce)
        state = _state(confirmation)
        if state:
            return state
        if contact is None:
            return "voided"
        since = contact.unsubscribed_at
        if since is not None and since > confirmation.created_at:
            # Unsubscribed after asking: the later wish wins (the void should have said so).
            ConsentConfirmation.objects.filter(pk=confirmation.pk).update(voided_at=timezone.now())
            return "voided"
        confirmation.used_at = timezone.now()
        confirmation.save(update_fields=["used_at"])
        status.subscribe(
            contact,
            Action.CONFIRMED,
            Actor.PERSON,
            request=request,
            page=confirmation.page,
            wording=confirmation.wording,
            detail={
                "confirmation": confirmation.pk,
                "requested_at": confirmation.created_at.isoformat(),
                "requested_ip_prefix": confirmation.ip_prefix,
            },
            record_unchanged=True,
        )
    return "done"
