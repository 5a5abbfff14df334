"""``/_sandbox/``: what a demo user or a browser test needs to see what the website did
(leads and clients it created, call counts) and to arm faults. Not part of XPM."""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from . import contactpages
from .pages import STYLE
from .problems import json_response
from .values import format_datetime

if TYPE_CHECKING:
    from .sandbox import Sandbox

URLS = Map(
    [
        Rule("/_sandbox/", endpoint="index", methods=["GET"]),
        Rule("/_sandbox/leads.json", endpoint="leads", methods=["GET"]),
        Rule("/_sandbox/clients.json", endpoint="clients", methods=["GET"]),
        Rule("/_sandbox/stats.json", endpoint="stats", methods=["GET"]),
        Rule("/_sandbox/faults", endpoint="faults", methods=["GET", "POST"]),
        Rule("/_sandbox/reset-limits", endpoint="reset_limits", methods=["POST"]),
        Rule("/_sandbox/advance", endpoint="advance", methods=["POST"]),
        Rule("/_sandbox/contacts", endpoint="contacts", methods=["GET"]),
        Rule("/_sandbox/contacts.json", endpoint="contacts_json", methods=["GET"]),
        Rule("/_sandbox/contacts/<uuid>/flag", endpoint="contact_flag", methods=["POST"]),
    ],
    strict_slashes=False,
)

CONTROL_STYLE = """
main{max-width:1040px}
table{width:100%;border-collapse:collapse;margin:0 0 24px;font-size:14px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eef2f4;vertical-align:top}
th{color:#5b6b77;font-weight:600}
.counts{display:flex;flex-wrap:wrap;gap:12px;margin:0 0 24px}
.counts div{background:#fff;border-radius:8px;padding:10px 16px;box-shadow:0 1px 4px
rgba(0,40,60,.08)}
.counts b{display:block;font-size:22px}
pre{background:#1e2a33;color:#e6f4fa;padding:14px;border-radius:8px;overflow:auto;
font-size:13px}
h2{font-size:18px;margin:28px 0 10px}
"""


def lead_row(sb: Sandbox, lead: Any) -> dict[str, Any]:
    """A lead as JSON, with names resolved."""
    state = sb.state
    client = state.clients.get(lead.client_uuid)
    contact = state.contacts.get(lead.contact_uuid) if lead.contact_uuid else None
    owner = state.staff.get(lead.owner_uuid)
    category = state.lead_categories.get(lead.category_uuid) if lead.category_uuid else None
    return {
        "uuid": lead.uuid,
        "name": lead.name,
        "description": lead.description,
        "state": lead.state,
        "estimated_value": lead.estimated_value,
        "created_at": lead.created_at.isoformat(),
        "created_via_api": lead.created_via_api,
        "client": {"uuid": client.uuid, "name": client.name} if client else None,
        "contact": (
            {"uuid": contact.uuid, "name": contact.name, "email": contact.email}
            if contact
            else None
        ),
        "owner": {"uuid": owner.uuid, "name": owner.name} if owner else None,
        "category": category.name if category else None,
    }


def client_row(sb: Sandbox, client: Any) -> dict[str, Any]:
    """A client as JSON, with its contact links and custom-field values by name."""
    state = sb.state
    manager = state.staff.get(client.account_manager_uuid or "")
    custom = {
        state.custom_fields[uuid].name: value
        for uuid, value in client.custom_values.items()
        if uuid in state.custom_fields
    }
    return {
        "uuid": client.uuid,
        "name": client.name,
        "email": client.email,
        "is_prospect": client.is_prospect,
        "is_archived": client.is_archived,
        "is_deleted": client.is_deleted,
        "created_via_api": client.created_via_api,
        "created_at": client.created_at.isoformat() if client.created_at else None,
        "modified_at": client.modified_at.isoformat() if client.modified_at else None,
        "account_manager": manager.name if manager else None,
        "business_structure": client.business_structure,
        "contacts": [
            {
                "uuid": link.contact_uuid,
                "name": state.contacts[link.contact_uuid].name,
                "email": state.contacts[link.contact_uuid].email,
                "position": link.position,
                "is_primary": link.is_primary,
            }
            for link in client.contacts
            if link.contact_uuid in state.contacts
        ],
        "custom_fields": custom,
    }


class ControlApp:
    """WSGI app for ``/_sandbox/``."""

    def __init__(self, sandbox: Sandbox, *, on_change: Callable[[], None] = lambda: None) -> None:
        self.sb = sandbox
        self.on_change = on_change

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        request.max_content_length = 1_000_000
        try:
            endpoint, args = URLS.bind_to_environ(environ).match()
            response = getattr(self, f"on_{endpoint}")(request, **args)
        except HTTPException as exc:
            return exc(environ, start_response)
        return response(environ, start_response)

    # -- data ---------------------------------------------------------------------------

    def _recent_leads(self, limit: int | None = None) -> list[dict[str, Any]]:
        with self.sb.lock:
            leads = sorted(
                self.sb.state.leads.values(), key=lambda lead: lead.created_at, reverse=True
            )
            return [lead_row(self.sb, lead) for lead in leads[:limit]]

    def _recent_clients(self, limit: int, via_api: bool) -> list[dict[str, Any]]:
        with self.sb.lock:
            clients = [
                c for c in self.sb.state.clients.values() if c.created_via_api or not via_api
            ]
            clients.sort(
                key=lambda c: (c.created_at is not None, c.created_at, c.seq), reverse=True
            )
            return [client_row(self.sb, c) for c in clients[:limit]]

    def on_leads(self, request: Request) -> Response:
        return json_response(self._recent_leads())

    def on_clients(self, request: Request) -> Response:
        try:
            limit = max(int(request.args.get("limit", "50")), 0)
        except ValueError:
            raise BadRequest("limit must be a number") from None
        via_api = request.args.get("via_api", "").lower() in ("1", "true", "yes")
        return json_response(self._recent_clients(limit, via_api))

    def on_stats(self, request: Request) -> Response:
        sb = self.sb
        with sb.lock:
            counts = sb.state.counts()
        return json_response(
            {
                "practice_name": sb.practice_name,
                "tenant_id": sb.tenant_id,
                "now": sb.clock().isoformat(),
                "counts": counts,
                "api_calls": sb.api_calls,
                "calls_by_endpoint": dict(sb.calls_by_endpoint),
                "rate_limits": sb.limiter.snapshot(),
                "faults": sb.faults.snapshot(),
            }
        )

    # -- knobs --------------------------------------------------------------------------

    def on_faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                data = json.loads(request.get_data() or b"{}")
                if not isinstance(data, dict):
                    raise ValueError("expected a JSON object")
                self.sb.faults.configure(data)
            except (ValueError, TypeError) as exc:
                return json_response({"error": str(exc)}, 400)
        return json_response({"faults": self.sb.faults.snapshot()})

    def on_reset_limits(self, request: Request) -> Response:
        self.sb.reset_rate_limits()
        return json_response({"ok": True})

    def on_advance(self, request: Request) -> Response:
        try:
            data = json.loads(request.get_data() or b"{}")
            seconds = float(data.get("seconds", 0))
        except (ValueError, TypeError, AttributeError) as exc:
            return json_response({"error": str(exc)}, 400)
        now = self.sb.advance(seconds=seconds)
        return json_response({"now": now.isoformat()})

    # -- contacts and their checkboxes (contactpages.py) ---------------------------------

    def on_contacts(self, request: Request) -> Response:
        with self.sb.lock:
            page = contactpages.contacts_page(
                self.sb.state, request.args.get("q", ""), self.sb.practice_name
            )
        return Response(page, content_type="text/html; charset=utf-8")

    def on_contacts_json(self, request: Request) -> Response:
        with self.sb.lock:
            state = self.sb.state
            rows = [
                contactpages.contact_row(state, contact)
                for contact in contactpages.find_contacts(state, request.args.get("q", ""))
            ]
        return json_response(rows)

    def on_contact_flag(self, request: Request, uuid: str) -> Response:
        value = request.form.get("value", "").strip().lower()
        if value not in ("on", "off"):
            raise BadRequest("value must be on or off")
        with self.sb.lock:
            problem = contactpages.set_flag(
                self.sb.state, uuid.strip().lower(), request.form.get("field", ""), value == "on"
            )
        if problem:
            raise BadRequest(problem)
        self.on_change()
        query = request.form.get("q", "")
        return redirect("/_sandbox/contacts" + (f"?{urlencode({'q': query})}" if query else ""))

    # -- the page -----------------------------------------------------------------------

    def on_index(self, request: Request) -> Response:
        sb = self.sb
        with sb.lock:
            counts = sb.state.counts()
        leads = self._recent_leads(20)
        clients = self._recent_clients(20, via_api=True)
        base = request.host_url.rstrip("/")
        count_html = "".join(
            f"<div><b>{value}</b>{escape(name.replace('_', ' '))}</div>"
            for name, value in counts.items()
        )
        count_html += f"<div><b>{sb.api_calls}</b>API calls served</div>"
        lead_rows = (
            "".join(
                "<tr>"
                f"<td>{escape(row['created_at'][:19].replace('T', ' '))}</td>"
                f"<td>{escape(row['name'])}</td>"
                f"<td>{escape(row['client']['name'] if row['client'] else '')}</td>"
                f"<td>{escape((row['contact'] or {}).get('email') or '')}</td>"
                f"<td>{escape(row['owner']['name'] if row['owner'] else '')}</td>"
                f"<td>{escape(row['category'] or '')}</td>"
                "</tr>"
                for row in leads
            )
            or '<tr><td colspan="6">No leads yet.</td></tr>'
        )
        client_rows = (
            "".join(
                "<tr>"
                f"<td>{escape((row['created_at'] or '')[:19].replace('T', ' '))}</td>"
                f"<td>{escape(row['name'])}</td>"
                f"<td>{escape(row['email'] or '')}</td>"
                f"<td>{'prospect' if row['is_prospect'] else 'client'}</td>"
                f"<td>{escape(', '.join(c['name'] for c in row['contacts']))}</td>"
                "</tr>"
                for row in clients
            )
            or '<tr><td colspan="5">No clients created through the API yet.</td></tr>'
        )
        env = "\n".join(f"{key}={value}" for key, value in sb.env_vars(base).items())
        body = (
            f"<h1>{escape(sb.practice_name)}</h1>"
            f'<p class="who">Tenant {escape(sb.tenant_id)} &middot; sandbox time '
            f"{escape(format_datetime(sb.clock()))} UTC</p>"
            f'<div class="counts">{count_html}</div>'
            "<h2>Recent leads</h2><table><tr><th>Created</th><th>Lead</th><th>Client</th>"
            f"<th>Contact email</th><th>Owner</th><th>Category</th></tr>{lead_rows}</table>"
            "<h2>Clients created through the API</h2><table><tr><th>Created</th><th>Name</th>"
            f"<th>Email</th><th>Kind</th><th>Contacts</th></tr>{client_rows}</table>"
            f"<h2>Point a site at this sandbox</h2><pre>{escape(env)}</pre>"
            '<p class="who">JSON: <a href="/_sandbox/leads.json">leads</a> &middot; '
            '<a href="/_sandbox/clients.json?limit=50">clients</a> &middot; '
            '<a href="/_sandbox/stats.json">stats</a> &middot; '
            '<a href="/_sandbox/faults">faults</a> &middot; '
            '<a href="/_sandbox/contacts">contacts and their checkboxes</a></p>'
        )
        if getattr(sb.wsgi_app, "mail", None) is not None:
            body = '<p><a href="/_sandbox/mail/">Sent mail</a> (the mail catcher)</p>' + body
        page = (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(sb.practice_name)} - XPM sandbox</title>"
            f"<style>{STYLE}{CONTROL_STYLE}</style></head><body>"
            '<div class="bar">xero <small>XPM sandbox</small></div>'
            f"<main>{body}</main></body></html>"
        )
        return Response(page, content_type="text/html; charset=utf-8")
