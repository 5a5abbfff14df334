"""Every Bolt listener and middleware of the bot, registered in one place.

Each interaction has two parts (Bolt's lazy listeners, see :mod:`slackbot.app`): an ``ack``
part that answers Slack at once without any network call, and a lazy part that does the
work through :class:`slackbot.handlers.XpmBot` once Slack has its answer. Modal submissions
are the exception: their answer (errors, or the "saved" view) is the acknowledgement, so
they are handled in the ack part, with database work only.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from . import blocks, builder
from .blocks import Message
from .conf import get_config
from .handlers import Invocation, Reply, XpmBot, invocation_from_body, parse_command, quick_reply
from .middleware import access_guard, replay_guard

# "/xpm", or "/xpm-staging" for a second Slack app pointed at a staging site.
COMMAND = re.compile(r"^/xpm(-[a-z0-9_-]+)?$")


def _reply_with(respond: Respond) -> Reply:
    """Replies through the response_url: ephemeral, so client data stays with the asker."""

    def reply(message: Message) -> None:
        respond(response_type="ephemeral", replace_original=False, **message.payload())

    return reply


def _bot(client: WebClient) -> XpmBot:
    return XpmBot(client=client, config=get_config())


def _invocation(command: dict[str, Any]) -> Invocation:
    return Invocation(
        team_id=str(command.get("team_id") or ""),
        user_id=str(command.get("user_id") or ""),
        channel_id=str(command.get("channel_id") or ""),
        text=str(command.get("text") or ""),
        trigger_id=str(command.get("trigger_id") or ""),
    )


def ack_now(ack: Ack) -> None:
    """The ack part of everything whose answer comes later."""
    ack()


# --- /xpm -----------------------------------------------------------------------------------


def ack_command(ack: Ack, command: dict[str, Any]) -> None:
    """Help (and "I don't know that") goes back in the acknowledgement itself."""
    quick = quick_reply(parse_command(str(command.get("text") or "")))
    if quick is not None:
        ack(response_type="ephemeral", **quick.payload())
    else:
        ack()


def run_command(command: dict[str, Any], client: WebClient, respond: Respond) -> None:
    inv = _invocation(command)
    if quick_reply(parse_command(inv.text)) is not None:
        return  # answered in the acknowledgement
    _bot(client).handle_command(inv, _reply_with(respond))


# --- buttons --------------------------------------------------------------------------------


def run_set_lead_owner(
    body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
) -> None:
    inv, reply, value = invocation_from_body(body), _reply_with(respond), action.get("value")
    bot = _bot(client)
    bot.safely("Make lead owner", reply, bot.set_lead_owner, inv, str(value or ""), reply)


def run_open_save_modal(
    body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
) -> None:
    inv, reply, value = invocation_from_body(body), _reply_with(respond), action.get("value")
    bot = _bot(client)
    bot.safely("Save as segment", reply, bot.open_save_modal, inv, str(value or ""), reply)


def run_builder_action(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
    bot = _bot(client)
    inv = invocation_from_body(body)
    bot.safely("Segment builder", None, bot.builder_action, inv, body["view"], action["action_id"])


# --- modal submissions ----------------------------------------------------------------------


def on_builder_submit(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
) -> None:
    ack(**_bot(client).submit_builder(invocation_from_body(body), view))


def on_save_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
    ack(**_bot(client).submit_save(invocation_from_body(body), view))


def register(app: App) -> None:
    """Attach the bot's middleware and listeners to ``app``."""
    app.use(replay_guard)
    app.use(access_guard)
    app.command(COMMAND)(ack=ack_command, lazy=[run_command])
    app.action(blocks.ACTION_SET_LEAD_OWNER)(ack=ack_now, lazy=[run_set_lead_owner])
    app.action(blocks.ACTION_SAVE_SEGMENT)(ack=ack_now, lazy=[run_open_save_modal])
    app.action(re.compile("^" + re.escape(builder.ACTION_PREFIX)))(
        ack=ack_now, lazy=[run_builder_action]
    )
    # Link buttons still send an action; acknowledging it is all there is to do.
    app.action(blocks.ACTION_OPEN_ADMIN)(ack_now)
    app.view(builder.VIEW_BUILDER)(on_builder_submit)
    app.view(blocks.VIEW_SAVE_SEGMENT)(on_save_submit)
