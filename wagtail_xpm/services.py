"""The facade for management commands, Huey tasks, the admin and the Slack bot.

Adapters call these names; the work is done behind them by modules with one job each
(docs/architecture.md): ``connection/`` (OAuth, the client factory, connecting, health, token
upkeep, the daily budget and the mirrors of XPM's reference lists) and ``sync/`` (running a
sync, the schedule, the default mappings). Cores import those modules directly, never this
one (the ``cores`` contract in pyproject.toml).
"""

from __future__ import annotations

from .connection.factory import client_for, get_connection, rate_limiter
from .connection.health import ConnectionCheck, check_connection
from .connection.lifecycle import (
    NoPracticeManagerTenant,
    begin_connect,
    choose_tenant,
    complete_connect,
    connect_with_refresh_token,
    disconnect,
)
from .connection.mirrors.categories import refresh as refresh_lead_categories
from .connection.mirrors.client_pages import client_web_url
from .connection.mirrors.customfields import refresh as refresh_custom_field_definitions
from .connection.mirrors.staff import refresh as refresh_staff
from .connection.oauth import oauth
from .connection.tokens import keep_tokens_fresh, rotate_token_keys
from .sync.defaults import ensure_default_mappings
from .sync.running import (
    continue_sync_run,
    execute_sync_run,
    new_sync_run,
    run_sync,
    start_sync_run,
)
from .sync.schedule import enqueue_sync, last_reconciled, needs_reconcile, schedule_due_syncs

__all__ = [
    # the connection and its client
    "get_connection",
    "client_for",
    "rate_limiter",
    "oauth",
    "begin_connect",
    "complete_connect",
    "connect_with_refresh_token",
    "choose_tenant",
    "disconnect",
    "NoPracticeManagerTenant",
    "check_connection",
    "ConnectionCheck",
    "keep_tokens_fresh",
    "rotate_token_keys",
    # XPM's reference lists, mirrored
    "refresh_staff",
    "refresh_lead_categories",
    "refresh_custom_field_definitions",
    "client_web_url",
    # syncs
    "ensure_default_mappings",
    "new_sync_run",
    "run_sync",
    "execute_sync_run",
    "start_sync_run",
    "continue_sync_run",
    "enqueue_sync",
    "last_reconciled",
    "needs_reconcile",
    "schedule_due_syncs",
]
