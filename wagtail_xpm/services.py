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
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from wagtail.models import Site

from . import audit, background
from .conf import get_setting
from .leads import reference
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
    connection.save(
        update_fields=["day_calls_remaining", "day_calls_checked_at", "last_error", "updated_at"]
    )
    return ConnectionCheck(
        ok=True,
        message=ngettext(
            "Connected to %(practice)s: %(count)s staff member visible.",
            "Connected to %(practice)s: %(count)s staff visible.",
            len(staff),
        )
        % {"practice": connection.tenant_name, "count": len(staff)},
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


# --- Sync -----------------------------------------------------------------------------------


def ensure_default_mappings(connection: XpmConnection) -> int:
    """Map the standard targeting fields (Account Manager, Balance Month...) once, on connect.

    Custom fields are opt-in: each costs one API call per changed client.
    """
    from .models import FieldMapping
    from .sync.mapping import STANDARD_FIELDS, default_key

    if FieldMapping.objects.filter(connection=connection).exists():
        return 0
    rows = [
        FieldMapping(
            connection=connection,
            source=field.source,
            key=default_key(field.label),
            label=field.label,
            value_type=field.value_type,
            choices=list(field.choices),
            sort_order=index,
        )
        for index, field in enumerate(f for f in STANDARD_FIELDS if f.default)
    ]
    FieldMapping.objects.bulk_create(rows)
    return len(rows)


def new_sync_run(
    connection: XpmConnection,
    *,
    trigger: str,
    user: AbstractBaseUser | None = None,
    full: bool = False,
    dry_run: bool = False,
    reconcile: bool = False,
):
    from .models import SyncRun

    return SyncRun.objects.create(
        connection=connection,
        trigger=trigger,
        triggered_by=user if user is not None and user.pk else None,
        full=full,
        dry_run=dry_run,
        reconcile=reconcile and not full,
    )


def run_sync(
    connection: XpmConnection,
    *,
    trigger: str = "cli",
    user: AbstractBaseUser | None = None,
    full: bool = False,
    dry_run: bool = False,
    reconcile: bool = False,
):
    """Run a sync now, in this process (the CLI); raises SyncAlreadyRunning.

    ``reconcile`` also finds clients deleted in XPM (a light check of XPM's live client
    list); ``full`` re-reads every client in detail, which finds them too.
    """
    run = new_sync_run(
        connection, trigger=trigger, user=user, full=full, dry_run=dry_run, reconcile=reconcile
    )
    return execute_sync_run(run.pk)


def _claim_sync_run(run_id: int):
    """The queued run, claimed (raises SyncAlreadyRunning), or None if it already ended."""
    from .models import SyncRun
    from .sync import runs

    run = SyncRun.objects.select_related("connection__site").get(pk=run_id)
    if run.is_finished:
        return None  # a duplicate delivery of the task: nothing to do
    try:
        runs.claim(run)
    except runs.SyncAlreadyRunning as exc:
        if exc.running.pk != run.pk:  # else a duplicate delivery: the run is someone else's
            run.status = SyncRun.Status.SKIPPED
            run.finished_at = timezone.now()
            run.message = str(exc)
            run.save(update_fields=["status", "finished_at", "message"])
        raise
    return run


def _sync_client(run, **kwargs) -> XpmClient | None:
    """The run's XPM client, or None with the run recorded as failed."""
    from .models import SyncRun

    try:
        return client_for(run.connection, **kwargs)
    except XpmError as exc:
        run.status = SyncRun.Status.FAILED
        run.finished_at = timezone.now()
        run.message = str(exc)
        run.save(update_fields=["status", "finished_at", "message"])
        return None


def execute_sync_run(run_id: int):
    """Claim and run a queued sync to the end in this process (the CLI, tests)."""
    from .models import SyncRun
    from .sync import runs

    run = _claim_sync_run(run_id)
    if run is None:
        return SyncRun.objects.get(pk=run_id)
    client = _sync_client(run)
    if client is None:
        return run
    return runs.execute(run, client)


def start_sync_run(run_id: int):
    """Claim a queued sync and take its first steps (the ``sync_connection`` task); the rest
    follows in ``sync_step`` tasks, queued for when XPM's minute budget allows."""
    from .models import SyncRun

    run = _claim_sync_run(run_id)
    if run is None:
        return SyncRun.objects.get(pk=run_id)
    return _work_on(run)


def continue_sync_run(run_id: int, seq: int):
    """Take the next steps of a running sync (the ``sync_step`` task); None when the step
    was not this task's to take (a repeated delivery, or the run ended or was taken over)."""
    from .models import SyncRun
    from .sync import steps

    if not steps.claim_step(run_id, seq):
        return None
    run = SyncRun.objects.select_related("connection__site").get(pk=run_id)
    return _work_on(run)


def _work_on(run):
    from .sync import runs, steps

    client = _sync_client(run, max_minute_wait=steps.STEP_MAX_MINUTE_WAIT)
    if client is None:
        steps.discard(run)
        return run
    following = runs.work(run, client)
    if following is not None:
        seq, delay = following
        background.enqueue("sync_step", run.pk, seq, delay=delay)
    return run


def enqueue_sync(
    connection: XpmConnection,
    *,
    trigger: str,
    user: AbstractBaseUser | None = None,
    full: bool = False,
    dry_run: bool = False,
    reconcile: bool = False,
):
    """Queue a sync for the Huey consumer and return its (queued) run."""
    run = new_sync_run(
        connection, trigger=trigger, user=user, full=full, dry_run=dry_run, reconcile=reconcile
    )
    background.enqueue_on_commit("sync_connection", run.pk)
    return run


def last_reconciled(connection: XpmConnection):
    """When XPM's whole live client list was last compared with this site's clients (a
    reconciliation, or a full run), or None."""
    from django.db.models import Q

    from .models import SyncRun

    return (
        SyncRun.objects.filter(connection=connection, dry_run=False)
        .filter(Q(reconcile_completed=True) | Q(full=True, list_completed=True))
        .order_by("-list_started_at")
        .values_list("list_started_at", flat=True)
        .first()
    )


def needs_reconcile(connection: XpmConnection, site_settings=None) -> bool:
    """Whether the next scheduled run should look for clients deleted in XPM.

    Due one sync interval early, so a client deleted just after a check is found within
    the site's ``reconcile_every_days`` rather than a run later.
    """
    from .models import XpmSiteSettings

    site_settings = site_settings or XpmSiteSettings.for_site(connection.site)
    last = last_reconciled(connection)
    if last is None:
        return True
    every = timedelta(days=site_settings.reconcile_every_days)
    interval = timedelta(minutes=site_settings.sync_interval_minutes)
    return last <= timezone.now() - max(every - interval, every / 2)


def schedule_due_syncs() -> list[int]:
    """Queue a sync for every connected site whose interval has passed, and the next step of
    a chained sync whose worker died; returns run ids. Every due practice is queued at once:
    their steps take turns on the workers (sync/steps.py)."""
    from .models import SyncRun, XpmSiteSettings
    from .sync import runs

    queued = []
    for connection in XpmConnection.objects.filter(status=XpmConnection.Status.CONNECTED):
        site_settings = XpmSiteSettings.for_site(connection.site)
        if not site_settings.sync_enabled:
            continue
        last = SyncRun.objects.filter(connection=connection).order_by("-created_at").first()
        if last is not None and last.status == SyncRun.Status.RUNNING and not runs.is_live(last):
            # A chain whose worker died: carry on from its last step (sync/steps.py).
            seq = runs.resume(last)
            if seq is not None:
                background.enqueue("sync_step", last.pk, seq)
                queued.append(last.pk)
                continue
        interval = timedelta(minutes=site_settings.sync_interval_minutes)
        # A run whose worker died stops counting once stale (its successor takes over).
        if last is not None and (runs.is_live(last) or last.created_at > timezone.now() - interval):
            continue
        run = enqueue_sync(
            connection,
            trigger="schedule",
            reconcile=needs_reconcile(connection, site_settings),
        )
        queued.append(run.pk)
    return queued


# --- Reference data (staff, custom field definitions) ---------------------------------------


def refresh_staff(connection: XpmConnection) -> int:
    """Mirror XPM's staff list (lead owners are picked from it); returns the staff count."""
    client = client_for(connection)
    count = reference.mirror_staff(connection, client.list_staff())
    _record_budget(connection, client)
    return count


def refresh_custom_field_definitions(connection: XpmConnection) -> list:
    """Read ``customfield.api/definition`` live and mirror the client-level definitions."""
    from .models import PracticeCustomField

    client = client_for(connection)
    definitions = client.custom_field_definitions()
    with transaction.atomic():
        seen = []
        for definition in definitions:
            row, _ = PracticeCustomField.objects.update_or_create(
                connection=connection,
                uuid=definition.uuid,
                defaults={
                    "name": definition.name or definition.uuid,
                    "type": definition.type or "",
                    "value_element": definition.value_element or "",
                    "options": list(definition.options),
                    "use_client": bool(definition.use_client),
                    "use_contact": bool(definition.use_contact),
                    "is_current": True,
                },
            )
            seen.append(row.pk)
        PracticeCustomField.objects.filter(connection=connection).exclude(pk__in=seen).update(
            is_current=False
        )
    _record_budget(connection, client)
    return list(PracticeCustomField.objects.filter(connection=connection, is_current=True))


def _record_budget(connection: XpmConnection, client: XpmClient) -> None:
    if client.day_remaining is not None:
        XpmConnection.objects.filter(pk=connection.pk).update(
            day_calls_remaining=client.day_remaining, day_calls_checked_at=timezone.now()
        )


def client_web_url(connection: XpmConnection, client_uuid: str) -> str:
    """The client's page in XPM, or "" when XPM gives none.

    XPM's client list carries no web address, only ``client.api/get`` does: it is fetched
    once (one API call) and kept on the client's mirror row. Raises XpmError.
    """
    from .models import PracticeClient

    mirror = PracticeClient.objects.filter(connection=connection, uuid=client_uuid).first()
    if mirror is not None and mirror.web_url:
        return mirror.web_url
    url = client_for(connection).get_client(client_uuid).web_url or ""
    if not url.startswith(("https://", "http://")):
        return ""
    PracticeClient.objects.filter(connection=connection, uuid=client_uuid).update(web_url=url)
    return url
