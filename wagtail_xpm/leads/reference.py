"""The practice's lead owners (staff) and lead categories, as the lead settings offer them.

Both are read from their local mirrors (``PracticeStaff``, ``PracticeLeadCategory``) so the
settings page and the config document never wait on XPM; "Refresh from XPM" reads them again
(wagtail_xpm/connection/mirrors/staff.py and categories.py).
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from ..models import PracticeLeadCategory, PracticeStaff, XpmConnection

UUID_RE = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE
)


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
