"""The public facade used by admin views, tasks, management commands and the Slack bot.

It builds XPM clients from settings and the database token store, and owns the connection
life cycle (connect, choose a practice, check, disconnect). Nothing above this module talks
to ``wagtail_xpm.xpm`` directly.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from wagtail.models import Site

from .conf import get_setting
from .models import XpmConnection
from .tokenstore import DatabaseTokenStore
from .xpm.auth import AuthorizationRequest, OAuthConfig, XeroOAuth, practice_manager_tenants
from .xpm.client import XpmClient
from .xpm.errors import XpmConfigurationError, XpmError, XpmTenantError
from .xpm.ratelimit import InMemoryRateLimiter, RateLimiter, RedisRateLimiter
from .xpm.types import Tenant, TokenSet

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)


class NoPracticeManagerTenant(XpmTenantError):
    """The consent did not include any Xero Practice Manager practice."""


def oauth_config() -> OAuthConfig:
    client_id, client_secret = get_setting("CLIENT_ID"), get_setting("CLIENT_SECRET")
    if not client_id or not client_secret:
        raise XpmConfigurationError(
            "WAGTAIL_XPM CLIENT_ID and CLIENT_SECRET are not set: register an app at "
            "developer.xero.com and set XPM_CLIENT_ID / XPM_CLIENT_SECRET."
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


@functools.cache
def _redis_limiter(url: str, per_minute: int, concurrency: int) -> RedisRateLimiter:
    import redis  # the "redis" extra

    return RedisRateLimiter(
        redis.Redis.from_url(url), per_minute=per_minute, concurrency=concurrency
    )


@functools.cache
def _process_limiter(per_minute: int, concurrency: int) -> InMemoryRateLimiter:
    return InMemoryRateLimiter(per_minute=per_minute, concurrency=concurrency)


def rate_limiter() -> RateLimiter:
    """Redis-backed (shared by every process) when configured, else shared by this process."""
    url = get_setting("RATE_LIMIT_REDIS_URL")
    per_minute, concurrency = get_setting("CALLS_PER_MINUTE"), get_setting("CONCURRENCY")
    if url:
        return _redis_limiter(url, per_minute, concurrency)
    return _process_limiter(per_minute, concurrency)


def get_connection(site: Site) -> XpmConnection | None:
    return XpmConnection.objects.filter(site=site).first()


def client_for(connection: XpmConnection) -> XpmClient:
    """An XPM client for a connected site; its token refreshes go through the database."""
    if not connection.tenant_id:
        raise XpmConfigurationError(f"{connection.site} has no Practice Manager practice chosen.")
    return XpmClient(
        api_url=get_setting("API_URL"),
        tenant_id=connection.tenant_id,
        token_store=DatabaseTokenStore(connection.pk),
        oauth=oauth(),
        limiter=rate_limiter(),
        timeout=tuple(get_setting("TIMEOUT")),
    )


# --- Connecting -----------------------------------------------------------------------------


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
    return _store_connection(site=site, token_set=token_set, tenants=api.connections(token_set),
                             user=user)


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
                f"Tenant {tenant_id} is not a Practice Manager practice of this Xero login."
            )
    if not practices:
        raise NoPracticeManagerTenant(
            "The Xero login did not grant access to any Xero Practice Manager practice. The "
            "person connecting needs XPM's 'Connect third-party add-ons' privilege."
        )
    now = timezone.now()
    with transaction.atomic():
        connection, _ = XpmConnection.objects.select_for_update().get_or_create(site=site)
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
    logger.info("Site %s connected to Xero Practice Manager (%s)", site.pk, connection.status)
    return connection


def _use_tenant(connection: XpmConnection, tenant_id: str) -> None:
    for tenant in connection.available_tenants:
        if tenant["tenant_id"] == tenant_id:
            connection.tenant_id = tenant_id
            connection.tenant_name = tenant["name"] or ""
            connection.xero_connection_id = tenant.get("connection_id") or ""
            connection.status = XpmConnection.Status.CONNECTED
            return
    raise NoPracticeManagerTenant(f"Tenant {tenant_id} was not offered by the last consent.")


def choose_tenant(connection: XpmConnection, tenant_id: str) -> XpmConnection:
    """Pick which practice to use when one consent covered several."""
    _use_tenant(connection, tenant_id)
    connection.save()
    return connection


def disconnect(connection: XpmConnection) -> str | None:
    """Revoke the grant at Xero and forget the tokens; returns a warning if Xero did not answer.

    The row stays (with status ``disconnected``) so history that points at it is kept.
    """
    warning = None
    if connection.token_ciphertext:
        try:
            oauth().revoke(connection.get_token_set())
        except XpmError as exc:
            # Forget the tokens anyway: an admin who disconnects expects the site to stop.
            warning = f"Xero did not confirm the revocation ({exc}); the tokens were deleted here."
            logger.warning("Revocation failed for connection %s: %s", connection.pk, exc)
    connection.clear_tokens()
    connection.status = XpmConnection.Status.DISCONNECTED
    connection.available_tenants = []
    connection.last_error = ""
    connection.save()
    return warning


# --- Health ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str
    staff_count: int | None = None
    day_calls_remaining: int | None = None


def check_connection(connection: XpmConnection) -> ConnectionCheck:
    """Make one cheap API call to prove the connection works and learn the day budget."""
    try:
        client = client_for(connection)
        staff = client.list_staff()
    except XpmError as exc:
        connection.refresh_from_db()
        connection.last_error = str(exc)
        connection.save(update_fields=["last_error", "updated_at"])
        return ConnectionCheck(ok=False, message=str(exc))
    connection.refresh_from_db()
    connection.record_day_remaining(client.day_remaining)
    connection.last_error = ""
    connection.save(update_fields=["day_calls_remaining", "day_calls_checked_at", "last_error",
                                   "updated_at"])
    return ConnectionCheck(
        ok=True,
        message=f"Connected to {connection.tenant_name}: {len(staff)} staff visible.",
        staff_count=len(staff),
        day_calls_remaining=client.day_remaining,
    )


def keep_tokens_fresh(*, older_than: timedelta = timedelta(days=7)) -> int:
    """Refresh idle connections' tokens: unused Xero refresh tokens expire after 60 days."""
    cutoff = timezone.now() - older_than
    refreshed = 0
    idle = XpmConnection.objects.filter(
        status=XpmConnection.Status.CONNECTED, last_refreshed_at__lt=cutoff
    )
    for connection in idle:
        store = DatabaseTokenStore(connection.pk)
        try:
            store.refresh(store.load(), oauth().refresh)
        except XpmError as exc:
            logger.warning("Could not refresh idle connection %s: %s", connection.pk, exc)
            continue
        refreshed += 1
    return refreshed


def rotate_token_keys() -> int:
    """Re-encrypt every stored token set with the newest TOKEN_KEYS entry."""
    from .crypto import rotate

    count = 0
    ids = XpmConnection.objects.exclude(token_ciphertext="").values_list("pk", flat=True)
    for pk in list(ids):
        # Same row lock as a refresh, so a rotation never overwrites a newer token set.
        with transaction.atomic():
            connection = XpmConnection.objects.select_for_update().get(pk=pk)
            if connection.token_ciphertext:
                connection.token_ciphertext = rotate(connection.token_ciphertext)
                connection.save(update_fields=["token_ciphertext", "updated_at"])
                count += 1
    return count
