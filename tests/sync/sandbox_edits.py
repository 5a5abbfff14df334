"""Edits to the sandbox practice, as a firm's staff would make them in XPM."""

from __future__ import annotations

from wagtail_xpm.sandbox import Sandbox
from wagtail_xpm.sandbox.models import Client, Contact, ContactLink


def now(sandbox: Sandbox):
    return sandbox.clock()


def client_named(sandbox: Sandbox, fragment: str) -> Client:
    matches = [c for c in sandbox.state.clients.values() if fragment in c.name]
    assert matches, f"no sandbox client named like {fragment!r}"
    return matches[0]


def active_clients(sandbox: Sandbox) -> list[Client]:
    return [c for c in sandbox.state.clients.values() if not c.is_deleted]


def change_client(sandbox: Sandbox, client: Client, **changes) -> None:
    for name, value in changes.items():
        setattr(client, name, value)
    sandbox.state.touch_client(client, now(sandbox))


def new_contact(
    sandbox: Sandbox, client: Client, name: str, email: str = "", *, primary: bool = False
) -> Contact:
    contact = Contact(uuid=sandbox.state.new_uuid(), name=name, email=email)
    sandbox.state.add_contact(contact)
    sandbox.state.link_contact(client, contact.uuid, now(sandbox), is_primary=primary)
    return contact


def link(sandbox: Sandbox, client: Client, contact_uuid: str) -> ContactLink:
    return sandbox.state.link_contact(client, contact_uuid, now(sandbox), is_primary=False)


def hard_delete(sandbox: Sandbox, client: Client) -> None:
    """Remove a client from XPM altogether (list results no longer include it)."""
    del sandbox.state.clients[client.uuid]
    sandbox.state.reindex()


def set_custom_value(sandbox: Sandbox, client: Client, field_name: str, value) -> None:
    """A custom value changed along with the client (so the client is listed as modified)."""
    definition = next(d for d in sandbox.state.custom_fields.values() if d.name == field_name)
    client.custom_values[definition.uuid] = value
    sandbox.state.touch_client(client, now(sandbox))


def set_custom_value_only(sandbox: Sandbox, client: Client, field_name: str, value) -> None:
    """A custom value changed in XPM and nothing else: XPM does not touch the client."""
    definition = next(d for d in sandbox.state.custom_fields.values() if d.name == field_name)
    client.custom_values[definition.uuid] = value


def linked_contacts(sandbox: Sandbox, client: Client) -> list[Contact]:
    contacts = [sandbox.state.contacts[link.contact_uuid] for link in client.contacts]
    return [c for c in contacts if not c.is_deleted]
