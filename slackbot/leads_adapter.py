"""The one place the bot touches the website-leads feature (its models and site settings).

``status`` reports waiting and failed enquiries; ``staff`` can make someone the lead owner.
When the leads feature is not installed these degrade to "not available" instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Q

from wagtail_xpm.models import PracticeStaff, XpmSiteSettings

if TYPE_CHECKING:
    from wagtail.models import Site

    from wagtail_xpm.models import XpmConnection

OWNER_FIELD = "lead_owner_uuid"


@dataclass(frozen=True)
class LeadCounts:
    waiting: int
    failed: int


def _submission_model() -> Any | None:
    try:
        from wagtail_xpm.models import LeadSubmission
    except ImportError:  # the leads feature is optional for the bot
        return None
    return LeadSubmission


def counts(site: Site, connection: XpmConnection | None) -> LeadCounts | None:
    """Enquiries still on their way to XPM (pending or being sent) and failed ones."""
    model = _submission_model()
    if model is None:
        return None
    where = Q(site=site)
    if connection is not None:
        where |= Q(connection=connection)
    rows = model.objects.filter(where)
    waiting = rows.filter(status__in=["pending", "sending"]).count()
    failed = rows.filter(status="failed").count()
    return LeadCounts(waiting=waiting, failed=failed)


def owner_supported() -> bool:
    """Whether the site settings have a lead owner to set."""
    return any(f.name == OWNER_FIELD for f in XpmSiteSettings._meta.get_fields())


def owner_uuid(site: Site) -> str:
    if not owner_supported():
        return ""
    return str(getattr(XpmSiteSettings.for_site(site), OWNER_FIELD, "") or "")


def owner_name(site: Site, connection: XpmConnection | None) -> str:
    uuid = owner_uuid(site)
    if not uuid:
        return ""
    staff = PracticeStaff.objects.filter(connection=connection, uuid__iexact=uuid).first()
    return staff.name if staff else uuid


def set_owner(site: Site, staff: PracticeStaff) -> None:
    """Make ``staff`` the owner of website leads for ``site``.

    Enquiries that failed for want of an owner are picked up by the leads sweeper (every
    two minutes), exactly as after a change in the admin.
    """
    if not owner_supported():
        raise RuntimeError("Website leads are not available on this site.")
    site_settings = XpmSiteSettings.for_site(site)
    setattr(site_settings, OWNER_FIELD, staff.uuid)
    site_settings.save(update_fields=[OWNER_FIELD])
