"""What the bot does, free of Bolt: commands, button presses and modal submissions.

The Bolt listeners (:mod:`slackbot.listeners`) acknowledge Slack, turn its payload into an
:class:`Invocation` and call :class:`XpmBot`; replies go back through a ``reply`` callable
(the command's ``response_url``, so they are ephemeral: only the person who asked sees
client data). The bot talks to the website only through ``wagtail_xpm.services``, the
models and the adapters for segments and leads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from slack_sdk.errors import SlackApiError

from wagtail_xpm import services
from wagtail_xpm.models import PracticeStaff, SyncRun
from wagtail_xpm.segments.describe import describe
from wagtail_xpm.segments.parse import ExpressionError
from wagtail_xpm.segments.vocabulary import FieldInfo

from . import blocks, builder, identity, leads_adapter, queries, segments_adapter
from .blocks import Message
from .commands import Command, UsageError, parse_command, parse_sync_options
from .conf import SlackConfig
from .data import SegmentPreview, StaffEntry
from .expressions import parse_slack

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from wagtail.models import Site

    from wagtail_xpm.models import XpmConnection

logger = logging.getLogger(__name__)

Reply = Callable[[Message], None]

# What each action's refusal says (the permissions are in commands.PERMISSIONS).
_REFUSALS = {
    "sync": gettext_lazy(
        "You don't have permission to start a sync (needs “Can connect and disconnect Xero "
        "Practice Manager”)."
    ),
    "status": gettext_lazy("You don't have permission to see the XPM status."),
    "staff": gettext_lazy("You don't have permission to look up XPM staff."),
    "set_lead_owner": gettext_lazy("You don't have permission to choose the lead owner."),
    "segment": gettext_lazy("You don't have permission to look at contacts."),
    "segments": gettext_lazy("You don't have permission to look at contacts."),
    "who": gettext_lazy("You don't have permission to look at contacts."),
    "save_segment": gettext_lazy(
        "You don't have permission to save segments (needs the “add segment” permission)."
    ),
}
# Errors from chat.postMessage that mean "not in this channel": post to the person instead.
_NOT_IN_CHANNEL = frozenset({"not_in_channel", "channel_not_found", "is_archived"})


@dataclass(frozen=True)
class Invocation:
    """Who asked, where, and what they typed (from a command, action or view payload)."""

    team_id: str
    user_id: str
    channel_id: str = ""
    text: str = ""
    trigger_id: str = ""


def quick_reply(command: Command) -> Message | None:
    """An answer that needs no lookup, so it can go back in the acknowledgement itself."""
    if command.name == "help":
        return blocks.help_message()
    if command.name == "unknown":
        message = blocks.help_message()
        note = _("I don't know %(command)s.") % {"command": f"`{blocks.esc(command.typed)}`"}
        return Message(
            text=_("I don't know %(command)s.") % {"command": f"“{command.typed}”"}
            + " "
            + message.text,
            blocks=[
                blocks.section(note + " " + _("Here is what I can do:")),
                *message.blocks[1:],
            ],
        )
    return None


def fields_hint(fields: list[FieldInfo]) -> str:
    mapped = [str(f.label) for f in fields if not f.builtin]
    builtin = [str(f.label) for f in fields if f.builtin]
    return _("Fields: %(mapped)s; built in: %(builtin)s.") % {
        "mapped": ", ".join(mapped[:15]),
        "builtin": ", ".join(builtin),
    }


class XpmBot:
    """The bot's behaviour for one Slack workspace's requests."""

    def __init__(self, *, client: WebClient, config: SlackConfig) -> None:
        self.client = client
        self.config = config

    # --- who is asking ----------------------------------------------------------------------

    def actor(self, inv: Invocation) -> identity.Actor:
        actor = identity.resolve(
            inv.team_id,
            inv.user_id,
            lookup_email=partial(identity.users_info_email, self.client),
        )
        # Permissions count on the bot's site only (docs/permissions.md).
        return replace(actor, site=queries.current_site(self.config))

    def permitted(self, inv: Invocation, action: str, reply: Reply) -> identity.Actor | None:
        """The actor when they may do ``action``; otherwise a refusal is sent and None."""
        actor = self.actor(inv)
        if actor.user is None:
            reply(blocks.refusal(_(identity.NO_USER)))
            return None
        if not actor.can(action):
            reply(blocks.refusal(_REFUSALS[action]))
            return None
        return actor

    def site_and_connection(
        self, reply: Reply, *, usable: bool = False
    ) -> tuple[Site, XpmConnection] | None:
        site = queries.current_site(self.config)
        connection = queries.connection_for(site)
        if site is None or connection is None:
            reply(blocks.error_message(_("This site is not connected to Xero Practice Manager.")))
            return None
        if usable and not connection.is_usable:
            reply(
                blocks.error_message(
                    _("The XPM connection is not usable: %(status)s.")
                    % {"status": connection.get_status_display()},
                    _("An admin can reconnect it in the Wagtail admin."),
                )
            )
            return None
        return site, connection

    # --- commands ---------------------------------------------------------------------------

    def handle_command(self, inv: Invocation, reply: Reply) -> None:
        """Run a command after Slack was acknowledged; every answer goes through ``reply``."""
        command = parse_command(inv.text)
        quick = quick_reply(command)
        if quick is not None:
            reply(quick)
            return
        handler = {
            "sync": self.sync,
            "status": self.status,
            "staff": self.staff,
            "segment": self.segment,
            "segments": self.segments,
            "who": self.who,
        }[command.name]
        self.safely(f"/xpm {command.name}", reply, handler, inv, command.args, reply)

    def safely(self, what: str, reply: Reply | None, work: Callable[..., Any], *args: Any) -> None:
        """Run ``work``; if it fails, the person gets a sentence and the log the details
        (never their data). Work after an ack has nobody else to tell."""
        try:
            work(*args)
        except Exception:
            logger.exception("%s failed", what)
            if reply is not None:
                try:
                    reply(blocks.error_message(_("Something went wrong; the error was logged.")))
                except Exception:  # noqa: BLE001 - Slack itself may be what failed
                    logger.exception("Could not tell the user that %s failed", what)

    def sync(self, inv: Invocation, args: str, reply: Reply) -> None:
        actor = self.permitted(inv, "sync", reply)
        if actor is None:
            return
        try:
            options = parse_sync_options(args)
        except UsageError as exc:
            reply(blocks.error_message(str(exc)))
            return
        found = self.site_and_connection(reply, usable=True)
        if found is None:
            return
        _site, connection = found
        running = queries.running_run(connection)
        if running is not None:
            reply(blocks.sync_already_running(queries.run_snapshot(running)))
            return
        # The same task the admin's "Sync now" queues (services decides how).
        run = services.enqueue_sync(
            connection,
            trigger="slack",
            user=actor.user,
            full=options.full,
            dry_run=options.dry_run,
        )
        run = SyncRun.objects.select_related("triggered_by").get(pk=run.pk)
        message = blocks.sync_message(queries.run_snapshot(run))
        posted = self.post_where_asked(inv, message, reply)
        if posted is None or run.is_finished:
            return
        from .progress import remember
        from .tasks import follow_sync

        channel, ts = posted
        remember(channel, ts, message.payload())
        follow_sync.schedule((run.pk, channel, ts, 1), delay=self.config.progress_interval)

    def post_where_asked(
        self, inv: Invocation, message: Message, reply: Reply
    ) -> tuple[str, str] | None:
        """Post a visible message in the channel of the command, else to the person."""
        try:
            response = self.client.chat_postMessage(channel=inv.channel_id, **message.payload())
        except SlackApiError as exc:
            if exc.response.get("error") not in _NOT_IN_CHANNEL:
                raise
            response = self.client.chat_postMessage(channel=inv.user_id, **message.payload())
            reply(
                blocks.info_message(
                    _(
                        "I'm not a member of this channel, so the sync's progress is in our "
                        "direct messages. Invite me to the channel to see it here next time."
                    )
                )
            )
        return str(response["channel"]), str(response["ts"])

    def status(self, inv: Invocation, args: str, reply: Reply) -> None:
        if self.permitted(inv, "status", reply) is None:
            return
        site = queries.current_site(self.config)
        if site is None:
            reply(blocks.error_message(_("There is no Wagtail site to report on.")))
            return
        reply(blocks.status_message(queries.status_snapshot(site, queries.connection_for(site))))

    def staff(self, inv: Invocation, args: str, reply: Reply) -> None:
        actor = self.permitted(inv, "staff", reply)
        if actor is None:
            return
        query = args.strip()
        if not query:
            reply(blocks.error_message(_("Say whom to look for: `/xpm staff <name or email>`.")))
            return
        found = self.site_and_connection(reply)
        if found is None:
            return
        site, connection = found
        if not PracticeStaff.objects.filter(connection=connection).exists():
            if not connection.is_usable:
                reply(
                    blocks.error_message(_("No XPM staff are known yet, and XPM is not connected."))
                )
                return
            # First use: read the staff list from XPM once (the admin does the same).
            services.refresh_staff(connection)
        entries, more = queries.staff_matches(site, connection, query)
        reply(
            blocks.staff_message(
                query,
                entries,
                can_set_owner=actor.can("set_lead_owner"),
                owner_supported=leads_adapter.owner_supported(),
                more=more,
            )
        )

    def segment(self, inv: Invocation, args: str, reply: Reply) -> None:
        if not args.strip():
            self.open_builder(inv, reply)
            return
        actor = self.permitted(inv, "segment", reply)
        if actor is None:
            return
        found = self.site_and_connection(reply)
        if found is None:
            return
        _site, connection = found
        fields = segments_adapter.fields_for(connection)
        try:
            expression = parse_slack(args, fields)
        except ExpressionError as exc:
            reply(blocks.error_message(exc.message, exc.hint or fields_hint(fields)))
            return
        description = describe(expression.match, expression.rules, fields)
        try:
            counted = segments_adapter.count(
                connection, expression.match, expression.rules, user=actor.user
            )
        except segments_adapter.SegmentsUnavailable as exc:
            read_as = _("I read this as: %(description)s.") % {"description": description}
            reply(blocks.error_message(f"{read_as} {exc}"))
            return
        except segments_adapter.SegmentRuleError as exc:
            read_as = _("I read this as: %(description)s.") % {"description": description}
            reply(blocks.error_message(read_as, "; ".join(exc.errors)))
            return
        can_save = actor.can("save_segment")
        preview = SegmentPreview(
            expression=args.strip(),
            description=description,
            count=counted.count,
            sample=counted.sample,
            notes=expression.notes,
            can_save=can_save,
            save_blocked=""
            if can_save
            else _("Saving segments needs the “add segment” permission."),
        )
        reply(blocks.segment_preview(preview))

    def segments(self, inv: Invocation, args: str, reply: Reply) -> None:
        if self.permitted(inv, "segments", reply) is None:
            return
        found = self.site_and_connection(reply)
        if found is None:
            return
        try:
            entries = segments_adapter.saved_segments(found[1])
        except segments_adapter.SegmentsUnavailable as exc:
            reply(blocks.error_message(str(exc)))
            return
        reply(blocks.segments_message(entries))

    def who(self, inv: Invocation, args: str, reply: Reply) -> None:
        actor = self.permitted(inv, "who", reply)
        if actor is None:
            return
        email = args.strip()
        if "@" not in email or " " in email:
            reply(blocks.error_message(_("Give an email address: `/xpm who jo@example.com`.")))
            return
        found = self.site_and_connection(reply)
        if found is None:
            return
        reply(blocks.who_message(email, queries.who(found[1], email, actor.user)))

    # --- lead owner button ------------------------------------------------------------------

    def set_lead_owner(self, inv: Invocation, staff_uuid: str, reply: Reply) -> None:
        if self.permitted(inv, "set_lead_owner", reply) is None:
            return
        found = self.site_and_connection(reply)
        if found is None:
            return
        site, connection = found
        # Only someone from the synced staff list, never an id from the payload as such.
        member = PracticeStaff.objects.filter(
            connection=connection, uuid=staff_uuid, is_current=True
        ).first()
        if member is None:
            reply(blocks.error_message(_("That staff member is no longer in XPM's staff list.")))
            return
        if not leads_adapter.owner_supported():
            reply(blocks.error_message(_("Website leads are not available on this site.")))
            return
        leads_adapter.set_owner(site, member)
        logger.info("Lead owner changed from Slack for site %s", site.pk)
        reply(blocks.lead_owner_set(StaffEntry(member.uuid, member.name, member.email)))

    # --- the segment builder modal ----------------------------------------------------------

    def open_builder(self, inv: Invocation, reply: Reply) -> None:
        """Open the modal at once (the trigger expires in 3 s), then fill it in."""
        loading = blocks.notice_view(_("Segment builder"), _("Loading fields…"))
        opened = self.client.views_open(trigger_id=inv.trigger_id, view=loading)
        view_id = opened["view"]["id"]
        actor = self.actor(inv)
        refusal = ""
        if actor.user is None:
            refusal = _(identity.NO_USER)
        elif not actor.can("segment"):
            refusal = str(_REFUSALS["segment"])
        site = queries.current_site(self.config)
        connection = queries.connection_for(site)
        if not refusal and connection is None:
            refusal = _("This site is not connected to Xero Practice Manager.")
        if refusal:
            self.client.views_update(view_id=view_id, view=blocks.notice_view("XPM", refusal))
            return
        assert connection is not None
        state = builder.BuilderState(channel=inv.channel_id)
        view = self.builder_view(state, connection, actor)
        self.client.views_update(view_id=view_id, view=view)

    def builder_view(
        self, state: builder.BuilderState, connection: XpmConnection, actor: identity.Actor
    ) -> dict[str, Any]:
        fields = segments_adapter.fields_for(connection)
        result = builder.state_rules(state, fields)
        count, unavailable = None, ""
        if result.rules and not builder.blocking_errors(result):
            try:
                count = segments_adapter.count(
                    connection,
                    state.match,
                    result.rules,
                    client_scope=state.client_scope,
                    sample=0,
                    user=actor.user,
                ).count
            except segments_adapter.SegmentsUnavailable as exc:
                unavailable = str(exc)
            except segments_adapter.SegmentRuleError as exc:
                unavailable = exc.errors[0]
        line = builder.count_line(result, state, fields, count, unavailable=unavailable)
        can_save = actor.can("save_segment") and segments_adapter.available()
        return builder.builder_view(state, fields, count_text=line, can_save=can_save)

    def builder_action(self, inv: Invocation, view: dict[str, Any], action_id: str) -> None:
        """A change in the builder: redraw it with the new live count."""
        actor = self.actor(inv)
        site = queries.current_site(self.config)
        connection = queries.connection_for(site)
        if actor.user is None or connection is None or not actor.can("segment"):
            if actor.user is None:
                refusal = _(identity.NO_USER)
            elif connection is None:
                refusal = _("This site is not connected to Xero Practice Manager.")
            else:
                refusal = str(_REFUSALS["segment"])
            self.client.views_update(view_id=view["id"], view=blocks.notice_view("XPM", refusal))
            return
        state = builder.read_state(view)
        if action_id == builder.ACTION_ADD:
            state = state.with_rows(len(state.rows) + 1)
        elif action_id == builder.ACTION_REMOVE:
            state = state.with_rows(len(state.rows) - 1)
        new_view = self.builder_view(state, connection, actor)
        try:
            self.client.views_update(view_id=view["id"], hash=view.get("hash"), view=new_view)
        except SlackApiError as exc:
            # Typing fast: a newer change already redrew the view, and it will be redrawn again.
            if exc.response.get("error") != "hash_conflict":
                raise

    def submit_builder(self, inv: Invocation, view: dict[str, Any]) -> dict[str, Any]:
        """The builder's Save: Slack's ``response_action`` for the acknowledgement."""
        state = builder.read_state(view)
        actor = self.actor(inv)
        if not actor.can("save_segment"):
            return _errors({blocks.BLOCK_SEGMENT_NAME: _("You may not save segments.")})
        connection = queries.connection_for(queries.current_site(self.config))
        if connection is None:
            return _errors({blocks.BLOCK_SEGMENT_NAME: _("The site is not connected to XPM.")})
        fields = segments_adapter.fields_for(connection)
        result = builder.state_rules(state, fields)
        errors = dict(result.errors)
        if not state.name:
            errors[blocks.BLOCK_SEGMENT_NAME] = _("Give the segment a name.")
        if errors:
            return _errors(errors)
        description = describe(state.match, result.rules, fields)
        return self._save(
            connection,
            actor,
            name=state.name,
            match=state.match,
            rules=result.rules,
            client_scope=state.client_scope,
            description=description,
        )

    # --- "Save as segment" from a /xpm segment answer ---------------------------------------

    def open_save_modal(self, inv: Invocation, expression_text: str, reply: Reply) -> None:
        actor = self.permitted(inv, "save_segment", reply)
        if actor is None:
            return
        found = self.site_and_connection(reply)
        if found is None:
            return
        connection = found[1]
        fields = segments_adapter.fields_for(connection)
        try:
            expression = parse_slack(expression_text, fields)
            counted = segments_adapter.count(
                connection, expression.match, expression.rules, sample=0, user=actor.user
            )
        except ExpressionError as exc:
            reply(blocks.error_message(exc.message, exc.hint))
            return
        except (segments_adapter.SegmentsUnavailable, segments_adapter.SegmentRuleError) as exc:
            reply(blocks.error_message(str(exc)))
            return
        view = blocks.save_segment_modal(
            expression=expression_text,
            description=describe(expression.match, expression.rules, fields),
            count=counted.count,
            private_metadata={"expression": expression_text, "channel": inv.channel_id},
        )
        self.client.views_open(trigger_id=inv.trigger_id, view=view)

    def submit_save(self, inv: Invocation, view: dict[str, Any]) -> dict[str, Any]:
        values = (view.get("state") or {}).get("values") or {}
        name = str(
            ((values.get(blocks.BLOCK_SEGMENT_NAME) or {}).get("name") or {}).get("value") or ""
        ).strip()
        scope_state = (values.get(blocks.BLOCK_CLIENT_SCOPE) or {}).get("scope") or {}
        scope = str((scope_state.get("selected_option") or {}).get("value") or "primary")
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            meta = {}
        actor = self.actor(inv)
        if not actor.can("save_segment"):
            return _errors({blocks.BLOCK_SEGMENT_NAME: _("You may not save segments.")})
        if not name:
            return _errors({blocks.BLOCK_SEGMENT_NAME: _("Give the segment a name.")})
        connection = queries.connection_for(queries.current_site(self.config))
        if connection is None:
            return _errors({blocks.BLOCK_SEGMENT_NAME: _("The site is not connected to XPM.")})
        fields = segments_adapter.fields_for(connection)
        try:
            expression = parse_slack(str(meta.get("expression") or ""), fields)
        except ExpressionError as exc:
            return _errors({blocks.BLOCK_SEGMENT_NAME: exc.message[:150]})
        return self._save(
            connection,
            actor,
            name=name,
            match=expression.match,
            rules=expression.rules,
            client_scope=scope if scope in ("primary", "any") else "primary",
            description=describe(expression.match, expression.rules, fields),
        )

    def _save(
        self,
        connection: XpmConnection,
        actor: identity.Actor,
        *,
        name: str,
        match: str,
        rules: list[dict[str, Any]],
        client_scope: str,
        description: str,
    ) -> dict[str, Any]:
        try:
            segments_adapter.save(
                connection,
                name=name,
                match=match,
                rules=rules,
                client_scope=client_scope,
                user=actor.user,
                description=description,
            )
            count = segments_adapter.count(
                connection, match, rules, client_scope=client_scope, sample=0, user=actor.user
            ).count
        except segments_adapter.DuplicateSegmentName:
            return _errors(
                {
                    blocks.BLOCK_SEGMENT_NAME: _("A segment called “%(name)s” exists.")
                    % {"name": name}
                }
            )
        except segments_adapter.SegmentRuleError as exc:
            return _errors({blocks.BLOCK_SEGMENT_NAME: "; ".join(exc.errors)[:150]})
        except segments_adapter.SegmentsUnavailable as exc:
            return _errors({blocks.BLOCK_SEGMENT_NAME: str(exc)[:150]})
        logger.info("Segment saved from Slack for connection %s", connection.pk)
        return {
            "response_action": "update",
            "view": blocks.segment_saved_view(name, count, description),
        }


def _errors(errors: dict[str, str]) -> dict[str, Any]:
    return {"response_action": "errors", "errors": errors}


def invocation_from_body(body: dict[str, Any]) -> Invocation:
    """An Invocation from an interaction payload (block_actions, view_submission)."""
    user = body.get("user") or {}
    team = body.get("team") or {}
    channel = (body.get("channel") or {}).get("id") or ""
    if not channel and body.get("view"):
        try:
            channel = json.loads(body["view"].get("private_metadata") or "{}").get("channel", "")
        except (ValueError, AttributeError):
            channel = ""
    return Invocation(
        team_id=str(team.get("id") or user.get("team_id") or ""),
        user_id=str(user.get("id") or ""),
        channel_id=str(channel or ""),
        trigger_id=str(body.get("trigger_id") or ""),
    )


__all__ = ["Invocation", "Reply", "XpmBot", "invocation_from_body", "parse_command", "quick_reply"]
