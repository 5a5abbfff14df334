"""Notifications to the ops channel (``SLACK_NOTIFY_CHANNEL``).

The bot subscribes to ``wagtail_xpm.notifications`` (website enquiries that could not be
delivered or are waiting) and derives three events of its own from the models until the
core sends them: a sync failed, the connection needs re-authorisation, the daily XPM budget
is low. Each is posted once (a cache key per occurrence), by a Huey task after the current
transaction commits, so a slow Slack never slows the code that noticed the problem.
Messages carry no contact's personal data: a channel is a wider audience than an email.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from wagtail_xpm.models import SyncRun, XpmConnection, XpmSiteSettings

from . import blocks, queries
from .blocks import Message
from .conf import get_config

logger = logging.getLogger(__name__)

ONCE_SECONDS = {"sync_failed": 7 * 86400, "connection_needs_reauth": 86400, "budget_low": 86400}


def _once(key: str, seconds: int) -> bool:
    """True the first time ``key`` is seen within ``seconds``."""
    try:
        return cache.add(f"slackbot:notified:{key}", 1, timeout=seconds)
    except Exception:  # noqa: BLE001 - without a cache, tell every time rather than never
        return True


def reauth_key(connection_id: int) -> str:
    return f"connection_needs_reauth:{connection_id}"


def message_for(event: str, data: dict[str, Any]) -> tuple[str, Message] | None:
    """(dedupe key or "", message) for an event, or None for events the bot ignores."""
    if event == "sync_failed":
        run: SyncRun = data["run"]
        tenant = run.connection.tenant_name or str(run.connection.site)
        url = queries.admin_url("wagtail_xpm_syncrun:inspect", run.pk)
        message = blocks.sync_failed_notice(
            tenant=tenant, run_id=run.pk, message=run.message, url=url
        )
        return f"sync_failed:{run.pk}", message
    if event == "connection_needs_reauth":
        connection: XpmConnection = data["connection"]
        site = connection.site
        message = blocks.reauth_notice(
            site_name=site.site_name or site.hostname,
            detail=connection.last_error,
            url=queries.admin_url("wagtail_xpm:status"),
        )
        return reauth_key(connection.pk), message
    if event == "budget_low":
        connection = data["connection"]
        message = blocks.budget_low_notice(
            tenant=connection.tenant_name or str(connection.site),
            remaining=int(data["remaining"]),
            reserve=int(data["reserve"]),
            url=queries.admin_url("wagtail_xpm:status"),
        )
        return f"budget_low:{connection.pk}:{timezone.localdate().isoformat()}", message
    if event == "lead_failed":
        return "", blocks.lead_failed_notice(
            reason=str(data.get("reason") or ""), url=str(data.get("admin_url") or "")
        )
    if event == "campaign_paused":
        campaign = data["campaign"]
        return "", blocks.campaign_paused_notice(
            name=campaign.name,
            reason=str(data.get("reason") or ""),
            waiting=int(data.get("waiting") or 0),
            url=str(data.get("admin_url") or ""),
        )
    if event == "leads_waiting":
        return "", blocks.leads_waiting_notice(
            count=int(data.get("count") or 0),
            reason=str(data.get("reason") or ""),
            url=str(data.get("admin_url") or ""),
        )
    return None


def on_notification(event: str, **data: Any) -> None:
    """Subscriber for ``wagtail_xpm.notifications`` (also called by the bot's own signals)."""
    if not enabled():
        return
    config = get_config()
    found = message_for(event, data)
    if found is None:
        return
    key, message = found
    if key and not _once(key, ONCE_SECONDS.get(event, 86400)):
        return
    from .tasks import post_notification

    channel = config.notify_channel
    transaction.on_commit(lambda: post_notification(channel, message.text, message.blocks))


# --- events derived from the models ---------------------------------------------------------


def budget_threshold(connection: XpmConnection) -> tuple[int, int]:
    """(alert at or below, the site's reserve): twice the reserve kept for website leads."""
    reserve = XpmSiteSettings.for_site(connection.site).daily_call_reserve
    configured = getattr(settings, "SLACK_BUDGET_LOW_CALLS", None)
    return (int(configured) if configured is not None else 2 * reserve), reserve


def enabled() -> bool:
    config = get_config()
    return bool(config.notify_channel and config.bot_token)


def sync_run_saved(run: SyncRun) -> None:
    # Nothing (not even a query) unless notifications are on: this runs on every sync.
    if not enabled() or not run.is_finished or run.finished_at is None:
        return
    if run.status == SyncRun.Status.FAILED:
        on_notification("sync_failed", run=run)
    if run.day_calls_remaining is not None and not run.dry_run:
        threshold, reserve = budget_threshold(run.connection)
        if run.day_calls_remaining <= threshold:
            on_notification(
                "budget_low",
                connection=run.connection,
                remaining=run.day_calls_remaining,
                reserve=reserve,
            )


def connection_saved(connection: XpmConnection) -> None:
    if not enabled():
        return
    if connection.status == XpmConnection.Status.NEEDS_REAUTH:
        on_notification("connection_needs_reauth", connection=connection)
    elif connection.status == XpmConnection.Status.CONNECTED:
        # Reconnected: the next loss of access is news again.
        cache.delete(f"slackbot:notified:{reauth_key(connection.pk)}")
