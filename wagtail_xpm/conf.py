"""Settings for wagtail_xpm, read through one accessor (the ``WAGTAIL_XPM`` dict)."""

from __future__ import annotations

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
    "CONCURRENCY": 5,
    # (connect, read) seconds for every HTTP call.
    "TIMEOUT": (5.0, 60.0),
    # Longest wait honoured for a 429's Retry-After before giving up on that call.
    "MAX_RETRY_SLEEP": 65.0,
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
