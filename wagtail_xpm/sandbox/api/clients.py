"""``client.api``: list, paged-list, search, get, add, update, archive, delete (docs/xpm-api.md 4).

Emulator decisions (docs/xpm-api.md 16 leaves them open):

* ``list`` returns every client, archived and deleted-flagged ones included, each with its
  ``IsArchived``/``IsDeleted`` flags; the client must filter.
* ``delete`` flags the client deleted (``IsDeleted`` Yes) and bumps ``modified_at``, so an
  incremental sync sees the deletion; ``get`` still returns it, flagged. ``search``,
  ``paged-list``, new contacts and leads treat it as gone.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from ..models import Client, Contact
from ..renderers import ClientRenderer
from ..values import parse_flag, parse_query_datetime
from ..xmlin import missing, required, text_of
from ..xmlout import el, envelope, stream_envelope
from .clientfields import apply_changes, read_client_changes
from .context import ApiContext, ApiError, HandlerResult
from .paging import by_seq, paginate


def list_clients(ctx: ApiContext) -> HandlerResult:
    """GET list[?detailed=true][&modifiedsince=yyyy-MM-ddTHH:mm:ss] (streamed)."""
    detailed = ctx.flag("detailed")
    since_text = ctx.q("modifiedsince")
    since = None
    if since_text:
        try:
            since = parse_query_datetime(since_text)
        except ValueError:
            raise ApiError(f"Invalid modifiedsince value: {since_text}") from None
    clients = [
        c
        for c in ctx.state.clients.values()
        if since is None or (c.modified_at is not None and c.modified_at >= since)
    ]
    renderer = ClientRenderer(ctx.state)
    return stream_envelope(
        ctx.method_word,
        "Clients",
        (renderer.render(c, detailed=detailed) for c in clients),
    )


def paged_list(ctx: ApiContext) -> HandlerResult:
    """GET paged-list?pageSize=&pageToken=: live clients, base fields only."""
    live = (c for c in by_seq(ctx.state.clients.values()) if not c.is_archived and not c.is_deleted)
    page = paginate(ctx, live, "client.api/paged-list")
    renderer = ClientRenderer(ctx.state)
    return stream_envelope(
        ctx.method_word,
        "Clients",
        (renderer.render(c, base_only=True) for c in page.items),
        after=page.links_xml,
    )


def search(ctx: ApiContext) -> HandlerResult:
    """GET search?query=: case-insensitive substring of the client name."""
    query = (ctx.q("query") or "").strip().casefold()
    if not query:
        raise ApiError(missing("query").args[0])
    detailed = ctx.flag("detailed")
    found = [
        c for c in ctx.state.clients.values() if not c.is_deleted and query in c.name.casefold()
    ]
    renderer = ClientRenderer(ctx.state)
    return stream_envelope(
        ctx.method_word, "Clients", (renderer.render(c, detailed=detailed) for c in found)
    )


def _detailed(ctx: ApiContext, client: Client, *, web_url: bool = False) -> str:
    renderer = ClientRenderer(ctx.state)
    prefix = el("WebUrl", renderer.web_url(client)) if web_url else ""
    return envelope(ctx.method_word, prefix + renderer.render(client, detailed=True))


def get_client(ctx: ApiContext) -> HandlerResult:
    """GET get/{uuid}: the detailed client, with the Response-level WebUrl."""
    client = ctx.state.clients.get(ctx.ident)
    if client is None:
        raise ApiError("Invalid client identifier")
    return _detailed(ctx, client, web_url=True)


def add_client(ctx: ApiContext) -> HandlerResult:
    """POST add: a new client and its new contacts; duplicates are allowed, as in XPM."""
    element = ctx.body("Client")
    name = required(element, "Name", "/Client/Name")
    changes = read_client_changes(element, ctx.state)
    new_contacts: list[tuple[Contact, str, bool]] = []
    contacts_el = element.find("Contacts")
    for contact_el in contacts_el.findall("Contact") if contacts_el is not None else []:
        contact_name = required(contact_el, "Name", "/Client/Contacts/Contact/Name")
        primary_text = text_of(contact_el, "IsPrimary")
        try:
            primary = parse_flag(primary_text) if primary_text else False
        except ValueError:
            raise ApiError(f"Invalid IsPrimary value: {primary_text}") from None
        contact = Contact(
            uuid=ctx.state.new_uuid(),
            name=contact_name,
            salutation=text_of(contact_el, "Salutation") or "",
            addressee=text_of(contact_el, "Addressee") or "",
            mobile=text_of(contact_el, "Mobile") or "",
            email=text_of(contact_el, "Email") or "",
            phone=text_of(contact_el, "Phone") or "",
        )
        new_contacts.append((contact, text_of(contact_el, "Position") or "", primary))
    # "If multiple contacts defined, method will interpret last primary client as Primary";
    # with none marked, the first contact is the primary one.
    primary_index = max((i for i, (_, _, primary) in enumerate(new_contacts) if primary), default=0)
    client = Client(uuid=ctx.state.new_uuid(), name=name, created_via_api=True)
    apply_changes(client, changes)
    ctx.state.add_client(client, ctx.now)
    for index, (contact, position, _) in enumerate(new_contacts):
        ctx.state.add_contact(contact)
        ctx.state.link_contact(
            client, contact.uuid, ctx.now, position=position, is_primary=index == primary_index
        )
    return _detailed(ctx, client)


def _client_from_body(ctx: ApiContext) -> tuple[Client, Element]:
    element = ctx.body("Client")
    uuid = required(element, "UUID", "/Client/UUID")
    client = ctx.state.live_client(uuid)
    if client is None:
        raise ApiError("Invalid client identifier")
    return client, element


def update_client(ctx: ApiContext) -> HandlerResult:
    """PUT update: present elements overwrite, empty ones clear, absent ones stay."""
    client, element = _client_from_body(ctx)
    changes = read_client_changes(element, ctx.state, client_uuid=client.uuid)
    archived = text_of(element, "IsArchived")
    if archived:
        try:
            changes["is_archived"] = parse_flag(archived)
        except ValueError:
            raise ApiError(f"Invalid IsArchived value: {archived}") from None
    if apply_changes(client, changes):
        ctx.state.touch_client(client, ctx.now)
    return _detailed(ctx, client)


def archive_client(ctx: ApiContext) -> HandlerResult:
    """PUT archive: returns the detailed client."""
    client, _ = _client_from_body(ctx)
    if not client.is_archived:
        client.is_archived = True
        ctx.state.touch_client(client, ctx.now)
    return _detailed(ctx, client)


def delete_client(ctx: ApiContext) -> HandlerResult:
    """POST delete: flags the client deleted; returns bare status."""
    client, _ = _client_from_body(ctx)
    client.is_deleted = True
    ctx.state.touch_client(client, ctx.now)
    return envelope(ctx.method_word)
