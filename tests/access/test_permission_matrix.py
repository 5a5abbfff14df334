"""The generated permission matrix: every admin and public URL x seven kinds of user.

The URL configuration is walked (``get_resolver()``), so a new URL cannot be missed: every
URL of the app, of the Slack bot and of the Wagtail screens that show the app's data must be
declared in EXPECTED below (an undeclared one fails), and the rest of Wagtail's own admin
belongs to a declared namespace. URL arguments are filled with site B's records; the roles
are those of ``conftest.py`` (the one-site administrator holds everything on site A only).

For each URL and role the test asserts the declared answer (the login page, a refusal, or
the page) and that the page shows none of the personal data or site data the role may not
see (``forbidden_markers``). URLs that change something are also POSTed by every role that
is refused, and nothing may change. It prints the matrix size.

The matrix is run in two parts on the same records: the app's own URLs (declared one by one
in EXPECTED), which `make test-fast` runs, and the rest (Wagtail's own admin, the ESP webhooks
and Wagtail's public pages), which is ``slow`` and runs in `make test` only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from slackbot.models import SlackUserLink
from wagtail_xpm.models import (
    Campaign,
    CampaignRecipient,
    Contact,
    FieldMapping,
    LeadSubmission,
    Segment,
    SyncRun,
    XpmConnection,
)

pytestmark = pytest.mark.django_db

ROLES = (
    "anonymous",
    "no_admin",
    "editor",
    "campaign_only",
    "contact_viewer",
    "site_admin",
    "superuser",
)

# --- outcomes ------------------------------------------------------------------------------

OK = "ok"  # the page (200), or a redirect into the app (not a refusal)
DENY = "deny"  # 403, 404, 405, or Wagtail's redirect to the dashboard with a message
LOGIN = "login"  # the admin's login page
PUBLIC = "public"  # a public URL: any answer but a server error


@dataclass(frozen=True)
class Declared:
    """What a URL answers each role (``ok`` roles get the page; the rest are refused)."""

    ok: frozenset[str] = frozenset({"superuser"})
    post: bool = False  # also POST it as each refused role: nothing may change
    query: dict = field(default_factory=dict)
    public: bool = False
    post_only: bool = False  # a GET is refused (405) for everyone; the POST is probed


def allow(*roles: str, post: bool = False, query: dict | None = None) -> Declared:
    return Declared(ok=frozenset({*roles, "superuser"}), post=post, query=query or {})


def post_only(*roles: str) -> Declared:
    """An action (``require_POST``): GET answers 405 to everyone signed in."""
    return Declared(ok=frozenset({*roles, "superuser"}), post=True, post_only=True)


# Refused to everyone, the superuser too (nothing to show there for site B, see each line).
NOBODY = Declared(ok=frozenset())


PUBLIC_URL = Declared(ok=frozenset(ROLES), public=True)
SUPERUSER = allow()

# Wagtail's bulk actions: requested for the app's snippet models (deleting site B's record).
BULK = "wagtail_bulk_action"
BULK_MODELS = ("segment", "campaign")

# Site B's practice in the builder's query string (filled in at run time).
BUILDER = {"connection": "B", "definition": json.dumps({"match": "all", "rules": []})}

# The app's URLs and the Wagtail screens that show its data, one by one.
EXPECTED: dict[str, Declared] = {
    # --- the connection (manage the connection on site B: the superuser only) -------------
    "wagtail_xpm:status": allow("site_admin"),
    "wagtail_xpm:connect": post_only(),
    # No Connect was started: refused (400) to all, never a change.
    "wagtail_xpm:oauth_callback": NOBODY,
    "wagtail_xpm:choose_tenant": post_only(),
    "wagtail_xpm:check": post_only(),
    "wagtail_xpm:disconnect": post_only(),
    "wagtail_xpm:javascript_catalog": allow(
        "editor", "campaign_only", "contact_viewer", "site_admin"
    ),  # fmt: skip
    # --- sync ---------------------------------------------------------------------------
    "wagtail_xpm_sync:index": allow("site_admin"),
    "wagtail_xpm_sync:site": SUPERUSER,
    "wagtail_xpm_sync:start": post_only(),
    "wagtail_xpm_sync:progress": SUPERUSER,
    "wagtail_xpm_syncrun:index": allow("site_admin"),
    "wagtail_xpm_syncrun:index_results": allow("site_admin"),
    "wagtail_xpm_syncrun:inspect": SUPERUSER,
    # --- field mappings -----------------------------------------------------------------
    "wagtail_xpm_fieldmapping:index": allow("site_admin"),
    "wagtail_xpm_fieldmapping:index_results": allow("site_admin"),
    "wagtail_xpm_fieldmapping:add": allow("site_admin", post=True),
    "wagtail_xpm_fieldmapping:edit": allow(post=True),
    "wagtail_xpm_fieldmapping:delete": allow(post=True),
    "wagtail_xpm_fieldmapping:history": SUPERUSER,
    "wagtail_xpm_fieldmapping:history_results": SUPERUSER,
    "wagtail_xpm_fieldmapping:usage": SUPERUSER,
    "wagtail_xpm_fieldmapping:reorder": post_only(),
    # --- contacts -----------------------------------------------------------------------
    "wagtail_xpm_contact:index": allow("contact_viewer", "site_admin"),
    "wagtail_xpm_contact:index_results": allow("contact_viewer", "site_admin"),
    "wagtail_xpm_contact:add": allow("site_admin", post=True),
    "wagtail_xpm_contact:edit": allow(post=True),
    "wagtail_xpm_contact:delete": allow(post=True),
    # Wagtail's history and usage views ask for Edit contacts.
    "wagtail_xpm_contact:history": SUPERUSER,
    "wagtail_xpm_contact:history_results": SUPERUSER,
    "wagtail_xpm_contact:usage": SUPERUSER,
    # A background export belongs to its requester alone; nobody here asked for one ("x"):
    # refused to all (tests/admin/test_contact_exports.py checks the requester's own).
    "wagtail_xpm_contact:export_progress": NOBODY,
    "wagtail_xpm_contact:export_status": NOBODY,
    "wagtail_xpm_contact:export_download": NOBODY,
    "wagtail_xpm_contact:inspect": allow("contact_viewer"),
    "wagtail_xpm_contact:open_client": allow("contact_viewer"),
    # One contact's consent ledger as CSV (export_contact on site B).
    "wagtail_xpm_contact:consent_ledger": SUPERUSER,
    # A person's access request (Export contacts) and erasure (delete_contact) on site B.
    "wagtail_xpm_contact:access_request": SUPERUSER,
    "wagtail_xpm_contact:erase": allow(post=True),
    # --- website enquiries --------------------------------------------------------------
    "wagtail_xpm_leadsubmission:index": allow("site_admin"),
    "wagtail_xpm_leadsubmission:index_results": allow("site_admin"),
    "wagtail_xpm_leadsubmission:inspect": SUPERUSER,
    "wagtail_xpm_leadsubmission:delete": allow(post=True),
    "wagtail_xpm_leadsubmission:retry": allow(post=True),
    "wagtail_xpm_leadsubmission:spam": allow(post=True),
    "wagtail_xpm_leadsubmission:open_client": SUPERUSER,
    "wagtail_xpm_leadsubmission:refresh_reference": post_only(),
    # --- segments -----------------------------------------------------------------------
    "wagtail_xpm_segments:list": allow("site_admin"),
    "wagtail_xpm_segments:list_results": allow("site_admin"),
    "wagtail_xpm_segments:add": allow("site_admin", post=True),
    "wagtail_xpm_segments:edit": allow(post=True),
    "wagtail_xpm_segments:delete": allow(post=True),
    "wagtail_xpm_segments:usage": SUPERUSER,
    "wagtail_xpm_segments:history": SUPERUSER,
    "wagtail_xpm_segments:history_results": SUPERUSER,
    "wagtail_xpm_segments:copy": allow(post=True),
    "wagtail_xpm_segments:builder_fields": allow(query=BUILDER),
    "wagtail_xpm_segments:builder_count": allow(query=BUILDER),
    "wagtail_xpm_segments:builder_preview": allow(query=BUILDER),
    "wagtail_xpm_segments:builder_explain": allow(query={**BUILDER, "contact": "B"}),
    "wagtail_xpm_segments:builder_contacts": allow(query=BUILDER),
    "wagtail_xpm_segments:export": SUPERUSER,
    "wagtailsnippetchoosers_wagtail_xpm_segment:choose": allow(
        "editor", "campaign_only", "contact_viewer", "site_admin"
    ),
    "wagtailsnippetchoosers_wagtail_xpm_segment:choose_results": allow(
        "editor", "campaign_only", "contact_viewer", "site_admin"
    ),
    "wagtailsnippetchoosers_wagtail_xpm_segment:chosen": SUPERUSER,
    "wagtailsnippetchoosers_wagtail_xpm_segment:chosen_multiple": allow(
        "editor", "campaign_only", "contact_viewer", "site_admin", query={"id": "B"}
    ),
    # Creating from the chooser is not offered (404 to all).
    "wagtailsnippetchoosers_wagtail_xpm_segment:create": Declared(ok=frozenset(), post=True),
    # --- campaigns ----------------------------------------------------------------------
    "wagtail_xpm_campaigns:list": allow("campaign_only", "site_admin"),
    "wagtail_xpm_campaigns:list_results": allow("campaign_only", "site_admin"),
    "wagtail_xpm_campaigns:add": allow("campaign_only", "site_admin", post=True),
    "wagtail_xpm_campaigns:edit": allow("campaign_only", post=True),
    "wagtail_xpm_campaigns:delete": allow(post=True),
    "wagtail_xpm_campaigns:usage": allow("campaign_only"),
    "wagtail_xpm_campaigns:history": allow("campaign_only"),
    "wagtail_xpm_campaigns:history_results": allow("campaign_only"),
    "wagtail_xpm_campaigns:copy": allow("campaign_only", post=True),
    "wagtail_xpm_campaigns:send": allow("campaign_only", post=True),
    "wagtail_xpm_campaigns:progress": allow("campaign_only"),
    "wagtail_xpm_campaigns:recipients": SUPERUSER,
    "wagtail_xpm_campaigns:contact_subscription": post_only(),
    "wagtail_xpm_campaigns:lift_suppression": post_only(),
    "wagtailsnippetchoosers_wagtail_xpm_campaign:choose": allow(
        "editor", "campaign_only", "contact_viewer", "site_admin"
    ),
    "wagtailsnippetchoosers_wagtail_xpm_campaign:choose_results": allow(
        "editor", "campaign_only", "contact_viewer", "site_admin"
    ),
    "wagtailsnippetchoosers_wagtail_xpm_campaign:chosen": allow("campaign_only"),
    "wagtailsnippetchoosers_wagtail_xpm_campaign:chosen_multiple": allow(
        "editor", "campaign_only", "contact_viewer", "site_admin", query={"id": "B"}
    ),
    "wagtailsnippetchoosers_wagtail_xpm_campaign:create": Declared(ok=frozenset(), post=True),
    # --- the Slack bot's user links (Django permissions on SlackUserLink) ----------------
    "slackbot_userlink:index": SUPERUSER,
    "slackbot_userlink:index_results": SUPERUSER,
    "slackbot_userlink:add": allow(post=True),
    "slackbot_userlink:edit": SUPERUSER,
    "slackbot_userlink:delete": SUPERUSER,
    "slackbot_userlink:history": SUPERUSER,
    "slackbot_userlink:history_results": SUPERUSER,
    "slackbot_userlink:usage": SUPERUSER,
    # --- Wagtail's screens that show the app's data -------------------------------------
    "wagtailforms:index": allow("editor"),
    "wagtailforms:index_results": allow("editor"),
    # Site B's lead form page: its submissions are B's enquiries.
    "wagtailforms:list_submissions": SUPERUSER,
    "wagtailforms:list_submissions_results": SUPERUSER,
    "wagtailforms:delete_submissions": allow(post=True, query={"selected-submissions": "B"}),
    # Site B's XPM settings (Wagtail's per-site settings permission).
    "wagtailsettings:edit": SUPERUSER,
    # The XPM settings have no preview.
    "wagtailsettings:preview_on_edit": NOBODY,
    # The app's snippets have menus of their own: Wagtail's Snippets index sends everyone on.
    "wagtailsnippets:index": NOBODY,
    # --- public ---------------------------------------------------------------------------
    "wagtail_xpm_leads:submit_page": PUBLIC_URL,
    "wagtail_xpm_leads:submit": PUBLIC_URL,
    "wagtail_xpm_unsubscribe:unsubscribe": PUBLIC_URL,
    "wagtail_xpm_leads:confirm_consent": PUBLIC_URL,
    "slackbot:events": PUBLIC_URL,
    BULK: allow("site_admin", post=True),
}
# Two routes sharing a name: declared by route.
BY_ROUTE: dict[str, Declared] = {
    # Without a site: Wagtail opens the settings of a site the user may edit (site A).
    "admin/settings/<slug:app_name>/<slug:model_name>/": allow("site_admin"),
}
# Every tracking webhook django-anymail offers (signed by the ESP; public).
WEBHOOK_NAMESPACE = "wagtail_xpm_webhooks"
# Wagtail's own admin: pages, images, documents, users, sites... None of them is the app's;
# each is still requested by every role and must show none of the markers.
WAGTAIL_NAMESPACES = frozenset({
    "wagtailadmin_pages", "wagtailadmin_workflows", "wagtailimages", "wagtailadmin_reports",
    "wagtaildocs", "wagtailadmin_api", "wagtailusers_users", "wagtailsites", "wagtailusers_groups",
    "wagtailredirects", "wagtailimages_chooser", "wagtaildocs_chooser", "wagtailadmin_collections",
    "wagtailembeds", "wagtailadmin_editing_sessions",
})  # fmt: skip
WAGTAIL_NAMES_PREFIX = ("wagtailadmin_", "wagtaildocs_", "wagtailcore_")

# Unnamed patterns, by route (requested as they are).
UNNAMED = {"admin/test404/": "wagtail", "admin/^.*/$": "wagtail"}
# Wagtail's public pages: the URL requested for each (site A's, as a visitor sees them).
PUBLIC_PAGES = {
    "wagtail_serve": "/contact/",
    "wagtaildocs_serve": "/documents/1/x.pdf",
    "wagtaildocs_authenticate_with_password": "/documents/authenticate_with_password/1/",
    "wagtailcore_authenticate_with_password": "/_util/authenticate_with_password/1/1/",
    "wagtailcore_login": "/_util/login/",
}

DENY_STATUSES = {403, 404, 405}
# Wagtail's "test the 500 page" URL answers 500 on purpose.
INTENDED_ERRORS = {"wagtailadmin_error_test"}
# Requesting these ends the session: every client signs in again afterwards.
SESSION_ENDING = {"wagtailadmin_logout"}


# --- the walk ------------------------------------------------------------------------------


@dataclass
class Route:
    route: str
    name: str | None
    namespace: str
    params: dict[str, str]  # kwarg name -> converter type ("int", "str"...)


def walk(patterns, prefix: str = "", namespaces: tuple[str, ...] = ()):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(
                pattern.url_patterns,
                prefix + str(pattern.pattern),
                namespaces + ((pattern.namespace,) if pattern.namespace else ()),
            )
        elif isinstance(pattern, URLPattern):
            converters = getattr(pattern.pattern, "converters", {})
            params = {
                name: type(converter).__name__.replace("Converter", "").lower()
                for name, converter in converters.items()
            }
            for name in pattern.pattern.regex.groupindex:  # re_path() patterns
                params.setdefault(name, "int")
            name = ":".join((*namespaces, pattern.name)) if pattern.name else None
            yield Route(prefix + str(pattern.pattern), name, ":".join(namespaces), params)


def declared_for(route: Route) -> Declared:
    return BY_ROUTE.get(route.route) or EXPECTED[route.name]


def kind_of(route: Route) -> str:
    """ "app" (declared one by one), "webhook", "wagtail" (Wagtail's own admin) or "page"."""
    if route.name is None:
        return UNNAMED.get(route.route, "undeclared")
    if route.name in PUBLIC_PAGES:
        return "page"
    if route.name in EXPECTED:
        return "app"
    if route.namespace == WEBHOOK_NAMESPACE:
        return "webhook"
    if route.namespace.split(":")[0] in WAGTAIL_NAMESPACES or (
        not route.namespace and route.name.startswith(WAGTAIL_NAMES_PREFIX)
    ):
        return "wagtail"
    return "undeclared"


# --- filling URLs with site B's records ----------------------------------------------------


def records_for(route: Route, firms) -> dict:
    b = firms.b
    by_namespace = {
        "wagtail_xpm_contact": b.contact.pk,
        "wagtail_xpm_segments": b.segment.pk,
        "wagtailsnippetchoosers_wagtail_xpm_segment": b.segment.pk,
        "wagtail_xpm_campaigns": b.campaign.pk,
        "wagtailsnippetchoosers_wagtail_xpm_campaign": b.campaign.pk,
        "wagtail_xpm_leadsubmission": b.enquiry.pk,
        "wagtail_xpm_syncrun": b.run.pk,
        "wagtail_xpm_sync": b.run.pk,
        "wagtail_xpm_fieldmapping": b.mapping.pk,
        "wagtailsettings": b.site.pk,
        "wagtailusers_groups": Group.objects.get(name="Alpha administrators").pk,
        "wagtailsites": b.site.pk,
        "slackbot_userlink": SlackUserLink.objects.get().pk,
    }
    kwargs = {}
    for name, converter in route.params.items():
        if name == "pk" and route.name in (
            "wagtail_xpm_campaigns:contact_subscription",
            "wagtail_xpm_campaigns:lift_suppression",
        ):
            kwargs[name] = b.contact.pk
        elif name == "pk":
            kwargs[name] = by_namespace.get(route.namespace, b.contact_page.pk)
        elif name == "site_id":
            kwargs[name] = b.site.pk
        elif name == "client_pk":
            kwargs[name] = b.client.pk
        elif name in ("page_id", "parent_page_id", "parent_id"):
            kwargs[name] = b.contact_page.pk
        elif name == "app_name":
            kwargs[name] = "wagtail_xpm"
        elif name == "model_name":
            kwargs[name] = "xpmsitesettings"
        elif name.startswith("revision_id_"):
            kwargs[name] = "earliest" if name.endswith("_a") else "latest"
        elif converter in ("int",):
            kwargs[name] = b.contact_page.pk
        else:
            kwargs[name] = "x"
    return kwargs


def urls_of(route: Route, firms) -> list[str]:
    if route.name is None:
        return [] if route.route.startswith(("admin/^", "^")) else ["/" + route.route]
    if route.name in PUBLIC_PAGES:
        return [PUBLIC_PAGES[route.name]]
    if route.name == BULK:
        records = {"segment": firms.b.segment.pk, "campaign": firms.b.campaign.pk}
        return [
            reverse(BULK, args=["wagtail_xpm", model, "delete"]) + f"?id={records[model]}"
            for model in BULK_MODELS
        ]
    return [url_of(route, firms)]


def url_of(route: Route, firms) -> str:
    url = reverse(route.name, kwargs=records_for(route, firms))
    declared = EXPECTED.get(route.name)
    if declared and declared.query:
        b = firms.b
        site_b = {
            "connection": b.connection.pk,
            "contact": b.contact.pk,
            "id": b.segment.pk if "segment" in route.namespace else b.campaign.pk,
            "selected-submissions": b.enquiry.pk,
        }
        values = {
            key: site_b[key] if value == "B" else value for key, value in declared.query.items()
        }
        url = f"{url}?{urlencode(values)}"
    return url


# --- what each role may not see --------------------------------------------------------------


def forbidden_markers(role: str, firms) -> tuple[str, ...]:
    a, b = firms.a, firms.b
    if role == "editor":
        # Wagtail's Editors edit both sites' pages (their names are theirs to see); nothing
        # of the app's data.
        return (*a.markers, *b.markers)
    if role in ("anonymous", "no_admin"):
        return (*a.markers, *b.markers, *b.site_names)
    if role == "campaign_only":
        return (*a.people, *a.visitors, *b.people, *b.visitors)
    if role == "contact_viewer":
        return (*a.visitors, *b.visitors)
    if role == "site_admin":
        return (*b.markers, *b.site_names)
    return ()


def outcome_of(response) -> str:
    status = response.status_code
    if status == 302:
        location = response["Location"]
        if "/login/" in location:
            return LOGIN
        if location in ("/admin/", "/"):
            return DENY
        return OK
    if status in DENY_STATUSES or status == 400:
        return DENY
    if status < 400:
        return OK
    return f"error {status}"


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    return content.decode("utf-8", errors="replace")


def expected_outcome(route: Route, kind: str, role: str) -> set[str]:
    if kind in ("page", "webhook") or (kind == "app" and declared_for(route).public):
        return {OK, DENY, LOGIN}  # public: any answer but a server error
    if kind == "wagtail":
        return {OK, DENY, LOGIN}  # Wagtail's own permissions; only the markers are checked
    declared = declared_for(route)
    if role == "anonymous":
        return {LOGIN}
    if declared.post_only:
        return {DENY, LOGIN} if role == "no_admin" else {DENY}
    if role in declared.ok:
        return {OK}
    if role == "no_admin":
        return {LOGIN, DENY}
    return {DENY}


def snapshot() -> tuple:
    """What a refused POST must not change."""
    return (
        tuple(Contact.objects.order_by("pk").values_list("pk", "name", "email", "subscribed")),
        tuple(Segment.objects.order_by("pk").values_list("pk", "name", "rules")),
        tuple(Campaign.objects.order_by("pk").values_list("pk", "name", "status")),
        tuple(CampaignRecipient.objects.order_by("pk").values_list("pk", "status")),
        tuple(LeadSubmission.objects.order_by("pk").values_list("pk", "status")),
        tuple(FieldMapping.objects.order_by("pk").values_list("pk", "key", "sort_order")),
        tuple(SyncRun.objects.order_by("pk").values_list("pk", "status")),
        tuple(XpmConnection.objects.order_by("pk").values_list("pk", "status", "tenant_id")),
    )


@dataclass
class Matrix:
    """The answers collected, and what went wrong."""

    firms: object
    clients: dict
    markers: dict
    failures: list[str] = field(default_factory=list)
    cells: int = 0
    posts: int = 0
    record: bool = bool(os.environ.get("ACCESS_MATRIX_RECORD"))

    def check(self, route: Route, kind: str, url: str) -> None:
        declared = declared_for(route) if kind == "app" else None
        for role in ROLES:
            response = self.clients[role].get(url)
            self.cells += 1
            got = outcome_of(response)
            if self.record and declared is not None:
                print(f"RECORD {route.name} {role} {got} {response.status_code}")
            wanted = expected_outcome(route, kind, role)
            if got not in wanted and route.name not in INTENDED_ERRORS:
                self.fail(f"GET {url} as {role}: {got} ({response.status_code}), want {wanted}")
            if response.status_code >= 500 and route.name not in INTENDED_ERRORS:
                self.fail(f"GET {url} as {role}: server error {response.status_code}")
            leaked = [m for m in self.markers[role] if m in body_of(response)]
            if leaked:
                self.fail(f"GET {url} as {role} shows {leaked}")
            if declared is not None and declared.post and role != "superuser":
                self.post(url, role, refused=role not in declared.ok)
        if route.name in SESSION_ENDING:
            self.clients = {role: self.firms.client(role) for role in ROLES}

    def post(self, url: str, role: str, *, refused: bool) -> None:
        """An empty POST: refused roles are refused; nobody but the superuser changes a thing
        (an empty form is invalid, and site B's records are out of the others' reach)."""
        before = snapshot()
        response = self.clients[role].post(url, {})
        self.posts += 1
        got = outcome_of(response)
        if refused and got not in ({LOGIN} if role == "anonymous" else {DENY, LOGIN}):
            self.fail(f"POST {url} as {role}: {got} ({response.status_code})")
        if response.status_code >= 500:
            self.fail(f"POST {url} as {role}: server error {response.status_code}")
        if snapshot() != before:
            self.fail(f"POST {url} as {role} changed something")
        leaked = [m for m in self.markers[role] if m in body_of(response)]
        if leaked:
            self.fail(f"POST {url} as {role} shows {leaked}")

    def fail(self, message: str) -> None:
        self.failures.append(message)


def walked_routes() -> list[Route]:
    return list(walk(get_resolver().url_patterns))


def test_every_url_is_declared():
    routes = walked_routes()
    undeclared = [r.route for r in routes if kind_of(r) == "undeclared"]
    assert not undeclared, f"declare these URLs in EXPECTED: {undeclared}"
    missing = set(EXPECTED) - {r.name for r in routes}
    assert not missing, f"declared but gone: {sorted(missing)}"


def run_matrix(firms, settings, kinds: set[str], title: str) -> None:
    """Request every URL of ``kinds`` as every role; print the figures, fail with the list."""
    settings.ALLOWED_HOSTS = ["*"]
    SlackUserLink.objects.create(team_id="T1", slack_user_id="U1", user=firms.users["superuser"])
    routes = [route for route in walked_routes() if kind_of(route) in kinds]
    matrix = Matrix(
        firms=firms,
        clients={role: firms.client(role) for role in ROLES},
        markers={role: forbidden_markers(role, firms) for role in ROLES},
    )
    urls = 0
    for route in routes:
        kind = kind_of(route)
        for url in urls_of(route, firms):
            urls += 1
            matrix.check(route, kind, url)
    print(
        f"\n{title}: {len(routes)} URL patterns walked, {urls} URLs x "
        f"{len(ROLES)} roles = {matrix.cells} GET cells, "
        f"{matrix.posts} POSTs by users other than the superuser"
    )
    assert routes and urls
    assert not matrix.failures, "\n".join(matrix.failures)


def test_every_url_of_the_app_answers_every_role_as_declared(firms, settings):
    run_matrix(firms, settings, {"app"}, "Permission matrix, the app's URLs")


@pytest.mark.slow
def test_wagtails_own_urls_webhooks_and_pages_show_no_role_what_it_may_not_see(firms, settings):
    run_matrix(firms, settings, {"wagtail", "webhook", "page"}, "Permission matrix, the other URLs")
