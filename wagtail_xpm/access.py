"""Who may do what, on which site: the one helper every view, export, command and Slack
answer asks (docs/permissions.md).

A *capability* (view contacts, export contacts, delete enquiries...) is one or more Django
permissions of this app. A group holds a capability on every site (the permission on the
group, as Django stores it) or only on some sites: Wagtail's own ``GroupSitePermission``
rows (group, site, permission), the way Wagtail limits page permissions to a tree and site
settings to a site. The admin's group editor shows both in one table (``groups.py``).

Superusers hold everything everywhere; inactive and anonymous users hold nothing.

* :func:`sites_for` - the sites where a user holds any of some permissions
  (:data:`EVERY_SITE` or a set of site ids);
* :func:`holds` - whether a user holds one of them on a site (or anywhere);
* :func:`require` - the same, raising ``PermissionDenied``;
* :func:`scope` - a queryset cut down to the user's sites;
* :func:`site_id_of` - the site an object of this app belongs to.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from wagtail.models import Site

APP_LABEL = "wagtail_xpm"

# --- the permissions, by name --------------------------------------------------------------

VIEW_CONTACT = "view_contact"
ADD_CONTACT = "add_contact"
CHANGE_CONTACT = "change_contact"
DELETE_CONTACT = "delete_contact"
EXPORT_CONTACT = "export_contact"
VIEW_TAX_NUMBER = "view_tax_number"
VIEW_ENQUIRY = "view_leadsubmission"
CHANGE_ENQUIRY = "change_leadsubmission"
DELETE_ENQUIRY = "delete_leadsubmission"
SEGMENT_PERMISSIONS = ("add_segment", "change_segment", "delete_segment", "view_segment")
CAMPAIGN_PERMISSIONS = ("add_campaign", "change_campaign", "delete_campaign", "view_campaign")
SEND_CAMPAIGN = "send_campaign"
RUN_SYNC = "run_sync"
MANAGE_CONNECTION = "manage_connection"

# What lets someone see people (names, emails, XPM data): member previews, explain, live
# counts by rule, the values offered by the segment builder, recipient lists, test emails
# with a real member's data.
SEE_CONTACTS = (VIEW_CONTACT, CHANGE_CONTACT)
# Sync pages and history: running syncs, or managing the whole connection.
SYNC = (RUN_SYNC, MANAGE_CONNECTION)
# Who may write a record of these models, by model name (the practice choosers of their
# forms offer only those sites).
WRITERS = {
    "segment": SEGMENT_PERMISSIONS,
    "campaign": CAMPAIGN_PERMISSIONS,
    "contact": (ADD_CONTACT, CHANGE_CONTACT),
}


@dataclass(frozen=True)
class Capability:
    """One line of the group editor's table and of docs/permissions.md."""

    key: str
    label: str | Promise
    description: str | Promise
    codenames: tuple[str, ...]


CAPABILITIES: tuple[Capability, ...] = (
    Capability(
        "view_contacts",
        _("View contacts"),
        _(
            "See contacts and their XPM data; preview a segment's members, explain why someone "
            "is in it, see live counts, and send test emails with a real member's data."
        ),
        (VIEW_CONTACT,),
    ),
    Capability(
        "edit_contacts",
        _("Edit contacts"),
        _("Add, change and delete contacts; subscribe and unsubscribe them."),
        (ADD_CONTACT, CHANGE_CONTACT, DELETE_CONTACT),
    ),
    Capability(
        "export_contacts",
        _("Export contacts"),
        _("Download contacts, a segment's members and a campaign's recipients (CSV, Excel)."),
        (EXPORT_CONTACT,),
    ),
    Capability(
        "view_tax_numbers",
        _("See tax numbers"),
        _(
            "See tax numbers (IRD, TFN, ABN...) in full wherever contacts are shown or "
            "exported; without it they are masked to their last three characters."
        ),
        (VIEW_TAX_NUMBER,),
    ),
    Capability(
        "view_enquiries",
        _("View website enquiries"),
        _("Read what visitors sent through the lead forms, and how delivery to XPM went."),
        (VIEW_ENQUIRY,),
    ),
    Capability(
        "handle_enquiries",
        _("Retry enquiries and mark them as spam"),
        _("Send an enquiry to XPM again, or file it as spam."),
        (CHANGE_ENQUIRY,),
    ),
    Capability(
        "delete_enquiries",
        _("Delete website enquiries"),
        _("Delete an enquiry for good (the deletion is logged)."),
        (DELETE_ENQUIRY,),
    ),
    Capability(
        "manage_segments",
        _("Manage segments"),
        _("Create, change and delete segments. Seeing who is in them needs View contacts."),
        SEGMENT_PERMISSIONS,
    ),
    Capability(
        "write_campaigns",
        _("Write campaigns"),
        _("Create, change and delete campaign emails, and send test emails."),
        CAMPAIGN_PERMISSIONS,
    ),
    Capability(
        "send_campaigns",
        _("Send campaigns"),
        _("Send a campaign now or on a schedule, stop and resume it."),
        (SEND_CAMPAIGN,),
    ),
    Capability(
        "run_syncs",
        _("Run syncs"),
        _("Sync now, full sync and dry run; see the sync history."),
        (RUN_SYNC,),
    ),
    Capability(
        "manage_connection",
        _("Manage the connection and mappings"),
        _(
            "Connect and disconnect Xero Practice Manager, choose the practice, edit field "
            "mappings; includes running syncs."
        ),
        (MANAGE_CONNECTION,),
    ),
)
ALL_CODENAMES: tuple[str, ...] = tuple(
    dict.fromkeys(code for capability in CAPABILITIES for code in capability.codenames)
)


# --- sites ---------------------------------------------------------------------------------


class _EverySite:
    """Stands for "every site, present and future" (the permission is not limited)."""

    def __contains__(self, site_id: object) -> bool:
        return True

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "EVERY_SITE"


EVERY_SITE = _EverySite()
SiteIds = frozenset[int] | _EverySite

# Where each model of the app keeps its site (a lookup path ending at the site).
SITE_FIELDS: dict[str, str] = {
    "xpmconnection": "site",
    "xpmsitesettings": "site",
    "contact": "connection__site",
    "contactclientlink": "contact__connection__site",
    "practiceclient": "connection__site",
    "practicestaff": "connection__site",
    "practicecustomfield": "connection__site",
    "practiceclientgroup": "connection__site",
    "practiceleadcategory": "connection__site",
    "fieldmapping": "connection__site",
    "segment": "connection__site",
    "campaign": "connection__site",
    "campaignrecipient": "campaign__connection__site",
    "syncrun": "connection__site",
    "leadsubmission": "site",
}


def site_field(model: type[Model]) -> str:
    if model._meta.label_lower == "wagtailcore.site":
        return "pk"
    try:
        return SITE_FIELDS[model._meta.model_name]
    except KeyError:
        raise LookupError(f"{model._meta.label} has no site in wagtail_xpm.access") from None


def site_id_of(obj: Any) -> int | None:
    """The id of the site ``obj`` belongs to (a Site, or a record of this app)."""
    from wagtail.models import Site

    if obj is None:
        return None
    if isinstance(obj, Site):
        return obj.pk
    if isinstance(obj, int):
        return obj
    *hops, last = site_field(type(obj)).split("__")
    for hop in hops:
        obj = getattr(obj, hop, None)
        if obj is None:
            return None
    return getattr(obj, f"{last}_id", None)


# --- what a user holds ---------------------------------------------------------------------


def _codenames(codenames: str | Iterable[str]) -> tuple[str, ...]:
    return (codenames,) if isinstance(codenames, str) else tuple(codenames)


def _site_grants(user: Any) -> dict[str, frozenset[int]]:
    """The user's per-site grants of this app's permissions, read once per user object."""
    cached = getattr(user, "_wagtail_xpm_site_grants", None)
    if cached is not None:
        return cached
    from wagtail.models import GroupSitePermission

    grants: dict[str, set[int]] = {}
    rows = GroupSitePermission.objects.filter(
        group__user=user, permission__content_type__app_label=APP_LABEL
    ).values_list("permission__codename", "site_id")
    for codename, site_id in rows:
        grants.setdefault(codename, set()).add(site_id)
    frozen = {codename: frozenset(ids) for codename, ids in grants.items()}
    with contextlib.suppress(AttributeError):  # an unusual user object: not remembered
        user._wagtail_xpm_site_grants = frozen
    return frozen


def _active(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def sites_for(user: Any, codenames: str | Iterable[str]) -> SiteIds:
    """The sites where ``user`` holds any of ``codenames`` (this app's permission names)."""
    if not _active(user):
        return frozenset()
    if user.is_superuser:
        return EVERY_SITE
    names = _codenames(codenames)
    if any(user.has_perm(f"{APP_LABEL}.{name}") for name in names):
        return EVERY_SITE
    grants = _site_grants(user)
    return frozenset().union(*(grants.get(name, frozenset()) for name in names))


def holds(user: Any, codenames: str | Iterable[str], site: Any = None) -> bool:
    """Whether ``user`` holds any of ``codenames``: on ``site`` (a Site, a site id or a
    record of this app), or on at least one site when ``site`` is None."""
    sites = sites_for(user, codenames)
    if site is None:
        return bool(sites)
    site_id = site_id_of(site)
    if site_id is None:
        # A record that lost its site (an enquiry whose site was deleted): only people who
        # hold the permission everywhere may see it.
        return sites is EVERY_SITE
    return site_id in sites


def require(user: Any, codenames: str | Iterable[str], site: Any = None) -> None:
    if not holds(user, codenames, site):
        raise PermissionDenied


def scope(
    queryset: QuerySet, user: Any, codenames: str | Iterable[str], field: str | None = None
) -> QuerySet:
    """``queryset`` limited to the sites where ``user`` holds any of ``codenames``."""
    sites = sites_for(user, codenames)
    if sites is EVERY_SITE:
        return queryset
    if not sites:
        return queryset.none()
    path = field or site_field(queryset.model)
    return queryset.filter(**{f"{path}__in": sorted(sites)})


def allowed_sites(user: Any, codenames: str | Iterable[str]) -> QuerySet[Site]:
    """The Site records where ``user`` holds any of ``codenames``."""
    from wagtail.models import Site

    return scope(Site.objects.all(), user, codenames, "pk")


def has_any(user: Any) -> bool:
    """Whether the user holds any permission of this app anywhere."""
    return holds(user, ALL_CODENAMES)
