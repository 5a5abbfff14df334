"""The ``leads`` section of the xpm_config document (docs/contracts.md 4.3): owner and category.

``{"owner": "John Smith", "category": "Website"}``: each given by name (or, for the owner,
email) or by UUID, as the firm would pick them in the admin. Import resolves them against the
practice's staff and lead categories (read from XPM when the local lists are empty or do not
know the name) and stores the UUIDs in the site's ``XpmSiteSettings``; export writes the
names back (the UUID when a name is shared by two records, so the document re-imports to the
same choice).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from ..connection.mirrors import categories as category_mirror
from ..connection.mirrors import staff as staff_mirror
from ..models import PracticeLeadCategory, PracticeStaff, XpmConnection, XpmSiteSettings
from ..xpm.client import XpmClient
from ..xpm.errors import XpmError
from . import reference

logger = logging.getLogger(__name__)

#: Builds the XPM client for a connection (the caller's: ``services.client_for`` in the app).
ClientFactory = Callable[[XpmConnection], XpmClient]


@dataclass(frozen=True)
class LeadChoices:
    """The resolved section: what to store (UUIDs), with names for messages.

    ``pending`` holds entries that could not be checked because the site is not connected
    and knows no staff (or categories) yet: they are kept as given and applied once it is
    (see :func:`apply_pending`).
    """

    owner_uuid: str | None = None
    owner_name: str = ""
    category_uuid: str | None = None
    category_name: str = ""
    pending: dict = field(default_factory=dict)


def refresh_if_unknown(
    connection: XpmConnection, section: dict, *, client_factory: ClientFactory
) -> None:
    """Read staff / lead categories from XPM when the local copy cannot answer ``section``.

    Import runs offline as well: when XPM cannot be reached the local lists are used as
    they are (and an unknown name is reported as such).
    """
    if not connection.is_usable:
        return
    try:
        if section.get("owner") and not _resolves(
            reference.resolve_owner, connection, section["owner"]
        ):
            staff_mirror.refresh(connection, client_factory)
        if section.get("category") and not _resolves(
            reference.resolve_category, connection, section["category"]
        ):
            category_mirror.refresh(connection, client_factory)
    except XpmError as exc:
        logger.info("Could not read staff or lead categories from XPM: %s", exc)


def _resolves(resolver, connection: XpmConnection, value: str) -> bool:
    try:
        resolver(connection, value)
    except reference.UnknownReference:
        return False
    return True


def resolve(connection: XpmConnection, section: dict) -> tuple[LeadChoices, list[tuple[str, str]]]:
    """Resolve a validated section; returns the choices and (path, message) errors."""
    errors: list[tuple[str, str]] = []
    pending: dict[str, str] = {}
    owner = category = None
    if section.get("owner"):
        if _cannot_check(connection, PracticeStaff):
            pending["owner"] = section["owner"]
        else:
            try:
                owner = reference.resolve_owner(connection, section["owner"])
            except reference.UnknownReference as exc:
                errors.append(("leads.owner", f"{exc} in this practice's XPM staff"))
    if section.get("category"):
        if _cannot_check(connection, PracticeLeadCategory):
            pending["category"] = section["category"]
        else:
            try:
                category = reference.resolve_category(connection, section["category"])
            except reference.UnknownReference as exc:
                errors.append(("leads.category", f"{exc} among XPM's lead categories"))
    return (
        LeadChoices(
            owner_uuid=owner.uuid if owner else None,
            owner_name=owner.name if owner else "",
            category_uuid=category.uuid if category else None,
            category_name=category.name if category else "",
            pending=pending,
        ),
        errors,
    )


def _cannot_check(connection: XpmConnection, model) -> bool:
    """A site not connected yet, with nothing mirrored: names cannot be checked now."""
    return not connection.is_usable and not model.objects.filter(connection=connection).exists()


def apply(connection: XpmConnection, choices: LeadChoices) -> bool:
    """Store the choices in the site's settings (and what must wait in the connection's
    ``config_extras``); True when something changed. The caller holds the connection row."""
    site_settings = XpmSiteSettings.for_site(connection.site)
    changed = []
    if choices.owner_uuid and site_settings.lead_owner_uuid != choices.owner_uuid:
        site_settings.lead_owner_uuid = choices.owner_uuid
        changed.append("lead_owner_uuid")
    if choices.category_uuid and site_settings.lead_category_uuid != choices.category_uuid:
        site_settings.lead_category_uuid = choices.category_uuid
        changed.append("lead_category_uuid")
    if changed:
        site_settings.save(update_fields=changed)
    extras = dict(connection.config_extras or {})
    waiting = dict(extras.get("leads") or {})
    for key in ("owner", "category"):
        if getattr(choices, f"{key}_uuid"):
            waiting.pop(key, None)  # decided now
    waiting.update(choices.pending)
    before = extras.get("leads")
    if waiting:
        extras["leads"] = waiting
    else:
        extras.pop("leads", None)
    if extras.get("leads") != before:
        connection.config_extras = extras
        connection.save(update_fields=["config_extras", "updated_at"])
        return True
    return bool(changed)


def apply_pending(connection: XpmConnection, *, client_factory: ClientFactory) -> bool:
    """Apply a section an import had to keep unchecked, now that names can be resolved.

    Entries that still match nothing stay waiting (and the admin shows no owner yet).
    """
    waiting = dict((connection.config_extras or {}).get("leads") or {})
    if not waiting or not connection.is_usable:
        return False
    refresh_if_unknown(connection, waiting, client_factory=client_factory)
    choices, errors = resolve(connection, waiting)
    if errors:
        logger.warning("Lead settings from the config document not applied: %s", errors)
    return apply(connection, choices)


def export(connection: XpmConnection, legacy: dict | None = None) -> dict[str, str]:
    """The site's lead owner and category as the document names them.

    ``legacy`` is a section an older import kept unresolved (``config_extras``); its
    entries fill in what the settings do not have yet.
    """
    site_settings = XpmSiteSettings.for_site(connection.site)
    section = dict(legacy or {})
    if site_settings.lead_owner_uuid:
        section["owner"] = _name_or_uuid(
            PracticeStaff.objects.filter(connection=connection), site_settings.lead_owner_uuid
        )
    if site_settings.lead_category_uuid:
        section["category"] = _name_or_uuid(
            PracticeLeadCategory.objects.filter(connection=connection),
            site_settings.lead_category_uuid,
        )
    return {key: section[key] for key in ("owner", "category") if section.get(key)}


def _name_or_uuid(queryset, uuid: str) -> str:
    row = queryset.filter(uuid__iexact=uuid).first()
    if row is None or not row.name:
        return uuid
    current = queryset.filter(is_current=True)
    namesakes = [r for r in current if reference.same_name(r.name, row.name)]
    return row.name if len(namesakes) <= 1 else uuid
