"""The bot's Huey tasks (found by djhuey's autodiscovery of INSTALLED_APPS' ``tasks``).

Thin and id-based like ``wagtail_xpm.sync.tasks``: the work is in :mod:`slackbot.progress` and
:mod:`slackbot.notifications`.
"""

from __future__ import annotations

import logging
from typing import Any

from huey.contrib.djhuey import db_task, task
from slack_sdk.errors import SlackApiError

from wagtail_xpm import priorities

from .conf import get_config
from .progress import follow_step
from .webclient import web_client

logger = logging.getLogger(__name__)


@db_task(priority=priorities.short())
def follow_sync(run_id: int, channel: str, ts: str, check: int = 1) -> str:
    """Update a sync's Slack message once, and schedule the next check until it finishes."""
    config = get_config()

    def reschedule(next_check: int) -> None:
        follow_sync.schedule((run_id, channel, ts, next_check), delay=config.progress_interval)

    return follow_step(
        run_id, channel, ts, check, client=web_client(config), config=config, reschedule=reschedule
    )


@task(retries=3, retry_delay=30, priority=priorities.short())
def post_notification(channel: str, text: str, blocks: list[dict[str, Any]]) -> bool:
    """Post one notification; Slack being down or rate limiting is retried a few times."""
    config = get_config()
    try:
        web_client(config).chat_postMessage(channel=channel, text=text, blocks=blocks)
    except SlackApiError as exc:
        error = exc.response.get("error")
        logger.warning("Slack notification to %s failed: %s", channel, error)
        if error in ("ratelimited", "internal_error", "fatal_error", "service_unavailable"):
            raise  # retried by Huey
        return False
    return True
