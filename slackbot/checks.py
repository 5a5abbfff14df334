"""System checks for the Slack bot's settings."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Warning, register

from .conf import MISSING_EXTRA, bolt_installed, get_config


@register()
def check_slack_installed(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if bolt_installed():
        return []
    return [
        Error(
            MISSING_EXTRA,
            hint='Or remove "slackbot" from INSTALLED_APPS if you do not use the Slack bot.',
            id="slackbot.E010",
        )
    ]


@register()
def check_slack_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    config = get_config()
    messages: list[CheckMessage] = []
    if not config.bot_token:
        return messages  # the bot is simply not in use
    if not config.signing_secret and not config.app_token:
        messages.append(
            Warning(
                "SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (HTTP mode) nor "
                "SLACK_APP_TOKEN (Socket Mode) is, so the bot cannot receive commands.",
                id="slackbot.W001",
            )
        )
    if not config.allowed_team_ids:
        messages.append(
            Warning(
                "SLACK_ALLOWED_TEAM_IDS is empty: the Slack bot refuses every request.",
                hint="Set it to your workspace ID (T…); see docs/slack.md.",
                id="slackbot.W002",
            )
        )
    return messages
