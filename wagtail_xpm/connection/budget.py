"""XPM's daily call budget as last seen, kept on the connection.

XPM answers every call with the calls left for the day (``x-daylimit-remaining``,
docs/xpm-api.md); the sync keeps a reserve of them for leads (wagtail_xpm/sync/engine.py),
and the admin and Slack show the figure. Every writer goes through this one function.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from ..models import XpmConnection


def record(connection_id: int, remaining: int | None, *, when: datetime | None = None) -> None:
    """Store ``remaining`` (calls XPM still allows today) seen at ``when`` (now by default);
    nothing when XPM did not say (no call made, or no header)."""
    if remaining is None:
        return
    XpmConnection.objects.filter(pk=connection_id).update(
        day_calls_remaining=remaining, day_calls_checked_at=when or timezone.now()
    )
