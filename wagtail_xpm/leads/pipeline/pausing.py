"""Pausing a site's deliveries for a moment while XPM is in trouble.

After a network or server problem or a 429, other deliveries for the same site (one site,
one practice) wait this long at most instead of each spending a worker and API calls
finding XPM still down. New enquiries arriving meanwhile are not even queued
(``leads/intake.py``): the sweeper picks them up once the pause is over. The pause lives in
the cache; without one, every delivery simply tries XPM itself.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)

PAUSE_SECONDS = 30.0


def pause_key(site_id: int) -> str:
    """The cache entry holding a site's pause (deleting it ends the pause)."""
    return f"wagtail_xpm:leads-paused:{site_id}"


def pause(site_id: int, seconds: float, reason: str) -> None:
    try:
        cache.set(pause_key(site_id), (time.time() + seconds, reason), timeout=seconds)
    except Exception:  # noqa: BLE001 - without a cache every delivery just tries XPM itself
        logger.warning("Could not record the XPM pause in the cache", exc_info=True)


def paused_for(site_id: int | None) -> tuple[float, str] | None:
    """(seconds left, why) while deliveries for this site are paused, else None."""
    if site_id is None:
        return None
    try:
        value = cache.get(pause_key(site_id))
    except Exception:  # noqa: BLE001
        return None
    if not value:
        return None
    until, reason = value
    left = until - time.time()
    return (left, reason) if left > 0 else None
