"""The Slack Web API client with the bot's token, for work outside a Bolt request.

Background tasks and notifications use it; the Bolt app (``slackbot/app.py``) builds its own
from the same settings. Kept apart from the app so tasks never import Bolt's listeners.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from .conf import SlackConfig, get_config


def web_client(config: SlackConfig | None = None) -> WebClient:
    """A Web API client with the bot token (background tasks, notifications)."""
    config = config or get_config()
    client = WebClient(token=config.bot_token, base_url=config.api_url, timeout=config.timeout)
    # Slack answers bursts with 429 + Retry-After; one polite retry beats a lost update.
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    return client
