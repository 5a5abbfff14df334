"""The mirror of XPM's staff list (``PracticeStaff``): lead owners are picked from it, and
segments and Slack name account managers with it, without waiting on XPM."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import methodcaller

from django.db import transaction
from django.utils import timezone

from ...models import PracticeStaff, XpmConnection
from ...xpm.client import XpmClient
from ...xpm.types import XpmStaff
from ..factory import client_for
from .reading import read_from_xpm


def refresh(
    connection: XpmConnection,
    client_factory: Callable[[XpmConnection], XpmClient] = client_for,
) -> int:
    """Mirror ``staff.api/list``; returns the staff count. Raises XpmError."""
    staff = read_from_xpm(connection, client_factory, methodcaller("list_staff"))
    count = mirror(connection, staff)
    return count


def mirror(connection: XpmConnection, staff: Sequence[XpmStaff]) -> int:
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
