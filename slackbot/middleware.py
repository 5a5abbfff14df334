"""Bolt middleware of the bot: replay protection and the workspace/channel gate.

They run after Bolt's own ``RequestVerification`` (signature and a timestamp within five
minutes), so only genuine requests reach them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.utils.translation import gettext as _
from slack_bolt import BoltContext, BoltRequest, BoltResponse

from . import blocks, identity
from .conf import get_config

logger = logging.getLogger(__name__)

# Bolt accepts a timestamp within five minutes of our clock, either way; remembering each
# signature until its timestamp is past that, plus a margin, closes the window in which a
# captured request could be sent again (also when Slack's clock runs ahead of ours).
SLACK_TIMESTAMP_TOLERANCE = 5 * 60
REPLAY_WINDOW_SECONDS = SLACK_TIMESTAMP_TOLERANCE + 60


def remember_for(timestamp: str, now: float | None = None) -> int:
    """Seconds to remember a request signed at ``timestamp`` (Unix seconds)."""
    now = time.time() if now is None else now
    try:
        accepted_until = int(timestamp) + SLACK_TIMESTAMP_TOLERANCE
    except ValueError:
        return REPLAY_WINDOW_SECONDS
    return max(REPLAY_WINDOW_SECONDS, int(accepted_until - now) + 60)


def _header(req: BoltRequest, name: str) -> str:
    values = req.headers.get(name) or []
    return str(values[0]) if values else ""


def replay_guard(req: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002
    """Refuse a signed HTTP request seen before (same timestamp and signature)."""
    if req.mode == "socket_mode":
        return next()  # no signatures over the websocket; Slack delivers each envelope once
    signature = _header(req, "x-slack-signature")
    timestamp = _header(req, "x-slack-request-timestamp")
    digest = hashlib.sha256(f"{timestamp}:{signature}".encode()).hexdigest()
    if not cache.add(f"slackbot:seen:{digest}", 1, timeout=remember_for(timestamp)):
        logger.warning("Refused a replayed Slack request (timestamp %s)", timestamp)
        return BoltResponse(status=401, body='{"error":"replayed request"}')
    return next()


def _refuse(body: dict[str, Any], context: BoltContext, text: str) -> BoltResponse:
    """Say no in the way each kind of request can show it."""
    if "command" in body:
        payload = {"response_type": "ephemeral", **blocks.refusal(text).payload()}
        return BoltResponse(
            status=200, body=json.dumps(payload), headers={"content-type": "application/json"}
        )
    if body.get("type") == "view_submission":
        payload = {"response_action": "update", "view": blocks.notice_view("XPM", text)}
        return BoltResponse(
            status=200, body=json.dumps(payload), headers={"content-type": "application/json"}
        )
    if context.response_url and context.respond is not None:
        context.respond(
            response_type="ephemeral", replace_original=False, **blocks.refusal(text).payload()
        )
    return BoltResponse(status=200, body="")


def access_guard(
    context: BoltContext,
    body: dict[str, Any],
    next: Callable[[], BoltResponse],  # noqa: A002
) -> BoltResponse:
    """Deny by default: only allowed workspaces (and channels, when listed) get through."""
    config = get_config()
    team_id = context.team_id or (body.get("team") or {}).get("id")
    if not identity.team_allowed(team_id, config):
        logger.warning("Refused a Slack request from workspace %s", team_id)
        return _refuse(body, context, _(identity.NOT_ALLOWED_WORKSPACE))
    channel_id = context.channel_id
    if channel_id and not identity.channel_allowed(channel_id, config):
        return _refuse(body, context, _(identity.NOT_ALLOWED_CHANNEL))
    return next()
