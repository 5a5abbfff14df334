"""Settings for wagtail_xpm, read through one accessor (the ``WAGTAIL_XPM`` dict)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

DEFAULT_SCOPES: tuple[str, ...] = (
    "openid",
    "profile",
    "email",
    "offline_access",
    "practicemanager",
    "practicemanager.client",
    "practicemanager.staff.read",
)

DEFAULTS: dict[str, Any] = {
    "CLIENT_ID": None,
    "CLIENT_SECRET": None,
    "AUTHORIZE_URL": "https://login.xero.com/identity/connect/authorize",
    "TOKEN_URL": "https://identity.xero.com/connect/token",
    "REVOKE_URL": "https://identity.xero.com/connect/revocation",
    "CONNECTIONS_URL": "https://api.xero.com/connections",
    "API_URL": "https://api.xero.com/practicemanager/3.1/",
    "SCOPES": DEFAULT_SCOPES,
    # Fernet keys, newest first. Older keys still decrypt, so keys can be rotated.
    "TOKEN_KEYS": (),
    # Absolute callback URL registered with Xero; None builds it from the request.
    "REDIRECT_URI": None,
    # When set, the per-tenant rate limiter is shared by every process through Redis.
    "RATE_LIMIT_REDIS_URL": None,
    # Aim a little under XPM's 60 calls per minute per tenant.
    "CALLS_PER_MINUTE": 55,
    # Xero's limit for the whole app, across every practice it serves (docs/xpm-api.md 10):
    # shared through Redis with RATE_LIMIT_REDIS_URL, else per process.
    "APP_CALLS_PER_MINUTE": 10_000,
    "CONCURRENCY": 5,
    # (connect, read) seconds for every HTTP call.
    "TIMEOUT": (5.0, 60.0),
    # Cap on a wait between attempts (a 429's Retry-After, a 5xx backoff); the call is then
    # retried, up to its attempt limit.
    "MAX_RETRY_SLEEP": 65.0,
    # XPM's daily call allowance per practice (5,000; 1,000 on Xero's starter tier): the
    # budget that the custom-field refresh takes its share of.
    "DAILY_CALL_LIMIT": 5000,
    # --- Custom fields (XPM does not mark a client changed when only a custom field changes)
    # No mapped custom-field value of a client someone can be emailed at is older than this:
    # a rolling refresh re-reads the oldest, spread over the syncs of the period...
    "CUSTOM_FIELD_MAX_AGE": timedelta(days=7),
    # ...using at most this share of DAILY_CALL_LIMIT a day (never the leads' reserve).
    "CUSTOM_FIELD_REFRESH_SHARE": 0.2,
    # --- Campaign emails (wagtail_xpm.campaigns) ---
    # Recipients claimed per batch, outcomes recorded every N messages
    # (the most a crash can leave unsure; those are never re-sent), seconds without a
    # heartbeat before another worker takes over a send, and failures in a row that pause it.
    "CAMPAIGN_BATCH_SIZE": 100,
    "CAMPAIGN_MARK_EVERY": 10,
    "CAMPAIGN_STALE_AFTER": 300,
    "CAMPAIGN_MAX_CONSECUTIVE_FAILURES": 10,
    # Absolute base of the public unsubscribe links (e.g. "https://www.example.com");
    # None: the connection's Wagtail site root URL.
    "PUBLIC_BASE_URL": None,
    # Soft bounces in a row (ESP tracking webhooks) that suppress an address like a hard
    # bounce, and how old (seconds) a tracking webhook's events may be before the call is
    # refused as a replay (wagtail_xpm/campaigns/webhooks.py).
    "SOFT_BOUNCE_LIMIT": 3,
    "WEBHOOK_MAX_AGE": 24 * 3600,
    # --- Contact downloads (the contacts listing's CSV and Excel) ---
    # A CSV of more rows than this is written in the background (a progress page, then a
    # download link) instead of streamed in the request; smaller ones stream at once.
    "EXPORT_STREAM_MAX_ROWS": 50_000,
    # Excel files take longer to write (32 s for 100,000 rows): beyond this many rows they are
    # written in the background too, never past a web worker's timeout.
    "EXPORT_XLSX_INLINE_MAX_ROWS": 5_000,
    # How long a background export's file is kept for its download before it is deleted.
    "EXPORT_KEEP_FOR": timedelta(hours=24),
    # --- Website leads (wagtail_xpm.leads) ---
    # Submissions accepted per visitor IP: (count, window seconds), or "count/seconds".
    "LEAD_RATE_LIMIT": (5, 600),
    # A form sent sooner than this after it was shown is treated as a bot's.
    "LEAD_MIN_FILL_SECONDS": 3.0,
    # Reverse proxies in front of the site that append to X-Forwarded-For; 0 trusts only
    # REMOTE_ADDR (a client can put anything in X-Forwarded-For).
    "TRUSTED_PROXY_COUNT": 0,
    # Dotted path to a callable(request) -> bool that checks a captcha answer, or None.
    "CAPTCHA_VALIDATOR": None,
    # Delivery attempts that met a network/server problem before a submission is failed.
    "LEAD_MAX_ATTEMPTS": 10,
    # Backoff between attempts: base * 2**(attempt-1) seconds, capped.
    "LEAD_RETRY_BASE_SECONDS": 60,
    "LEAD_RETRY_MAX_SECONDS": 3600,
    # A delivery "sending" for longer than this was interrupted (worker stopped): redo it.
    "LEAD_STUCK_SECONDS": 600,
    # The lead's name in XPM; {name} is the visitor's name.
    "LEAD_NAME_TEMPLATE": "Website enquiry: {name}",
    # Link to a lead in XPM's web app ({uuid}); None links to the sandbox page when the
    # API is a local sandbox, and to nothing otherwise (XPM's lead pages use numeric ids).
    "LEAD_URL_TEMPLATE": None,
}


def get_setting(name: str) -> Any:
    """Return one ``WAGTAIL_XPM`` setting, falling back to the documented default."""
    if name not in DEFAULTS:
        raise KeyError(f"Unknown WAGTAIL_XPM setting: {name}")
    configured = getattr(settings, "WAGTAIL_XPM", {}) or {}
    value = configured.get(name, DEFAULTS[name])
    if name == "SCOPES" and isinstance(value, str):
        value = tuple(value.split())
    if name == "TOKEN_KEYS" and isinstance(value, str):
        value = tuple(k.strip() for k in value.split(",") if k.strip())
    return value
