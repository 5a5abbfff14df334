"""Who a Slack user is on the website, and what they may do (docs/contracts.md 4.4).

Deny by default: a request must come from an allowed workspace (and channel, when channels
are configured), from a Slack user an admin linked to a Wagtail user (:class:`SlackUserLink`)
or whose Slack profile email (``users.info``) belongs to exactly one active Wagtail user,
and that user needs the Django permission of the command.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils.translation import gettext_noop

from wagtail_xpm import access

from .commands import PERMISSIONS
from .conf import SlackConfig
from .models import SlackUserLink

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

# A found user is remembered briefly so each command does not cost a users.info call; a miss
# is remembered for less, so someone who just got a Wagtail account is not kept waiting.
HIT_SECONDS = 300
MISS_SECONDS = 60

# Refusals: English here (marked for the catalog); callers translate them with gettext().
NOT_ALLOWED_WORKSPACE = gettext_noop("This Slack workspace is not allowed to use the XPM bot.")
NOT_ALLOWED_CHANNEL = gettext_noop("The XPM bot is not enabled in this channel.")
NO_USER = gettext_noop(
    "I can't match your Slack account to a website user. Ask an admin to link you "
    "(Settings → Slack users), or use the same email address in Slack and Wagtail."
)


@dataclass(frozen=True)
class Actor:
    """A Slack user and the Wagtail user they act as (``user`` None: nobody), on the bot's
    site (``site``: the Wagtail site the bot answers about)."""

    team_id: str
    slack_user_id: str
    user: AbstractBaseUser | None
    how: str = ""  # "link" or "email"
    site: Any = None

    def can(self, action: str) -> bool:
        """Whether the user holds any of the permissions ``action`` needs (commands.py), on
        the bot's site: a user limited to other sites is refused (docs/permissions.md)."""
        return can(self.user, action, self.site)


def can(user: Any, action: str, site: Any = None) -> bool:
    if user is None or not user.is_active:
        return False
    codenames = [perm.partition(".")[2] for perm in PERMISSIONS[action]]
    return access.holds(user, codenames, site)


def team_allowed(team_id: str | None, config: SlackConfig) -> bool:
    return bool(team_id) and team_id in config.allowed_team_ids


def channel_allowed(channel_id: str | None, config: SlackConfig) -> bool:
    """No channel list: every channel (and direct message); otherwise only those listed."""
    if not config.allowed_channel_ids:
        return True
    return bool(channel_id) and channel_id in config.allowed_channel_ids


def _cache_key(team_id: str, slack_user_id: str) -> str:
    return f"slackbot:user:{team_id}:{slack_user_id}"


def forget(team_id: str, slack_user_id: str) -> None:
    cache.delete(_cache_key(team_id, slack_user_id))


def users_info_email(client: Any, slack_user_id: str) -> str | None:
    """The Slack profile email via ``users.info`` (needs the users:read.email scope)."""
    from slack_sdk.errors import SlackApiError

    try:
        response = client.users_info(user=slack_user_id)
    except SlackApiError as exc:
        logger.warning("users.info failed for a Slack user: %s", exc.response.get("error"))
        return None
    user = response.get("user") or {}
    if user.get("deleted") or user.get("is_bot") or user.get("is_restricted"):
        # Guests (restricted users) and bots never act as staff, whatever their email.
        return None
    email = (user.get("profile") or {}).get("email")
    return email.strip() if isinstance(email, str) and email.strip() else None


def resolve(
    team_id: str,
    slack_user_id: str,
    *,
    lookup_email: Callable[[str], str | None],
) -> Actor:
    """The Wagtail user a Slack user acts as: an explicit link first, then the email."""
    link = (
        SlackUserLink.objects.select_related("user")
        .filter(team_id=team_id, slack_user_id=slack_user_id)
        .first()
    )
    if link is not None:
        # An explicit link is final: a deactivated linked user does not fall back to email.
        user = link.user if link.user.is_active else None
        return Actor(team_id, slack_user_id, user, "link" if user else "")
    user_model = get_user_model()
    key = _cache_key(team_id, slack_user_id)
    cached = cache.get(key)
    if cached is not None:
        user = user_model.objects.filter(pk=cached, is_active=True).first() if cached else None
        return Actor(team_id, slack_user_id, user, "email" if user else "")
    email = lookup_email(slack_user_id)
    user = None
    if email:
        email_field = user_model.get_email_field_name()
        matches = list(
            user_model.objects.filter(**{f"{email_field}__iexact": email, "is_active": True})[:2]
        )
        # Two accounts with one email: refuse rather than guess which one acts.
        user = matches[0] if len(matches) == 1 else None
    cache.set(key, user.pk if user else 0, HIT_SECONDS if user else MISS_SECONDS)
    return Actor(team_id, slack_user_id, user, "email" if user else "")
