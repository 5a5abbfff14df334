"""``lead.api``: add, current, list, get, categories (docs/xpm-api.md 8).

A lead must name an existing client and a staff owner; a contact, when given, must be one
of that client's contacts, and a category must be a lead category (not a job category).
"""

from __future__ import annotations

from ..models import Lead, LeadHistoryItem
from ..renderers import category_xml, lead_xml
from ..values import format_decimal, parse_decimal, parse_query_day
from ..xmlin import required, text_of
from ..xmlout import collection, envelope
from .context import ApiContext, ApiError, HandlerResult


def add_lead(ctx: ApiContext) -> HandlerResult:
    """POST add."""
    state = ctx.state
    element = ctx.body("Lead")
    name = required(element, "Name", "/Lead/Name")
    client_uuid = required(element, "ClientUUID", "/Lead/ClientUUID")
    owner_uuid = required(element, "OwnerUUID", "/Lead/OwnerUUID")
    client = state.live_client(client_uuid)
    if client is None:
        raise ApiError("Invalid client identifier")
    owner = state.staff_member(owner_uuid)
    if owner is None:
        raise ApiError("Invalid owner")
    contact_uuid = (text_of(element, "ContactUUID") or "").lower() or None
    if contact_uuid is not None and (
        state.live_contact(contact_uuid) is None or state.link_of(client, contact_uuid) is None
    ):
        raise ApiError("Invalid contact identifier")
    category_uuid = (text_of(element, "CategoryUUID") or "").lower() or None
    if category_uuid is not None and category_uuid not in state.lead_categories:
        raise ApiError("Invalid category identifier")
    value_text = text_of(element, "EstimatedValue")
    estimated = "0"
    if value_text:
        try:
            estimated = format_decimal(parse_decimal(value_text), 0)
        except ValueError:
            raise ApiError(f"Invalid EstimatedValue value: {value_text}") from None
    lead = Lead(
        uuid=state.new_uuid(),
        name=name,
        client_uuid=client.uuid,
        owner_uuid=owner.uuid,
        created_at=ctx.now,
        description=text_of(element, "Description") or "",
        estimated_value=estimated,
        contact_uuid=contact_uuid,
        category_uuid=category_uuid,
        template_uuid=(text_of(element, "TemplateUUID") or "").lower() or None,
        history=[
            LeadHistoryItem(
                detail=f"Created by {state.user_name}", date=ctx.now, staff=state.user_name
            )
        ],
        created_via_api=True,
    )
    state.leads[lead.uuid] = lead
    return envelope(ctx.method_word, lead_xml(lead, state, detailed=True))


def current(ctx: ApiContext) -> HandlerResult:
    """GET current[?detailed=true]: leads in state Current."""
    detailed = ctx.flag("detailed")
    inner = "".join(
        lead_xml(lead, ctx.state, detailed=detailed)
        for lead in ctx.state.leads.values()
        if lead.state == "Current"
    )
    return envelope(ctx.method_word, collection("Leads", inner))


def list_leads(ctx: ApiContext) -> HandlerResult:
    """GET list?from=YYYYMMDD&to=YYYYMMDD[&detailed=true]: leads created in the range."""
    bounds = []
    for name in ("from", "to"):
        text = ctx.q(name)
        if not text:
            raise ApiError(f"The {name} parameter is required (YYYYMMDD)")
        try:
            bounds.append(parse_query_day(text))
        except ValueError:
            raise ApiError(f"Invalid {name} value: {text}") from None
    start, end = bounds
    detailed = ctx.flag("detailed")
    inner = "".join(
        lead_xml(lead, ctx.state, detailed=detailed)
        for lead in ctx.state.leads.values()
        if start <= lead.created_at.date() <= end
    )
    return envelope(ctx.method_word, collection("Leads", inner))


def get_lead(ctx: ApiContext) -> HandlerResult:
    """GET get/{uuid}: the detailed lead."""
    lead = ctx.state.leads.get(ctx.ident)
    if lead is None:
        raise ApiError("Invalid lead identifier")
    return envelope(ctx.method_word, lead_xml(lead, ctx.state, detailed=True))


def categories(ctx: ApiContext) -> HandlerResult:
    """GET categories: lead categories."""
    inner = "".join(category_xml(c) for c in ctx.state.lead_categories.values())
    return envelope(ctx.method_word, collection("Categories", inner))
