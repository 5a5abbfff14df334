"""System checks: fail loudly in production when secrets are missing."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .conf import get_setting


@register()
def check_site_addresses(app_configs, **kwargs):
    """W010: a site connected to XPM that still has Wagtail's default address (localhost,
    port 80) would put dead links in campaign emails, List-Unsubscribe headers, Slack
    messages and XPM leads (wagtail_xpm/links.py builds them from the Site)."""
    if get_setting("PUBLIC_BASE_URL"):
        return []
    from django.db import DatabaseError
    from wagtail.models import Site

    from .links import is_default_address
    from .models import XpmConnection

    try:
        sites = list(Site.objects.filter(pk__in=XpmConnection.objects.values("site_id")))
    except DatabaseError:  # before migrate: nothing is connected yet
        return []
    return [
        Warning(
            f"The site {site.site_name or site.hostname!r} is connected to Xero Practice "
            f"Manager but still has Wagtail's default address ({site.hostname}:{site.port}): "
            f"links in campaign emails, unsubscribe headers, Slack messages and XPM leads "
            f"would point at {site.root_url}/.",
            hint="Set the site's real hostname and port in Settings > Sites (or set "
            'WAGTAIL_XPM["PUBLIC_BASE_URL"]).',
            obj=site,
            id="wagtail_xpm.W010",
        )
        for site in sites
        if is_default_address(site)
    ]


@register(Tags.security, deploy=False)
def check_xpm_settings(app_configs, **kwargs):
    messages = []
    if not get_setting("CLIENT_ID") or not get_setting("CLIENT_SECRET"):
        messages.append(
            Warning(
                "WAGTAIL_XPM CLIENT_ID / CLIENT_SECRET are not set; connecting to Xero "
                "Practice Manager will fail.",
                hint="Set XPM_CLIENT_ID and XPM_CLIENT_SECRET from your app at "
                "developer.xero.com (see docs/xero-app.md).",
                id="wagtail_xpm.W001",
            )
        )
        if not settings.DEBUG:
            messages[-1] = Error(messages[-1].msg, hint=messages[-1].hint, id="wagtail_xpm.E001")
    keys = get_setting("TOKEN_KEYS")
    if not keys and not settings.DEBUG:
        messages.append(
            Error(
                "WAGTAIL_XPM TOKEN_KEYS is empty: Xero tokens cannot be encrypted at rest.",
                hint='Generate a key with `python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"` and set XPM_TOKEN_KEYS.',
                id="wagtail_xpm.E002",
            )
        )
    for index, key in enumerate(keys):
        try:
            from cryptography.fernet import Fernet

            Fernet(key)
        except ValueError:
            messages.append(
                Error(
                    f"WAGTAIL_XPM TOKEN_KEYS[{index}] is not a valid Fernet key.",
                    hint="Keys are 32 url-safe base64-encoded bytes (Fernet.generate_key()).",
                    id="wagtail_xpm.E003",
                )
            )
    return messages


@register()
def check_custom_field_refresh(app_configs, **kwargs):
    """E004/E005: the custom-field refresh settings (wagtail_xpm/sync/freshness.py)."""
    from datetime import timedelta

    messages = []
    max_age = get_setting("CUSTOM_FIELD_MAX_AGE")
    if not isinstance(max_age, timedelta) or max_age < timedelta(hours=1):
        messages.append(
            Error(
                "WAGTAIL_XPM CUSTOM_FIELD_MAX_AGE must be a datetime.timedelta of an hour or "
                f"more, not {max_age!r}.",
                hint="For example datetime.timedelta(days=7) (the default).",
                id="wagtail_xpm.E004",
            )
        )
    share = get_setting("CUSTOM_FIELD_REFRESH_SHARE")
    limit = get_setting("DAILY_CALL_LIMIT")
    if not isinstance(share, int | float) or not 0 <= share <= 1:
        messages.append(
            Error(
                f"WAGTAIL_XPM CUSTOM_FIELD_REFRESH_SHARE must be between 0 and 1, not {share!r}.",
                hint="0.2 (the default) lets the refresh use a fifth of the daily calls.",
                id="wagtail_xpm.E005",
            )
        )
    if not isinstance(limit, int) or limit < 1:
        messages.append(
            Error(
                f"WAGTAIL_XPM DAILY_CALL_LIMIT must be a positive number, not {limit!r}.",
                hint="XPM allows 5,000 calls a day per practice (1,000 on the starter tier).",
                id="wagtail_xpm.E005",
            )
        )
    return messages
