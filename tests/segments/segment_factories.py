"""Factories for segment and campaign tests: a practice with chosen client and contact data."""

from __future__ import annotations

import itertools
import uuid
from datetime import date
from typing import Any

from wagtail.models import Page, Site

from wagtail_xpm.models import (
    Contact,
    ContactClientLink,
    FieldMapping,
    PracticeClient,
    XpmConnection,
)

MAPPINGS = [
    ("AccountManager", "account_manager", "Account Manager", "choice", []),
    ("BalanceMonth", "balance_month", "Balance Month", "month", []),
    ("GSTRegistered", "gst_registered", "GST Registered", "boolean", []),
    ("custom:Plan Level", "plan_level", "Plan Level", "choice", ["Gold", "Silver", "Bronze"]),
    ("Groups", "groups", "Client Groups", "list", []),
    ("custom:Annual Fee", "fee", "Annual Fee", "number", []),
    ("custom:Review Date", "review_date", "Review Date", "date", []),
    ("ReferralSource", "referral_source", "Referral Source", "text", []),
]
_hosts = itertools.count(1)
# The "today" of the operator tests, and who is in the practice the `world` fixture builds.
TODAY = date(2025, 6, 10)
EVERYONE = ["ann", "bob", "cy", "dee", "fay", "gus", "hal"]  # eve is archived


def make_connection(site: Site | None = None) -> XpmConnection:
    """A connected practice with the test mappings (no XPM needed)."""
    if site is None:
        site = Site.objects.create(
            hostname=f"practice{next(_hosts)}.example", port=80, root_page=Page.objects.get(depth=1)
        )
    connection = XpmConnection.objects.create(
        site=site, status=XpmConnection.Status.CONNECTED, tenant_name="Test Practice"
    )
    for order, (source, key, label, value_type, choices) in enumerate(MAPPINGS):
        FieldMapping.objects.create(
            connection=connection, source=source, key=key, label=label,
            value_type=value_type, choices=choices, sort_order=order,
        )  # fmt: skip
    return connection


class Practice:
    """Builds PracticeClient / Contact / ContactClientLink rows the way a sync leaves them."""

    def __init__(self, connection: XpmConnection) -> None:
        self.connection = connection

    def client(
        self,
        name: str,
        data: dict[str, Any] | None = None,
        *,
        archived: bool = False,
        deleted: bool = False,
        missing: bool = False,
        prospect: bool = False,
    ) -> PracticeClient:
        return PracticeClient.objects.create(
            connection=self.connection, uuid=str(uuid.uuid4()), name=name, data=data or {},
            is_archived=archived, is_deleted=deleted, is_missing=missing, is_prospect=prospect,
        )  # fmt: skip

    def contact(
        self,
        name: str,
        email: str = "",
        *,
        data: dict[str, Any] | None = None,
        clients: tuple[PracticeClient, ...] | list[PracticeClient] = (),
        primary: PracticeClient | None = None,
        subscribed: bool = True,
        source: str = "xpm",
        is_archived: bool | None = None,
    ) -> Contact:
        clients = list(clients)
        if primary is None and clients:
            primary = clients[0]
        if primary is not None and primary not in clients:
            clients.insert(0, primary)
        if data is None:
            data = dict(primary.data) if primary is not None else {}
        if is_archived is None:
            is_archived = bool(clients) and all(not c.is_active for c in clients)
        contact = Contact.objects.create(
            connection=self.connection, name=name, email=email, data=data,
            primary_client=primary, client_name=primary.name if primary else "",
            xpm_client_id=primary.uuid if primary else "", source=source,
            subscribed=subscribed, is_archived=is_archived,
            xpm_contact_id=str(uuid.uuid4()) if source == "xpm" else "",
        )  # fmt: skip
        for client in clients:
            ContactClientLink.objects.create(
                contact=contact, client=client, is_primary=client == primary
            )
        return contact


def rule(field, op, value=None):
    return (
        {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}
    )
