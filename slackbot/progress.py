"""Following a Slack-started sync: one message updated in place until the run finishes.

Each check is short: read the run, update the message if it changed, and ask for the next
check ``progress_interval`` seconds later. A check never waits for the sync itself, so
following a long sync does not hold one of the Huey consumer's workers (website enquiries
keep flowing), and the number of checks is bounded by ``follow_max_seconds``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from slack_sdk.errors import SlackApiError

from wagtail_xpm.models import SyncRun

from . import blocks, queries
from .conf import SlackConfig

logger = logging.getLogger(__name__)

# The message is gone or out of reach: following it any longer would only fail again.
_GIVE_UP = frozenset(
    {"message_not_found", "channel_not_found", "cant_update_message", "is_archived"}
)


def max_checks(config: SlackConfig) -> int:
    return max(1, int(config.follow_max_seconds / max(config.progress_interval, 0.1)))


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _key(channel: str, ts: str) -> str:
    return f"slackbot:follow:{channel}:{ts}"


def remember(channel: str, ts: str, payload: dict[str, Any]) -> None:
    """Note what the message shows now, so a check that finds nothing new stays quiet."""
    cache.set(_key(channel, ts), _digest(payload), timeout=3600)


def follow_step(
    run_id: int,
    channel: str,
    ts: str,
    check: int,
    *,
    client: Any,
    config: SlackConfig,
    reschedule: Callable[[int], None],
) -> str:
    """One check of run ``run_id``; returns the run's status, or "gone"."""
    run = SyncRun.objects.select_related("triggered_by").filter(pk=run_id).first()
    if run is None:
        return "gone"
    snapshot = queries.run_snapshot(run)
    timed_out = not snapshot.finished and check >= max_checks(config)
    if timed_out:
        message = blocks.sync_follow_timeout(snapshot, config.follow_max_seconds // 60)
    else:
        message = blocks.sync_message(snapshot)
    payload = message.payload()
    key = _key(channel, ts)
    digest = _digest(payload)
    done = snapshot.finished or timed_out
    # Slack allows about one update per second per message: skip updates that change nothing.
    if done or cache.get(key) != digest:
        try:
            client.chat_update(channel=channel, ts=ts, **payload)
        except SlackApiError as exc:
            error = exc.response.get("error")
            logger.warning("Could not update sync message for run %s: %s", run_id, error)
            if error in _GIVE_UP:
                return "gone"
        else:
            cache.set(key, digest, timeout=3600)
    if done:
        cache.delete(key)
        return snapshot.status
    reschedule(check + 1)
    return snapshot.status
