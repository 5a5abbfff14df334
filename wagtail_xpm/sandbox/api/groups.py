"""``clientgroup.api``: list, get, add, members (attribute add/remove), delete (docs/xpm-api.md 9).

Membership shows in detailed client responses, so membership changes bump the clients'
``modified_at``.
"""

from __future__ import annotations

from ..models import ClientGroup
from ..renderers import group_xml
from ..values import parse_flag
from ..xmlin import required, text_of
from ..xmlout import collection, envelope
from .context import ApiContext, ApiError, HandlerResult


def list_groups(ctx: ApiContext) -> HandlerResult:
    """GET list."""
    inner = "".join(group_xml(g) for g in ctx.state.groups.values())
    return envelope(ctx.method_word, collection("Groups", inner))


def get_group(ctx: ApiContext) -> HandlerResult:
    """GET get/{uuid}: the group and its member clients."""
    group = ctx.state.groups.get(ctx.ident)
    if group is None:
        raise ApiError("Invalid group identifier")
    return envelope(ctx.method_word, group_xml(group, ctx.state))


def add_group(ctx: ApiContext) -> HandlerResult:
    """POST add: Name, optional Taxable, optional ClientUUID to put in it."""
    element = ctx.body("Group")
    name = required(element, "Name", "/Group/Name")
    taxable_text = text_of(element, "Taxable")
    try:
        taxable = parse_flag(taxable_text) if taxable_text else False
    except ValueError:
        raise ApiError(f"Invalid Taxable value: {taxable_text}") from None
    client = None
    client_uuid = text_of(element, "ClientUUID")
    if client_uuid:
        client = ctx.state.live_client(client_uuid)
        if client is None:
            raise ApiError("Invalid client identifier")
    group = ClientGroup(
        uuid=ctx.state.new_uuid(), name=name, taxable=taxable, web_id=ctx.state.take_web_id()
    )
    ctx.state.groups[group.uuid] = group
    if client is not None:
        ctx.state.add_group_member(group, client, ctx.now)
    return envelope(ctx.method_word, group_xml(group, ctx.state))


def members(ctx: ApiContext) -> HandlerResult:
    """PUT members: ``<add uuid="..."/>`` and ``<remove uuid="..."/>`` elements."""
    element = ctx.body("Group")
    group = ctx.state.groups.get(required(element, "UUID", "/Group/UUID").lower())
    if group is None:
        raise ApiError("Invalid group identifier")
    operations = []
    for child in element:
        if child.tag not in ("add", "remove"):
            continue
        client = ctx.state.live_client(child.get("uuid"))
        if client is None:
            raise ApiError("Invalid client identifier")
        operations.append((child.tag, client))
    for operation, client in operations:
        if operation == "add":
            ctx.state.add_group_member(group, client, ctx.now)
        else:
            ctx.state.remove_group_member(group, client, ctx.now)
    return envelope(ctx.method_word)


def delete_group(ctx: ApiContext) -> HandlerResult:
    """POST delete."""
    element = ctx.body("Group")
    group = ctx.state.groups.get(required(element, "UUID", "/Group/UUID").lower())
    if group is None:
        raise ApiError("Invalid group identifier")
    ctx.state.delete_group(group, ctx.now)
    return envelope(ctx.method_word)
