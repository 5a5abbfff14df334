"""The mirror of XPM's lead categories (``PracticeLeadCategory``), offered by the lead
settings and the config document without waiting on XPM (docs/leads.md)."""

from __future__ import annotations

from collections.abc import Callable
from operator import methodcaller

from django.db import transaction
from django.utils import timezone

from ...models import PracticeLeadCategory, XpmConnection
from ...xpm.client import XpmClient
from ..factory import client_for
from .reading import read_from_xpm


def refresh(
    connection: XpmConnection,
    client_factory: Callable[[XpmConnection], XpmClient] = client_for,
) -> int:
    """Mirror ``lead.api/categories``; returns how many categories XPM has. Raises XpmError."""
    categories = read_from_xpm(connection, client_factory, methodcaller("lead_categories"))
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
