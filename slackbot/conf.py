"""The Slack bot's settings, read in one place (docs/contracts.md 4.1).

Every value comes from Django settings (the example site fills them from the environment);
:func:`get_config` returns a frozen, hashable snapshot so the Bolt app built from it can be
cached per configuration and rebuilt when a test changes a setting.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

DEFAULT_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class SlackConfig:
    """What the bot needs to talk to Slack and whom it serves."""

    signing_secret: str = ""
    bot_token: str = ""
    app_token: str = ""
    api_url: str = DEFAULT_API_URL
    # Channel (id or name) for notifications; empty turns them off.
    notify_channel: str = ""
    # Workspaces whose users may use the bot; empty means nobody (deny by default).
    allowed_team_ids: tuple[str, ...] = ()
    # When set, commands are only accepted in these channels.
    allowed_channel_ids: tuple[str, ...] = ()
    # The work after an acknowledgement runs on Bolt's worker threads; False runs it before
    # answering Slack instead (tests and debugging only: Slack gives up after 3 seconds).
    background_work: bool = True
    # Seconds between progress updates of a sync message, and how long one is followed.
    progress_interval: float = 3.0
    follow_max_seconds: int = 6 * 3600
    # Which Wagtail site the bot works on (hostname); empty means the default site.
    site_hostname: str = ""
    # Optional, only to ignore the bot's own events (commands never need it).
    bot_user_id: str = ""
    # Web API timeout (seconds) for calls made by the bot.
    timeout: int = 10

    @property
    def http_ready(self) -> bool:
        """HTTP mode needs both the signing secret (to verify requests) and a bot token."""
        return bool(self.signing_secret and self.bot_token)


def _ids(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    return tuple(item.strip() for item in items if item and item.strip())


def get_config() -> SlackConfig:
    """The current settings as a :class:`SlackConfig`."""
    api_url = getattr(settings, "SLACK_API_URL", "") or DEFAULT_API_URL
    if not api_url.endswith("/"):
        # slack_sdk joins method names onto the base URL.
        api_url += "/"
    return SlackConfig(
        signing_secret=getattr(settings, "SLACK_SIGNING_SECRET", "") or "",
        bot_token=getattr(settings, "SLACK_BOT_TOKEN", "") or "",
        app_token=getattr(settings, "SLACK_APP_TOKEN", "") or "",
        api_url=api_url,
        notify_channel=getattr(settings, "SLACK_NOTIFY_CHANNEL", "") or "",
        allowed_team_ids=_ids(getattr(settings, "SLACK_ALLOWED_TEAM_IDS", ())),
        allowed_channel_ids=_ids(getattr(settings, "SLACK_ALLOWED_CHANNEL_IDS", ())),
        background_work=bool(getattr(settings, "SLACK_BACKGROUND_WORK", True)),
        progress_interval=float(getattr(settings, "SLACK_PROGRESS_INTERVAL", 3.0)),
        follow_max_seconds=int(getattr(settings, "SLACK_FOLLOW_MAX_SECONDS", 6 * 3600)),
        site_hostname=getattr(settings, "SLACK_SITE_HOSTNAME", "") or "",
        bot_user_id=getattr(settings, "SLACK_BOT_USER_ID", "") or "",
        timeout=int(getattr(settings, "SLACK_TIMEOUT", 10)),
    )


#: What to tell someone who installed the app without its optional dependency.
MISSING_EXTRA = (
    'The Slack bot needs slack-bolt, the "slack" extra: pip install "wagtail-xpm[slack]"'
)


def bolt_installed() -> bool:
    """Whether slack-bolt (the ``slack`` extra) can be imported.

    ``slackbot`` may sit in INSTALLED_APPS without it: the app then registers nothing that
    needs Bolt, its URL answers 503, and ``manage.py check`` reports ``slackbot.E010``.
    """
    return importlib.util.find_spec("slack_bolt") is not None
