"""Signed unsubscribe links that never expire and survive SECRET_KEY rotation.

A token is ``django.core.signing.Signer`` over ``{"c": contact id, "m": campaign id}`` with
its own salt. There is no timestamp: a link in a years-old email must still work. Verifying
uses ``SECRET_KEY`` and then ``SECRET_KEY_FALLBACKS`` (Django's own rotation), so rotating
the key keeps old links working as long as the old key stays in the fallbacks. Tokens from
test sends carry ``"t": 1`` and unsubscribe nobody.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ..consent import status

SALT = "wagtail_xpm.campaigns.unsubscribe"


class InvalidUnsubscribeToken(Exception):
    """The link was altered, truncated or signed with a key this site no longer knows."""


@dataclass(frozen=True)
class UnsubscribeRequest:
    contact_id: int | None
    campaign_id: int | None
    test: bool = False


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT)


def make_token(contact_id: int, campaign_id: int | None = None) -> str:
    payload: dict = {"c": contact_id}
    if campaign_id is not None:
        payload["m"] = campaign_id
    return _signer().sign_object(payload)


def make_test_token(campaign_id: int | None = None) -> str:
    return _signer().sign_object({"t": 1, "m": campaign_id})


def read_token(token: str) -> UnsubscribeRequest:
    """Verify and decode a token; raises InvalidUnsubscribeToken."""
    try:
        payload = _signer().unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise InvalidUnsubscribeToken(str(exc)) from None
    if not isinstance(payload, dict):
        raise InvalidUnsubscribeToken("unexpected payload")
    campaign_id = payload.get("m")
    if payload.get("t"):
        return UnsubscribeRequest(contact_id=None, campaign_id=campaign_id, test=True)
    contact_id = payload.get("c")
    if not isinstance(contact_id, int):
        raise InvalidUnsubscribeToken("no contact")
    return UnsubscribeRequest(contact_id=contact_id, campaign_id=campaign_id)


def unsubscribe_path(token: str) -> str:
    return reverse("wagtail_xpm_unsubscribe:unsubscribe", args=[token])


def unsubscribe_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{unsubscribe_path(token)}"


def unsubscribe(request: UnsubscribeRequest, *, one_click: bool = False, http_request=None) -> bool:
    """Unsubscribe the contact named by a verified token, at once; True when it changed.

    Idempotent (a second click changes nothing) and permanent: the sync never sets
    ``subscribed`` back, and pending sends re-check it before each batch. ``one_click``: the
    mail client's RFC 8058 POST rather than the page's button (the ledger says which).
    """
    from ..models import CampaignRecipient, ConsentEvent, Contact

    if request.test or request.contact_id is None:
        return False
    contact = Contact.objects.filter(pk=request.contact_id).first()
    if contact is None:
        return False
    action = (
        ConsentEvent.Action.UNSUBSCRIBED_ONE_CLICK
        if one_click
        else ConsentEvent.Action.UNSUBSCRIBED_LINK
    )
    detail = {"campaign": request.campaign_id} if request.campaign_id is not None else {}
    with transaction.atomic():
        changed = status.unsubscribe(
            contact, action, ConsentEvent.Actor.PERSON, request=http_request, detail=detail
        )
        if request.campaign_id is not None:
            CampaignRecipient.objects.filter(
                campaign_id=request.campaign_id,
                contact_id=request.contact_id,
                unsubscribed_at__isnull=True,
            ).update(unsubscribed_at=timezone.now())
    return changed


def set_subscribed(contact_id: int, subscribed: bool, *, user=None, request=None) -> bool:
    """Unsubscribe or resubscribe from the admin (an editor's decision); True when it changed."""
    from ..models import ConsentEvent, Contact

    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        return False
    Action, Actor = ConsentEvent.Action, ConsentEvent.Actor
    if subscribed:
        return status.subscribe(
            contact, Action.SUBSCRIBED_EDITOR, Actor.USER, user=user, request=request
        )
    return status.unsubscribe(
        contact, Action.UNSUBSCRIBED_EDITOR, Actor.USER, user=user, request=request
    )
