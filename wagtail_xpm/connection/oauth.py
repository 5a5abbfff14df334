"""Xero's OAuth 2.0 settings and client, read from ``WAGTAIL_XPM`` (docs/contracts.md)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from ..conf import get_setting
from ..xpm.auth import OAuthConfig, XeroOAuth
from ..xpm.errors import XpmConfigurationError


def oauth_config() -> OAuthConfig:
    client_id, client_secret = get_setting("CLIENT_ID"), get_setting("CLIENT_SECRET")
    if not client_id or not client_secret:
        raise XpmConfigurationError(
            _(
                "WAGTAIL_XPM CLIENT_ID and CLIENT_SECRET are not set: register an app at "
                "developer.xero.com and set XPM_CLIENT_ID / XPM_CLIENT_SECRET."
            )
        )
    return OAuthConfig(
        client_id=client_id,
        client_secret=client_secret,
        authorize_url=get_setting("AUTHORIZE_URL"),
        token_url=get_setting("TOKEN_URL"),
        revoke_url=get_setting("REVOKE_URL"),
        connections_url=get_setting("CONNECTIONS_URL"),
        scopes=tuple(get_setting("SCOPES")),
    )


def oauth() -> XeroOAuth:
    return XeroOAuth(oauth_config(), timeout=tuple(get_setting("TIMEOUT")))
