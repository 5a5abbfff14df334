"""Contacts: the paged list, one contact, create + link, update, delete/unlink, and linking
existing contacts to a client (docs/xpm-api.md 5).

A contact may be linked to several clients; Position and IsPrimary belong to the link, so
they are only shown when the request names the client (``?clientUuid=``) or the contact
has exactly one client: the "multi-client" ambiguity the 2023 change addressed.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from ..models import Client, Contact, ContactLink
from ..renderers import contact_xml
from ..values import parse_flag
from ..xmlin import missing, required, text_of
from ..xmlout import collection, el, envelope, stream_envelope
from .context import ApiContext, ApiError, HandlerResult
from .paging import by_seq, paginate

MAX_LINKS_PER_REQUEST = 10
CONTACT_FIELDS = {
    "Name": "name",
    "Salutation": "salutation",
    "Addressee": "addressee",
    "Mobile": "mobile",
    "Email": "email",
    "Phone": "phone",
}


def list_contacts(ctx: ApiContext) -> HandlerResult:
    """GET contacts?pageSize=&pageToken=: non-deleted contacts, no client references."""
    live = (c for c in by_seq(ctx.state.contacts.values()) if not c.is_deleted)
    page = paginate(ctx, live, "client.api/contacts")
    return stream_envelope(
        ctx.method_word,
        "Contacts",
        (contact_xml(c) for c in page.items),
        after=page.links_xml,
    )


def _contact(ctx: ApiContext) -> Contact:
    contact = ctx.state.live_contact(ctx.ident)
    if contact is None:
        raise ApiError("Invalid contact identifier")
    return contact


def _link_for(ctx: ApiContext, contact: Contact, client_uuid: str | None) -> ContactLink | None:
    """The link to show: the named client's, or the only one there is."""
    if client_uuid:
        client = ctx.state.live_client(client_uuid)
        if client is None:
            raise ApiError("Invalid client identifier")
        link = ctx.state.link_of(client, contact.uuid)
        if link is None:
            raise ApiError("Invalid contact identifier")
        return link
    clients = ctx.state.clients_of_contact(contact.uuid)
    if len(clients) == 1:
        return ctx.state.link_of(clients[0], contact.uuid)
    return None


def get_contact(ctx: ApiContext) -> HandlerResult:
    """GET contact/{uuid}[?clientUuid=]."""
    contact = _contact(ctx)
    link = _link_for(ctx, contact, ctx.q("clientUuid"))
    return envelope(ctx.method_word, contact_xml(contact, link))


def _read_primary(element: Element) -> bool | None:
    text = text_of(element, "IsPrimary")
    if not text:
        return None
    try:
        return parse_flag(text)
    except ValueError:
        raise ApiError(f"Invalid IsPrimary value: {text}") from None


def add_contact(ctx: ApiContext) -> HandlerResult:
    """POST contact: create a contact and link it to ``Client/UUID``."""
    element = ctx.body("Contact")
    client_uuid = text_of(element, "Client/UUID")
    if not client_uuid:
        raise missing("/Contact/Client/UUID")
    client = ctx.state.live_client(client_uuid)
    if client is None:
        raise ApiError("Invalid client identifier")
    name = required(element, "Name", "/Contact/Name")
    is_primary = _read_primary(element)
    contact = Contact(uuid=ctx.state.new_uuid(), name=name)
    for tag, attr in CONTACT_FIELDS.items():
        if tag != "Name":
            setattr(contact, attr, text_of(element, tag) or "")
    ctx.state.add_contact(contact)
    link = ctx.state.link_contact(
        client,
        contact.uuid,
        ctx.now,
        position=text_of(element, "Position") or "",
        is_primary=is_primary,
    )
    return envelope(ctx.method_word, contact_xml(contact, link))


def update_contact(ctx: ApiContext) -> HandlerResult:
    """PUT contact/{uuid}: contact fields, plus Position/IsPrimary on one client link."""
    contact = _contact(ctx)
    element = ctx.body("Contact")
    changes: dict[str, str] = {}
    for tag, attr in CONTACT_FIELDS.items():
        value = text_of(element, tag)
        if value is None:
            continue
        if tag == "Name" and not value:
            raise missing("/Contact/Name")
        changes[attr] = value
    is_primary = _read_primary(element)
    position = text_of(element, "Position")
    client_uuid = text_of(element, "Client/UUID") or ctx.q("clientUuid")
    client: Client | None = None
    if client_uuid:
        client = ctx.state.live_client(client_uuid)
        if client is None or ctx.state.link_of(client, contact.uuid) is None:
            raise ApiError("Invalid client identifier")
    else:
        # Link fields can only change through a client; with a single client it is implied.
        clients = ctx.state.clients_of_contact(contact.uuid)
        client = clients[0] if len(clients) == 1 else None
    changed = False
    for attr, value in changes.items():
        if getattr(contact, attr) != value:
            setattr(contact, attr, value)
            changed = True
    if changed:
        ctx.state.touch_contact(contact.uuid, ctx.now)
    link = None
    if client is not None:
        link = ctx.state.link_of(client, contact.uuid)
        if link is not None and (
            (position is not None and position != link.position)
            or (is_primary is not None and is_primary != link.is_primary)
        ):
            link = ctx.state.link_contact(
                client, contact.uuid, ctx.now, position=position, is_primary=is_primary
            )
    return envelope(ctx.method_word, contact_xml(contact, link))


def delete_contact(ctx: ApiContext) -> HandlerResult:
    """DELETE contact/{uuid}[?clientUuid=]: unlink from that client, or delete everywhere.

    A contact left with no client at all is deleted (``IsDeleted`` Yes).
    """
    contact = _contact(ctx)
    client_uuid = ctx.q("clientUuid")
    if client_uuid:
        client = ctx.state.live_client(client_uuid)
        if client is None:
            raise ApiError("Invalid client identifier")
        if not ctx.state.unlink_contact(client, contact.uuid, ctx.now):
            raise ApiError("Invalid contact identifier")
    else:
        for client in ctx.state.clients_of_contact(contact.uuid):
            ctx.state.unlink_contact(client, contact.uuid, ctx.now)
    if not ctx.state.clients_of_contact(contact.uuid):
        contact.is_deleted = True
    return envelope(ctx.method_word, contact_xml(contact))


def link_contacts(ctx: ApiContext) -> HandlerResult:
    """POST client/{uuid}/contacts: link up to ten existing contacts to a client."""
    client = ctx.state.live_client(ctx.ident)
    if client is None:
        raise ApiError("Invalid client identifier")
    element = ctx.body("Client")
    items = element.findall("Contacts/Contact")
    if not items:
        raise missing("/Client/Contacts/Contact")
    if len(items) > MAX_LINKS_PER_REQUEST:
        raise ApiError("Up to 10 contacts can be added to a client per request")
    requested: list[tuple[Contact, str | None, bool | None]] = []
    for item in items:
        uuid = required(item, "UUID", "/Client/Contacts/Contact/UUID")
        contact = ctx.state.live_contact(uuid)
        if contact is None:
            raise ApiError("Invalid contact identifier")
        requested.append((contact, text_of(item, "Position"), _read_primary(item)))
    parts = []
    for contact, position, is_primary in requested:
        link = ctx.state.link_contact(
            client, contact.uuid, ctx.now, position=position, is_primary=is_primary
        )
        parts.append((contact.uuid, link))
    # Report the links as they stand after the whole request (a later primary wins).
    inner = "".join(
        f"<Contact>{el('UUID', uuid)}{el('Position', link.position)}"
        f"<IsPrimary>{'Yes' if link.is_primary else 'No'}</IsPrimary></Contact>"
        for uuid, link in parts
    )
    return envelope(
        ctx.method_word,
        f"<Client>{el('UUID', client.uuid)}{collection('Contacts', inner)}</Client>",
    )
