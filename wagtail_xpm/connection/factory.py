"""The client factory: an XPM client for a connected site, with its rate limiter.

Everything that talks to XPM gets its client here, so every call shares one limiter and
refreshes tokens through the database (docs/architecture.md, wagtail_xpm/tokenstore.py).
"""

from __future__ import annotations

import functools

from django.utils.translation import gettext as _
from wagtail.models import Site

from ..conf import get_setting
from ..models import XpmConnection
from ..tokenstore import DatabaseTokenStore
from ..xpm.client import XpmClient
from ..xpm.errors import XpmConfigurationError
from ..xpm.ratelimit import InMemoryRateLimiter, RateLimiter, RedisRateLimiter
from .oauth import oauth


@functools.cache
def _redis_limiter(
    url: str, per_minute: int, concurrency: int, app_per_minute: int
) -> RedisRateLimiter:
    import redis  # the "redis" extra

    return RedisRateLimiter(
        redis.Redis.from_url(url),
        per_minute=per_minute,
        concurrency=concurrency,
        app_per_minute=app_per_minute,
    )


@functools.cache
def _process_limiter(per_minute: int, concurrency: int, app_per_minute: int) -> InMemoryRateLimiter:
    return InMemoryRateLimiter(
        per_minute=per_minute, concurrency=concurrency, app_per_minute=app_per_minute
    )


def rate_limiter() -> RateLimiter:
    """Redis-backed (shared by every process) when configured, else shared by this process.

    Either way one limiter holds the per-practice budgets and the app-wide one
    (``APP_CALLS_PER_MINUTE``, xpm/ratelimit.py)."""
    url = get_setting("RATE_LIMIT_REDIS_URL")
    per_minute, concurrency = get_setting("CALLS_PER_MINUTE"), get_setting("CONCURRENCY")
    app_per_minute = get_setting("APP_CALLS_PER_MINUTE")
    if url:
        return _redis_limiter(url, per_minute, concurrency, app_per_minute)
    return _process_limiter(per_minute, concurrency, app_per_minute)


def get_connection(site: Site) -> XpmConnection | None:
    return XpmConnection.objects.filter(site=site).first()


def client_for(connection: XpmConnection, *, max_minute_wait: float | None = None) -> XpmClient:
    """An XPM client for a connected site; its token refreshes go through the database.

    ``max_minute_wait``: see ``XpmClient`` (sync steps pass a small one)."""
    if not connection.tenant_id:
        raise XpmConfigurationError(
            _("%(site)s has no Practice Manager practice chosen.") % {"site": connection.site}
        )
    return XpmClient(
        api_url=get_setting("API_URL"),
        tenant_id=connection.tenant_id,
        token_store=DatabaseTokenStore(connection.pk),
        oauth=oauth(),
        limiter=rate_limiter(),
        timeout=tuple(get_setting("TIMEOUT")),
        max_retry_sleep=float(get_setting("MAX_RETRY_SLEEP")),
        max_minute_wait=max_minute_wait,
    )
