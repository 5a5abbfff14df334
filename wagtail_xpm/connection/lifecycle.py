"""Connecting a site to Xero, choosing its practice and disconnecting it.

The connection row outlives a disconnect so the history pointing at it is kept; every change
is audited (wagtail_xpm/audit.py). Tokens are stored encrypted (wagtail_xpm/tokenstore.py).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.models import Site

from .. import audit
from ..conf import get_setting
from ..models import XpmConnection
from ..sync.defaults import ensure_default_mappings
from ..xpm.auth import AuthorizationRequest, practice_manager_tenants
from ..xpm.errors import XpmError, XpmTenantError
from ..xpm.types import Tenant, TokenSet
from .oauth import oauth

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)


class NoPracticeManagerTenant(XpmTenantError):
    """The consent did not include any Xero Practice Manager practice."""


def begin_connect(redirect_uri: str) -> AuthorizationRequest:
    """Start Xero's authorization-code flow (state + PKCE); the caller keeps state and verifier."""
    return oauth().authorization_request(redirect_uri)


def complete_connect(
    *,
    site: Site,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    user: AbstractBaseUser | None = None,
) -> XpmConnection:
    """Exchange the authorization code and store the connection for ``site``."""
    api = oauth()
    token_set = api.exchange_code(code=code, redirect_uri=redirect_uri, code_verifier=code_verifier)
    return _store_connection(
        site=site, token_set=token_set, tenants=api.connections(token_set), user=user
    )


def connect_with_refresh_token(
    *,
    site: Site,
    refresh_token: str,
    tenant_id: str | None = None,
    user: AbstractBaseUser | None = None,
) -> XpmConnection:
    """Headless connect (``xpm_connect``): exchange a refresh token for a fresh token set."""
    api = oauth()
    placeholder = TokenSet(
        access_token="",
        refresh_token=refresh_token,
        expires_at=timezone.now() - timedelta(seconds=1),
        scopes=tuple(get_setting("SCOPES")),
    )
    token_set = api.refresh(placeholder)
    return _store_connection(
        site=site,
        token_set=token_set,
        tenants=api.connections(token_set),
        user=user,
        tenant_id=tenant_id,
    )


def _store_connection(
    *,
    site: Site,
    token_set: TokenSet,
    tenants: list[Tenant],
    user: AbstractBaseUser | None,
    tenant_id: str | None = None,
) -> XpmConnection:
    practices = practice_manager_tenants(tenants)
    if tenant_id:
        practices = [t for t in practices if t.tenant_id == tenant_id]
        if not practices:
            raise NoPracticeManagerTenant(
                _("Tenant %(tenant)s is not a Practice Manager practice of this Xero login.")
                % {"tenant": tenant_id}
            )
    if not practices:
        raise NoPracticeManagerTenant(
            _(
                "The Xero login did not grant access to any Xero Practice Manager practice. The "
                "person connecting needs XPM's 'Connect third-party add-ons' privilege."
            )
        )
    now = timezone.now()
    with transaction.atomic():
        connection, _created = XpmConnection.objects.select_for_update().get_or_create(site=site)
        connection.set_token_set(token_set)
        connection.available_tenants = [
            {"tenant_id": t.tenant_id, "name": t.tenant_name, "connection_id": t.id}
            for t in practices
        ]
        connection.connected_by = user if user is not None and user.pk else None
        connection.connected_at = now
        connection.last_refreshed_at = now
        connection.last_error = ""
        if len(practices) == 1:
            _use_tenant(connection, practices[0].tenant_id)
        else:
            connection.status = XpmConnection.Status.CHOOSE_TENANT
            connection.tenant_id = connection.tenant_name = connection.xero_connection_id = ""
        connection.save()
        ensure_default_mappings(connection)
        what = (
            f"connected {site} to {connection.tenant_name}"
            if connection.tenant_name
            else f"connected {site}; a practice is to be chosen"
        )
        audit.record(
            connection, audit.CONNECTION_CHANGE, _audit_user(user), what=what, change="connect"
        )
    logger.info("Site %s connected to Xero Practice Manager (%s)", site.pk, connection.status)
    return connection


def _audit_user(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and getattr(user, "pk", None) else None


def _use_tenant(connection: XpmConnection, tenant_id: str) -> None:
    for tenant in connection.available_tenants:
        if tenant["tenant_id"] == tenant_id:
            connection.tenant_id = tenant_id
            connection.tenant_name = tenant["name"] or ""
            connection.xero_connection_id = tenant.get("connection_id") or ""
            connection.status = XpmConnection.Status.CONNECTED
            return
    raise NoPracticeManagerTenant(
        _("Tenant %(tenant)s was not offered by the last consent.") % {"tenant": tenant_id}
    )


def choose_tenant(
    connection: XpmConnection, tenant_id: str, *, user: AbstractBaseUser | None = None
) -> XpmConnection:
    """Pick which practice to use when one consent covered several."""
    _use_tenant(connection, tenant_id)
    connection.save()
    audit.record(
        connection,
        audit.CONNECTION_CHANGE,
        _audit_user(user),
        what=f"chose the practice {connection.tenant_name}",
        change="tenant",
    )
    return connection


def disconnect(connection: XpmConnection, *, user: AbstractBaseUser | None = None) -> str | None:
    """Revoke the grant at Xero and forget the tokens; returns a warning if Xero did not answer.

    The row stays (with status ``disconnected``) so history that points at it is kept.
    """
    warning = None
    if connection.token_ciphertext:
        try:
            oauth().revoke(connection.get_token_set())
        except XpmError as exc:
            # Forget the tokens anyway: an admin who disconnects expects the site to stop.
            warning = _(
                "Xero did not confirm the revocation (%(error)s); the tokens were deleted here."
            ) % {"error": exc}
            logger.warning("Revocation failed for connection %s: %s", connection.pk, exc)
    connection.clear_tokens()
    connection.status = XpmConnection.Status.DISCONNECTED
    connection.available_tenants = []
    connection.last_error = ""
    connection.save()
    audit.record(
        connection,
        audit.CONNECTION_CHANGE,
        _audit_user(user),
        what=f"disconnected {connection.site}",
        change="disconnect",
    )
    return warning
