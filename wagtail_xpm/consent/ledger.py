"""Writing the consent ledger: one ``ConsentEvent`` row per change of marketing status."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.http import HttpRequest

from ..models import ConsentEvent, Contact, email_key

Action = ConsentEvent.Action
Actor = ConsentEvent.Actor


def ip_prefix(request: HttpRequest | None) -> str:
    """The request's address with the host part dropped: IPv4 to its /24, IPv6 to its /48.

    Enough to show where consent came from, not enough to identify a household.
    """
    return prefix_of((request.META.get("REMOTE_ADDR") if request is not None else "") or "")


def prefix_of(raw: str | None) -> str:
    """``ip_prefix`` of an address kept earlier (a form submission is processed by a task,
    after the visitor's request: its ``remote_addr`` is what is left of it)."""
    try:
        address = ipaddress.ip_address((raw or "").strip())
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def record(
    contact: Contact,
    action: str,
    *,
    subscribed: bool,
    actor: str,
    user=None,
    request: HttpRequest | None = None,
    page=None,
    wording: str = "",
    detail: dict[str, Any] | None = None,
    address: str | None = None,
) -> ConsentEvent:
    """Add one row to ``contact``'s ledger; ``subscribed`` is their status after the change.

    The IP prefix is the request's, or that of ``address`` when there is no request.
    """
    return ConsentEvent.objects.create(
        connection_id=contact.connection_id,
        contact=contact,
        email_key=email_key(contact.email),
        action=action,
        subscribed=subscribed,
        actor=actor,
        user=user if getattr(user, "is_authenticated", False) else None,
        page=page,
        wording=wording or "",
        ip_prefix=ip_prefix(request) if request is not None else prefix_of(address),
        detail=detail or {},
    )
