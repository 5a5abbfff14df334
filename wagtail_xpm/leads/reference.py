"""The practice's lead owners (staff) and lead categories, as the lead settings offer them.

Both are mirrored locally (``PracticeStaff``, ``PracticeLeadCategory``) so the settings page
and the config document never wait on XPM; "Refresh from XPM" reads them again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import PracticeLeadCategory, PracticeStaff, XpmConnection
from ..xpm.client import XpmClient
from ..xpm.types import XpmStaff

UUID_RE = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE
)


def mirror_staff(connection: XpmConnection, staff: Sequence[XpmStaff]) -> int:
    """Store XPM's staff list as the connection's ``PracticeStaff`` rows (members XPM no
    longer lists are kept, marked not current); returns the staff count."""
    now = timezone.now()
    with transaction.atomic():
        existing = {s.uuid: s for s in PracticeStaff.objects.filter(connection=connection)}
        for member in staff:
            row = existing.pop(member.uuid, None) or PracticeStaff(
                connection=connection, uuid=member.uuid
            )
            row.name = member.name or ""
            row.email = member.email or ""
            row.phone = member.phone or member.mobile or ""
            row.is_current = True
            row.last_seen_at = now
            row.save()
        PracticeStaff.objects.filter(pk__in=[s.pk for s in existing.values()]).update(
            is_current=False
        )
    return len(staff)


def refresh_staff(
    connection: XpmConnection, client_factory: Callable[[XpmConnection], XpmClient]
) -> int:
    """Mirror ``staff.api/list`` (lead owners are picked from it); returns the staff count."""
    client = client_factory(connection)
    try:
        staff = client.list_staff()
    finally:
        client.close()
    return mirror_staff(connection, staff)


def refresh_lead_categories(
    connection: XpmConnection, client_factory: Callable[[XpmConnection], XpmClient]
) -> int:
    """Mirror ``lead.api/categories``; returns how many categories XPM has."""
    client = client_factory(connection)
    try:
        categories = client.lead_categories()
    finally:
        client.close()
    now = timezone.now()
    with transaction.atomic():
        seen = []
        for category in categories:
            row, _ = PracticeLeadCategory.objects.update_or_create(
                connection=connection,
                uuid=category.uuid,
                defaults={"name": category.name or "", "is_current": True, "last_seen_at": now},
            )
            seen.append(row.pk)
        PracticeLeadCategory.objects.filter(connection=connection).exclude(pk__in=seen).update(
            is_current=False
        )
    return len(categories)


def staff_choices(connection: XpmConnection | None, current: str = "") -> list[tuple[str, str]]:
    """(uuid, "Name <email>") for current staff; a stored owner no longer listed is kept."""
    if connection is None:
        rows = []
    else:
        rows = list(PracticeStaff.objects.filter(connection=connection, is_current=True))
    choices = [(s.uuid, staff_label(s)) for s in rows]
    if current and current.lower() not in {s.uuid.lower() for s in rows}:
        gone = (
            PracticeStaff.objects.filter(connection=connection, uuid__iexact=current).first()
            if connection
            else None
        )
        if gone:
            label = _("%(staff)s (no longer in XPM)") % {"staff": staff_label(gone)}
        else:
            label = _("Unknown staff (%(uuid)s)") % {"uuid": current}
        choices.append((current, label))
    return choices


def staff_label(staff: PracticeStaff) -> str:
    return f"{staff.name} ({staff.email})" if staff.email else staff.name or staff.uuid


def category_choices(connection: XpmConnection | None, current: str = "") -> list[tuple[str, str]]:
    if connection is None:
        rows = []
    else:
        rows = list(PracticeLeadCategory.objects.filter(connection=connection, is_current=True))
    choices = [(c.uuid, c.name or c.uuid) for c in rows]
    if current and current.lower() not in {c.uuid.lower() for c in rows}:
        choices.append((current, _("Unknown category (%(uuid)s)") % {"uuid": current}))
    return choices


class UnknownReference(ValueError):
    """A name or UUID that matches no staff member / category (or several)."""


def resolve_owner(connection: XpmConnection, value: str) -> PracticeStaff:
    """A staff member by UUID, name or email (case-insensitive); one match or an error."""
    return _resolve(
        PracticeStaff.objects.filter(connection=connection),
        value,
        what="staff member",
        extra_field="email",
    )


def resolve_category(connection: XpmConnection, value: str) -> PracticeLeadCategory:
    return _resolve(
        PracticeLeadCategory.objects.filter(connection=connection), value, what="lead category"
    )


def _resolve(queryset, value: str, *, what: str, extra_field: str | None = None):
    text = (value or "").strip()
    if not text:
        raise UnknownReference(f"an empty {what} name")
    if UUID_RE.match(text):
        row = queryset.filter(uuid__iexact=text).first()
        if row is None:
            raise UnknownReference(f"no {what} has the UUID {text}")
        return row
    matches = [r for r in queryset.filter(is_current=True) if same_name(r.name, text)]
    if not matches and extra_field:
        matches = [
            r for r in queryset.filter(is_current=True) if same_name(getattr(r, extra_field), text)
        ]
    if not matches:
        raise UnknownReference(f"no {what} is called {text!r}")
    if len(matches) > 1:
        raise UnknownReference(f"{len(matches)} {what}s are called {text!r}: use the UUID")
    return matches[0]


def same_name(a: str | None, b: str) -> bool:
    return " ".join((a or "").split()).casefold() == " ".join(b.split()).casefold()
