"""A TokenStore backed by the XpmConnection row: one refresher at a time, everywhere.

Xero refresh tokens rotate and are effectively single-use, so two workers refreshing the same
set would leave one of them with ``invalid_grant``. Refreshes therefore run under a database
row lock (``SELECT ... FOR UPDATE``; PostgreSQL serialises processes on it) plus a process-local
lock (SQLite ignores FOR UPDATE, and threads of one process should queue without hammering the
database). After taking the lock the token set is re-read: whoever waited finds the new set
and uses it instead of refreshing again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import XpmConnection
from .xpm.errors import XpmInvalidGrant, XpmReauthorizationRequired
from .xpm.types import TokenSet

logger = logging.getLogger(__name__)

_process_locks: dict[int, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _process_lock(connection_pk: int) -> threading.Lock:
    with _process_locks_guard:
        return _process_locks.setdefault(connection_pk, threading.Lock())


class DatabaseTokenStore:
    """Implements ``wagtail_xpm.xpm.auth.TokenStore`` for one XpmConnection."""

    def __init__(self, connection_pk: int) -> None:
        self.connection_pk = connection_pk

    def _connection(self, *, lock: bool = False) -> XpmConnection:
        qs = XpmConnection.objects.all()
        if lock:
            qs = qs.select_for_update()
        return qs.get(pk=self.connection_pk)

    def load(self) -> TokenSet:
        connection = self._connection()
        if not connection.is_usable:
            raise XpmReauthorizationRequired(
                _(
                    "The Xero Practice Manager connection for %(site)s is %(status)s; reconnect "
                    "it in the admin."
                )
                % {"site": connection.site, "status": connection.get_status_display().lower()}
            )
        return connection.get_token_set()

    def refresh(self, stale: TokenSet, refresher: Callable[[TokenSet], TokenSet]) -> TokenSet:
        with _process_lock(self.connection_pk), transaction.atomic():
            connection = self._connection(lock=True)
            current = self._usable_or_raise(connection)
            if _someone_else_refreshed(stale, current):
                return current
            try:
                fresh = refresher(current)
            except XpmInvalidGrant:
                # Another process may have rotated the set outside our lock (an older
                # deployment, a second database connection): look once more.
                connection = self._connection(lock=True)
                latest = connection.get_token_set() if connection.token_ciphertext else None
                if latest is not None and _someone_else_refreshed(current, latest):
                    return latest
                self._mark_needs_reauth(connection)
                failed = connection
            else:
                # Persist before anyone uses the new access token: the old refresh token
                # is now spent.
                connection.set_token_set(fresh)
                connection.last_refreshed_at = timezone.now()
                connection.refresh_count += 1
                connection.last_error = ""
                connection.save(
                    update_fields=[
                        "token_ciphertext",
                        "access_token_expires_at",
                        "scopes",
                        "last_refreshed_at",
                        "refresh_count",
                        "last_error",
                        "updated_at",
                    ]
                )
                logger.info("Refreshed Xero tokens for connection %s", self.connection_pk)
                return fresh
        # Raised outside the transaction so the needs-reauth flag is committed.
        raise XpmReauthorizationRequired(failed.last_error)

    @staticmethod
    def _usable_or_raise(connection: XpmConnection) -> TokenSet:
        if not connection.is_usable:
            raise XpmReauthorizationRequired(
                _(
                    "The Xero Practice Manager connection for %(site)s must be reconnected in "
                    "the admin."
                )
                % {"site": connection.site}
            )
        return connection.get_token_set()

    @staticmethod
    def _mark_needs_reauth(connection: XpmConnection) -> None:
        connection.status = XpmConnection.Status.NEEDS_REAUTH
        connection.last_error = _(
            "Xero refused the stored refresh token (invalid_grant): it was revoked, expired "
            "after 60 days unused, or used elsewhere. Reconnect to Xero Practice Manager."
        )
        connection.save(update_fields=["status", "last_error", "updated_at"])
        logger.warning("Connection %s needs re-authorisation", connection.pk)
        from . import notifications

        transaction.on_commit(
            lambda: notifications.notify(
                "connection_needs_reauth", connection=connection, reason=connection.last_error
            )
        )


def _someone_else_refreshed(stale: TokenSet, current: TokenSet) -> bool:
    return current.refresh_token != stale.refresh_token and not current.is_expired()
