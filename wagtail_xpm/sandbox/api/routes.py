"""The route table: HTTP method + path pattern -> handler, accepted scopes, api-method.

Matching is case-insensitive on every literal segment (``client.api/PAGED-LIST`` works),
as docs/xpm-api.md 14.1 asks; ``{id}`` matches one path segment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..scopes import BROAD, BROAD_READ, CLIENT_READ, CLIENT_WRITE, STAFF_READ
from ..xmlout import api_method_name
from . import clients, contacts, customfields, groups, leads, staff
from .context import ApiContext, HandlerResult

Handler = Callable[[ApiContext], HandlerResult]


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint."""

    http_method: str
    pattern: tuple[str, ...]
    handler: Handler
    scopes: frozenset[str]
    api_method: str

    @property
    def template(self) -> str:
        """``client.api/get/{id}/customfield``: the key of ``calls_by_endpoint``."""
        return "/".join(self.pattern)

    def match(self, segments: list[str]) -> tuple[str, ...] | None:
        if len(segments) != len(self.pattern):
            return None
        params = []
        for want, got in zip(self.pattern, segments, strict=True):
            if want == "{id}":
                if not got:
                    return None
                params.append(got)
            elif want != got.lower():
                return None
        return tuple(params)


def _route(
    http_method: str, path: str, handler: Handler, scopes: frozenset[str], api_method: str = ""
) -> Route:
    pattern = tuple(path.split("/"))
    return Route(http_method, pattern, handler, scopes, api_method or api_method_name(pattern[1]))


ROUTES: tuple[Route, ...] = (
    _route("GET", "client.api/list", clients.list_clients, CLIENT_READ),
    _route("GET", "client.api/paged-list", clients.paged_list, CLIENT_READ),
    _route("GET", "client.api/search", clients.search, CLIENT_READ),
    _route("GET", "client.api/get/{id}", clients.get_client, CLIENT_READ),
    _route("POST", "client.api/add", clients.add_client, CLIENT_WRITE),
    _route("PUT", "client.api/update", clients.update_client, CLIENT_WRITE),
    _route("PUT", "client.api/archive", clients.archive_client, CLIENT_WRITE),
    _route("POST", "client.api/delete", clients.delete_client, CLIENT_WRITE),
    _route("GET", "client.api/contacts", contacts.list_contacts, CLIENT_READ),
    _route("POST", "client.api/contact", contacts.add_contact, CLIENT_WRITE),
    _route("GET", "client.api/contact/{id}", contacts.get_contact, CLIENT_READ),
    _route("PUT", "client.api/contact/{id}", contacts.update_contact, CLIENT_WRITE),
    _route("DELETE", "client.api/contact/{id}", contacts.delete_contact, CLIENT_WRITE),
    _route(
        "POST", "client.api/client/{id}/contacts", contacts.link_contacts, CLIENT_WRITE, "Contacts"
    ),
    _route(
        "GET",
        "client.api/get/{id}/customfield",
        customfields.get_client_values,
        CLIENT_READ,
        "CustomField",
    ),
    _route(
        "PUT",
        "client.api/update/{id}/customfield",
        customfields.update_client_values,
        CLIENT_WRITE,
        "CustomField",
    ),
    _route(
        "GET",
        "client.api/contact/{id}/customfield",
        customfields.get_contact_values,
        CLIENT_READ,
        "CustomField",
    ),
    _route(
        "PUT",
        "client.api/contact/{id}/customfield",
        customfields.update_contact_values,
        CLIENT_WRITE,
        "CustomField",
    ),
    _route("GET", "customfield.api/definition", customfields.definitions, BROAD_READ),
    _route("GET", "customfield.api/get/{id}", customfields.get_definition, BROAD_READ),
    _route("GET", "clientgroup.api/list", groups.list_groups, CLIENT_READ),
    _route("GET", "clientgroup.api/get/{id}", groups.get_group, CLIENT_READ),
    _route("POST", "clientgroup.api/add", groups.add_group, CLIENT_WRITE),
    _route("PUT", "clientgroup.api/members", groups.members, CLIENT_WRITE),
    _route("POST", "clientgroup.api/delete", groups.delete_group, CLIENT_WRITE),
    _route("GET", "staff.api/list", staff.list_staff, STAFF_READ),
    _route("GET", "staff.api/get/{id}", staff.get_staff, STAFF_READ),
    _route("GET", "category.api/list", staff.job_categories, BROAD_READ),
    # lead.api is not in the official OAS: assume the broad scope (docs/xpm-api.md 1.5).
    _route("POST", "lead.api/add", leads.add_lead, BROAD),
    _route("GET", "lead.api/current", leads.current, BROAD_READ),
    _route("GET", "lead.api/list", leads.list_leads, BROAD_READ),
    _route("GET", "lead.api/get/{id}", leads.get_lead, BROAD_READ),
    _route("GET", "lead.api/categories", leads.categories, BROAD_READ),
)


def resolve(
    http_method: str, segments: list[str]
) -> tuple[Route | None, tuple[str, ...], list[str]]:
    """The matching route and its identifiers; otherwise the methods the path allows."""
    allowed: list[str] = []
    for route in ROUTES:
        params = route.match(segments)
        if params is None:
            continue
        if route.http_method == http_method:
            return route, params, []
        allowed.append(route.http_method)
    return None, (), allowed
