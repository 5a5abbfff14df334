"""``/_sandbox/contacts``: find a contact and see or tick its checkbox custom fields, as a
firm's staff would on the contact's page in XPM (the demo's "Marketing opt-out").

Changing a value here is what XPM's own screen does: the contact's custom field changes and
nothing else (not its modified time, see api/customfields.py), so the website learns of it
only by reading the contact's custom fields again. No template engine: every value is
escaped here.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from .pages import STYLE

if TYPE_CHECKING:
    from .models import Contact, CustomFieldDefinition
    from .state import PracticeState

LIMIT = 50

CONTACT_STYLE = """
main{max-width:1040px}
table{width:100%;border-collapse:collapse;margin:0 0 24px;font-size:14px;background:#fff}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eef2f4;vertical-align:top}
th{color:#5b6b77;font-weight:600}
form.search{display:flex;gap:8px;margin:0 0 20px}
form.search input{flex:1;font:inherit;padding:8px 10px;border:1px solid #c9d3d9;border-radius:6px}
form.flag{display:inline}
form.flag button{padding:2px 10px;font-size:13px}
.on{color:#8a1c14;font-weight:600}
"""


def checkbox_fields(state: PracticeState) -> list[CustomFieldDefinition]:
    """The definitions a contact can tick: used for contacts, with Boolean values."""
    return sorted(
        (d for d in state.custom_fields.values() if d.use_contact and d.value_element == "Boolean"),
        key=lambda d: d.name.casefold(),
    )


def find_contacts(state: PracticeState, query: str, limit: int = LIMIT) -> list[Contact]:
    """Live contacts whose name or email contains ``query`` (all of them when it is blank)."""
    needle = query.strip().casefold()
    found = []
    for contact in state.contacts.values():
        if contact.is_deleted:
            continue
        text = f"{contact.name}\n{contact.email}".casefold()
        if needle and needle not in text:
            continue
        found.append(contact)
        if len(found) >= limit:
            break
    return found


def contact_row(state: PracticeState, contact: Contact) -> dict[str, Any]:
    """A contact as JSON: its clients and its checkbox fields by name."""
    return {
        "uuid": contact.uuid,
        "name": contact.name,
        "email": contact.email,
        "clients": [c.name for c in state.clients_of_contact(contact.uuid)],
        "checkboxes": {
            d.name: bool(contact.custom_values.get(d.uuid)) for d in checkbox_fields(state)
        },
    }


def contacts_page(state: PracticeState, query: str, practice_name: str) -> str:
    fields = checkbox_fields(state)
    contacts = find_contacts(state, query)
    head = "".join(f"<th>{escape(d.name)}</th>" for d in fields)
    rows = []
    for contact in contacts:
        cells = []
        for definition in fields:
            ticked = bool(contact.custom_values.get(definition.uuid))
            cells.append(
                "<td>"
                f'<span class="{"on" if ticked else ""}">{"Yes" if ticked else "No"}</span> '
                f'<form class="flag" method="post" '
                f'action="/_sandbox/contacts/{escape(contact.uuid)}/flag">'
                f'<input type="hidden" name="field" value="{escape(definition.uuid)}">'
                f'<input type="hidden" name="value" value="{"off" if ticked else "on"}">'
                f'<input type="hidden" name="q" value="{escape(query)}">'
                f'<button type="submit">{"Untick" if ticked else "Tick"}</button></form>'
                "</td>"
            )
        clients = ", ".join(c.name for c in state.clients_of_contact(contact.uuid))
        rows.append(
            "<tr>"
            f"<td>{escape(contact.name)}</td><td>{escape(contact.email)}</td>"
            f"<td>{escape(clients)}</td>{''.join(cells)}</tr>"
        )
    table = (
        "<table><tr><th>Contact</th><th>Email</th><th>Clients</th>"
        f"{head}</tr>{''.join(rows)}</table>"
        if rows
        else "<p>No contact matches.</p>"
    )
    note = (
        "<p>No checkbox custom field applies to contacts in this practice.</p>"
        if not fields
        else ""
    )
    body = (
        f"<h1>Contacts of {escape(practice_name)}</h1>"
        '<p class="who">Tick a checkbox as staff would in XPM. The website sees the change '
        "when its sync next reads the contact's custom fields.</p>"
        '<form class="search" method="get" action="/_sandbox/contacts">'
        f'<input type="search" name="q" value="{escape(query)}" '
        'placeholder="Name or email" aria-label="Name or email">'
        "<button type=submit>Find</button></form>"
        f"{note}{table}"
        f'<p class="who">Showing at most {LIMIT}. <a href="/_sandbox/">Back to the sandbox</a>'
        f' &middot; <a href="/_sandbox/contacts.json?{escape(urlencode({"q": query}))}">JSON</a>'
        "</p>"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Contacts - XPM sandbox</title><style>{STYLE}{CONTACT_STYLE}</style></head>"
        '<body><div class="bar">xero <small>XPM sandbox</small></div>'
        f"<main>{body}</main></body></html>"
    )


def set_flag(state: PracticeState, contact_uuid: str, field_uuid: str, value: bool) -> str:
    """Tick or untick a contact's checkbox field; "" when done, else why not."""
    contact = state.live_contact(contact_uuid)
    if contact is None:
        return "no such contact"
    definition = state.custom_fields.get((field_uuid or "").strip().lower())
    if definition is None or definition not in checkbox_fields(state):
        return "no such checkbox field for contacts"
    if value:
        contact.custom_values[definition.uuid] = True
    else:
        # An unticked checkbox has no value at all (api/customfields.py).
        contact.custom_values.pop(definition.uuid, None)
    return ""
