"""Block Kit builders: pure functions from plain snapshots to Slack messages and views.

Every message carries a plain-text ``text`` as well as ``blocks``: Slack shows it in
notifications, and screen readers and old clients read it instead of the blocks. Nothing
here touches the database or the network; the words go through Django's translations, in
the language active when a message is built (the site's ``LANGUAGE_CODE`` unless a caller
activates another).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .commands import COMMANDS, CommandInfo
from .data import (
    ContactEntry,
    RunSnapshot,
    SegmentEntry,
    SegmentPreview,
    StaffEntry,
    StatusSnapshot,
    WhoSnapshot,
)

# Interactive ids (listeners match these).
ACTION_SET_LEAD_OWNER = "xpm_set_lead_owner"
ACTION_SAVE_SEGMENT = "xpm_segment_save_open"
ACTION_OPEN_ADMIN = "xpm_open_admin"
VIEW_SAVE_SEGMENT = "xpm_segment_save"
BLOCK_SEGMENT_NAME = "segment_name"
BLOCK_CLIENT_SCOPE = "client_scope"

# Slack's limits (characters / items), kept well inside.
SECTION_LIMIT = 2900
FIELD_LIMIT = 1900
BUTTON_VALUE_LIMIT = 2000
MAX_FIELDS = 10


@dataclass(frozen=True)
class Message:
    """A Slack message: the plain-text fallback and the blocks."""

    text: str
    blocks: list[dict[str, Any]]

    def payload(self) -> dict[str, Any]:
        """Keyword arguments for chat.postMessage / chat.update / respond()."""
        return {"text": self.text, "blocks": self.blocks}


# --- small pieces ---------------------------------------------------------------------------


def esc(text: object) -> str:
    """Text made safe for mrkdwn: Slack reads ``<``, ``>`` and ``&`` as markup."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(str(text), SECTION_LIMIT)}


def plain(text: str, limit: int = 150) -> dict[str, Any]:
    # str(): lazy translations (operator labels, refusals) become text before JSON.
    return {"type": "plain_text", "text": clip(str(text), limit), "emoji": True}


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text), **extra}


def fields_section(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": "section",
        "fields": [
            mrkdwn(clip(f"*{esc(label)}*\n{value}", FIELD_LIMIT))
            for label, value in list(pairs)[:MAX_FIELDS]
        ],
    }


def context(*texts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts if t][:10]}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": plain(text)}


def link_button(text: str, url: str, action_id: str = ACTION_OPEN_ADMIN) -> dict[str, Any]:
    return {"type": "button", "text": plain(text, 75), "url": url, "action_id": action_id}


def slack_date(when: datetime | None, fmt: str = "{date_short_pretty} at {time}") -> str:
    """A date Slack shows in each reader's own time zone, with a UTC fallback."""
    if when is None:
        return _("never")
    fallback = when.strftime("%Y-%m-%d %H:%M UTC") if when.tzinfo else when.isoformat()
    return f"<!date^{int(when.timestamp())}^{fmt}|{fallback}>"


def progress_bar(percent: int | None, width: int = 20) -> str:
    if percent is None:
        return ""
    filled = max(0, min(width, round(width * percent / 100)))
    return "▓" * filled + "░" * (width - filled)


# --- help and refusals ----------------------------------------------------------------------


def help_message(commands: Sequence[CommandInfo] = COMMANDS) -> Message:
    lines = []
    for info in commands:
        line = f"• `/xpm {esc(info.usage)}`: {esc(info.summary)}"
        if info.example:
            line += "\n   " + _("e.g. %(example)s") % {"example": f"`{esc(info.example)}`"}
        lines.append(line)
    text = (
        _("XPM commands:")
        + "\n"
        + "\n".join(f"/xpm {info.usage}: {info.summary}" for info in commands)
    )
    title = _("XPM bot commands")
    return Message(
        text=text,
        blocks=[
            section(f"*{title}*"),
            section("\n".join(lines)),
            context(_("Replies with client data are only shown to you.")),
        ],
    )


def refusal(text: str) -> Message:
    text = str(text)  # a lazy translation (identity's refusals) becomes text for JSON
    return Message(text=text, blocks=[section(f":no_entry: {esc(text)}")])


def error_message(text: str, hint: str = "") -> Message:
    text, hint = str(text), str(hint)
    blocks = [section(f":warning: {esc(text)}")]
    if hint:
        blocks.append(context(esc(hint)))
    return Message(text=f"{text} {hint}".strip(), blocks=blocks)


def info_message(text: str) -> Message:
    text = str(text)
    return Message(text=text, blocks=[section(esc(text))])


# --- sync progress --------------------------------------------------------------------------

_RUN_ICONS = {
    "queued": ":hourglass_flowing_sand:",
    "running": ":arrows_counterclockwise:",
    "succeeded": ":white_check_mark:",
    "partial": ":warning:",
    "failed": ":x:",
    "abandoned": ":x:",
    "skipped": ":double_vertical_bar:",
}


def _run_kind(run: RunSnapshot) -> str:
    words = [_("full") if run.full else _("incremental")]
    if run.dry_run:
        words.append(_("dry run"))
    return ", ".join(words)


def sync_message(run: RunSnapshot) -> Message:
    """The one message a Slack-started sync updates in place: queued, progress, summary."""
    icon = _RUN_ICONS.get(run.status, ":grey_question:")
    values = {"id": run.id, "kind": _run_kind(run), "who": esc(run.started_by)}
    if run.started_by:
        title = f"{icon} " + _("*XPM sync #%(id)s* (%(kind)s) by %(who)s") % values
    else:
        title = f"{icon} " + _("*XPM sync #%(id)s* (%(kind)s)") % values
    blocks: list[dict[str, Any]] = [section(title)]
    if run.status == "queued":
        text = _("XPM sync #%(id)s is queued.") % values
        blocks.append(section(_("Queued: waiting for a worker to start it.")))
    elif not run.finished:
        phase = run.phase or _("Starting")
        if run.progress_total:
            detail = _("%(done)s of %(total)s") % {
                "done": f"{run.progress_done:,}",
                "total": f"{run.progress_total:,}",
            }
            if run.percent is not None:
                detail += f" ({run.percent}%)"
            body = f"*{esc(phase)}*: {detail}\n`{progress_bar(run.percent)}`"
        else:
            body = f"*{esc(phase)}*"
            if run.clients_seen:
                body += ": " + ngettext(
                    "%(count)s client read so far",
                    "%(count)s clients read so far",
                    run.clients_seen,
                ) % {"count": f"{run.clients_seen:,}"}
        blocks.append(section(body))
        text = _("XPM sync #%(id)s is running: %(phase)s") % {"id": run.id, "phase": phase}
        if run.percent is not None:
            text += f" ({run.percent}%)"
        text += "."
    else:
        text, summary_blocks = _run_summary(run)
        blocks += summary_blocks
    when = []
    if run.started_at:
        when.append(_("Started %(time)s") % {"time": slack_date(run.started_at, "{time}")})
    if run.finished_at:
        when.append(_("finished %(time)s") % {"time": slack_date(run.finished_at, "{time}")})
    if when:
        blocks.append(context(", ".join(when)))
    if run.admin_url:
        blocks.append(
            {"type": "actions", "elements": [link_button(_("Open in admin"), run.admin_url)]}
        )
    return Message(text=text, blocks=blocks)


def _run_summary(run: RunSnapshot) -> tuple[str, list[dict[str, Any]]]:
    counts = run.counts
    would = _("Would create") if run.dry_run else _("Created")
    pairs = [
        (would, f"{counts.get('created', 0):,}"),
        (_("Would update") if run.dry_run else _("Updated"), f"{counts.get('updated', 0):,}"),
        (_("Unchanged"), f"{counts.get('unchanged', 0):,}"),
        (_("Skipped duplicates"), f"{counts.get('skipped_duplicates', 0):,}"),
        (_("Archived"), f"{counts.get('archived', 0):,}"),
        (_("XPM calls"), f"{counts.get('api_calls', 0):,}"),
    ]
    if counts.get("day_calls_remaining") is not None:
        pairs.append((_("Calls left today"), f"{counts['day_calls_remaining']:,}"))
    if counts.get("custom_fields_pending"):
        pairs.append((_("Custom fields pending"), f"{counts['custom_fields_pending']:,}"))
    blocks: list[dict[str, Any]] = []
    label = run.status_label or run.status
    if run.status == "succeeded":
        if run.dry_run:
            headline = _("Sync finished: nothing was changed (dry run).")
        else:
            headline = _("Sync finished.")
    elif run.status == "skipped":
        headline = _("Not started: %(reason)s") % {
            "reason": run.message or _("another sync was running.")
        }
    else:
        headline = f"{label}: {run.message}" if run.message else f"{label}."
    blocks.append(section(esc(headline)))
    if run.status not in ("skipped",):
        blocks.append(fields_section(pairs))
    if run.errors:
        blocks.append(context(esc("; ".join(run.errors[:3]))))
    summary = ", ".join(f"{value} {name.lower()}" for name, value in pairs[:5])
    text = _("XPM sync #%(id)s %(status)s: %(summary)s.") % {
        "id": run.id,
        "status": label.lower(),
        "summary": summary,
    }
    if run.status == "skipped":
        text = _("XPM sync #%(id)s was not started: %(reason)s") % {
            "id": run.id,
            "reason": run.message,
        }
    elif run.message and run.status != "succeeded":
        text += f" {run.message}"
    return text, blocks


def sync_follow_timeout(run: RunSnapshot, minutes: int) -> Message:
    base = sync_message(run)
    note = context(
        ngettext(
            "This message stopped following the sync after %(minutes)s minute; "
            "the admin's Sync history has the result.",
            "This message stopped following the sync after %(minutes)s minutes; "
            "the admin's Sync history has the result.",
            minutes,
        )
        % {"minutes": minutes}
    )
    return Message(text=base.text, blocks=[*base.blocks, note])


def sync_already_running(run: RunSnapshot) -> Message:
    if run.status == "queued":
        text = _("A sync is already queued: #%(id)s starts as soon as a worker is free.") % {
            "id": run.id
        }
    else:
        detail = f" ({run.percent}%)" if run.percent is not None else ""
        text = _("A sync is already running: #%(id)s, %(phase)s%(detail)s.") % {
            "id": run.id,
            "phase": run.phase or _("starting"),
            "detail": detail,
        }
    return Message(text=text, blocks=[section(esc(text))])


# --- status ---------------------------------------------------------------------------------

_STATUS_ICONS = {
    "connected": ":large_green_circle:",
    "needs_reauth": ":red_circle:",
    "choose_tenant": ":large_yellow_circle:",
    "disconnected": ":white_circle:",
}


def status_message(status: StatusSnapshot) -> Message:
    icon = _STATUS_ICONS.get(status.status, ":grey_question:")
    if status.connected:
        headline = f"{icon} " + _("Connected to *%(practice)s*") % {
            "practice": esc(status.tenant_name)
        }
    else:
        headline = f"{icon} {esc(status.status_label)}"
    if status.last_error:
        headline += f"\n> {esc(clip(status.last_error, 500))}"
    blocks: list[dict[str, Any]] = [
        header(_("XPM status: %(site)s") % {"site": status.site_name}),
        section(headline),
    ]
    pairs: list[tuple[str, str]] = []
    run = status.last_run
    if run is not None:
        when = slack_date(run.finished_at or run.created_at)
        pairs.append(
            (_("Last sync"), f"{_RUN_ICONS.get(run.status, '')} {esc(run.status_label)}, {when}")
        )
    else:
        pairs.append((_("Last sync"), _("never")))
    if status.day_calls_remaining is not None:
        calls = f"{status.day_calls_remaining:,}"
        if status.daily_reserve is not None and status.day_calls_remaining <= status.daily_reserve:
            calls = ":warning: " + _("%(calls)s (at the reserve of %(reserve)s)") % {
                "calls": calls,
                "reserve": f"{status.daily_reserve:,}",
            }
        if status.day_calls_checked_at:
            calls += "\n" + _("as of %(time)s") % {
                "time": slack_date(status.day_calls_checked_at, "{time}")
            }
        pairs.append((_("XPM calls left today"), calls))
    else:
        pairs.append((_("XPM calls left today"), _("not known yet")))
    pairs.append((_("Contacts"), f"{status.contacts:,}"))
    if status.leads_pending is not None:
        leads = _("%(waiting)s waiting, %(failed)s failed") % {
            "waiting": f"{status.leads_pending:,}",
            "failed": f"{status.leads_failed or 0:,}",
        }
        if status.leads_failed:
            leads = f":warning: {leads}"
        pairs.append((_("Website enquiries"), leads))
        owner = esc(status.lead_owner) if status.lead_owner else _("not chosen")
        pairs.append((_("Lead owner"), owner))
    blocks.append(fields_section(pairs))
    if status.running is not None:
        live = sync_message(status.running)
        blocks.append(section(_("*Sync in progress:* %(text)s") % {"text": esc(live.text)}))
    if status.admin_url:
        blocks.append(
            {"type": "actions", "elements": [link_button(_("Open admin"), status.admin_url)]}
        )
    if status.connected:
        state = _("connected to %(practice)s") % {"practice": status.tenant_name}
    else:
        state = status.status_label
    text_parts = [
        _("XPM status for %(site)s: %(state)s") % {"site": status.site_name, "state": state}
    ]
    text_parts.append(
        _("last sync %(status)s") % {"status": run.status_label.lower() if run else _("never")}
    )
    if status.day_calls_remaining is not None:
        text_parts.append(
            ngettext(
                "%(calls)s call left today",
                "%(calls)s calls left today",
                status.day_calls_remaining,
            )
            % {"calls": f"{status.day_calls_remaining:,}"}
        )
    if status.leads_pending is not None:
        failed = status.leads_failed or 0
        text_parts.append(
            # Translators: "3 enquiries waiting, 1 failed" (the two counts of the status).
            _("%(waiting)s, %(failed)s")
            % {
                "waiting": ngettext(
                    "%(count)s enquiry waiting", "%(count)s enquiries waiting", status.leads_pending
                )
                % {"count": f"{status.leads_pending:,}"},
                "failed": ngettext("%(count)s failed", "%(count)s failed", failed)
                % {"count": f"{failed:,}"},
            }
        )
    return Message(text="; ".join(text_parts) + ".", blocks=blocks)


# --- staff ----------------------------------------------------------------------------------


def staff_message(
    query: str,
    staff: Sequence[StaffEntry],
    *,
    can_set_owner: bool,
    owner_supported: bool,
    more: int = 0,
) -> Message:
    """XPM staff matching ``query`` with their ids; a lead-owner button for those allowed."""
    if not staff:
        text = _("No XPM staff member matches “%(query)s”.") % {"query": query}
        return Message(text=text, blocks=[section(esc(text))])
    heading = _("XPM staff matching “%(query)s”") % {"query": esc(query)}
    blocks: list[dict[str, Any]] = [section(f"*{heading}*")]
    lines = []
    for member in staff:
        line = f"*{esc(member.name)}*"
        if member.email:
            line += f" ({esc(member.email)})"
        line += f"\nID `{esc(member.uuid)}`"
        if member.is_lead_owner:
            line += "  :star: " + _("lead owner")
        block = section(line)
        if can_set_owner and owner_supported and not member.is_lead_owner:
            block["accessory"] = {
                "type": "button",
                "text": plain(_("Make lead owner"), 75),
                "action_id": ACTION_SET_LEAD_OWNER,
                "value": member.uuid,
                "confirm": {
                    "title": plain(_("Change the lead owner?")),
                    "text": mrkdwn(
                        _("New website enquiries will be sent to XPM as leads owned by *%(name)s*.")
                        % {"name": esc(member.name)}
                    ),
                    "confirm": plain(_("Make lead owner")),
                    "deny": plain(_("Cancel")),
                },
            }
        blocks.append(block)
        lines.append(f"{member.name} <{member.email}> {member.uuid}".replace(" <>", ""))
    if more:
        blocks.append(context(_("…and %(count)s more: type more of the name.") % {"count": more}))
    text = _("XPM staff matching “%(query)s”: %(staff)s") % {
        "query": query,
        "staff": "; ".join(lines),
    }
    return Message(text=text, blocks=blocks)


def lead_owner_set(member: StaffEntry) -> Message:
    sentence = _("%(name)s is now the owner of website leads.")
    text = sentence % {"name": member.name}
    return Message(
        text=text, blocks=[section(":star: " + sentence % {"name": f"*{esc(member.name)}*"})]
    )


# --- segments -------------------------------------------------------------------------------


def _contact_line(contact: ContactEntry) -> str:
    line = f"• {esc(contact.name or contact.email or _('no name'))}"
    if contact.client_name and contact.client_name != contact.name:
        line += f", {esc(contact.client_name)}"
    if contact.email and contact.name:
        line += f" ({esc(contact.email)})"
    return line


def segment_preview(preview: SegmentPreview) -> Message:
    """Count, sample and Save button for ``/xpm segment <expression>``."""
    headline = ngettext(
        "*%(count)s contact* matches: %(description)s",
        "*%(count)s contacts* match: %(description)s",
        preview.count,
    ) % {"count": f"{preview.count:,}", "description": esc(preview.description)}
    blocks: list[dict[str, Any]] = [section(headline)]
    if preview.notes:
        blocks.append(context(*(esc(n) for n in preview.notes[:5])))
    if preview.sample:
        lines = [_contact_line(c) for c in preview.sample]
        if preview.count > len(preview.sample):
            lines.append(
                _("…and %(count)s more") % {"count": f"{preview.count - len(preview.sample):,}"}
            )
        blocks.append(section("\n".join(lines)))
    if preview.can_save and len(preview.expression) <= BUTTON_VALUE_LIMIT:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": plain(_("Save as segment"), 75),
                        "style": "primary",
                        "action_id": ACTION_SAVE_SEGMENT,
                        "value": preview.expression,
                    }
                ],
            }
        )
    elif preview.save_blocked:
        blocks.append(context(esc(preview.save_blocked)))
    sample = "; ".join(c.name or c.email for c in preview.sample)
    text = ngettext(
        "%(count)s contact matches %(description)s.",
        "%(count)s contacts match %(description)s.",
        preview.count,
    ) % {"count": f"{preview.count:,}", "description": preview.description}
    if sample:
        text += " " + _("For example: %(sample)s.") % {"sample": sample}
    return Message(text=text, blocks=blocks)


def segments_message(entries: Sequence[SegmentEntry]) -> Message:
    if not entries:
        text = _("No saved segments yet: try `/xpm segment Account Manager = …` and Save.")
        return Message(text=text, blocks=[section(text)])
    lines = []
    for entry in entries[:40]:
        count = f"{entry.count:,}" if entry.count is not None else "?"
        line = f"• *{esc(entry.name)}*: {count}"
        if entry.description:
            line += f"\n   _{esc(clip(entry.description, 200))}_"
        lines.append(line)
    title = _("Saved segments")
    blocks = [section(f"*{title}*"), section("\n".join(lines))]
    if len(entries) > 40:
        blocks.append(
            context(_("…and %(count)s more in the admin.") % {"count": len(entries) - 40})
        )
    listed = "; ".join(f"{e.name} ({e.count if e.count is not None else '?'})" for e in entries)
    text = _("Saved segments: %(segments)s") % {"segments": listed}
    return Message(text=clip(text, 3000), blocks=blocks)


def who_message(email: str, who: WhoSnapshot | None) -> Message:
    if who is None:
        text = _("No contact has the email %(email)s.") % {"email": email}
        return Message(text=text, blocks=[section(esc(text))])
    contact = who.contact
    flags = []
    if not who.subscribed:
        flags.append(_("unsubscribed"))
    if who.archived:
        flags.append(_("archived in XPM"))
    title = f"*{esc(contact.name or contact.email)}*"
    if contact.email:
        title += f" ({esc(contact.email)})"
    if flags:
        title += f"  _{', '.join(flags)}_"
    blocks: list[dict[str, Any]] = [section(title)]
    if who.fields:
        blocks.append(fields_section([(label, esc(value)) for label, value in who.fields]))
    if who.clients:
        lines = []
        for client in who.clients:
            line = f"• {esc(client.name)}"
            if client.web_url:
                line = f"• <{client.web_url}|{esc(client.name)}>"
            extras = [esc(client.position)] if client.position else []
            if client.is_primary:
                extras.append(_("primary"))
            if client.archived:
                extras.append(_("archived"))
            if extras:
                line += f" ({', '.join(extras)})"
            lines.append(line)
        listed = "\n".join(lines)
    else:
        listed = _("none")
    title = _("XPM clients")
    blocks.append(section(f"*{title}*\n{listed}"))
    if who.segments is not None:
        segs = ", ".join(esc(s) for s in who.segments) if who.segments else _("none")
        title = _("Segments")
        blocks.append(section(f"*{title}*\n{segs}"))
    blocks.append(context(_("Source: %(source)s") % {"source": esc(who.source)}))
    if who.admin_url:
        button = link_button(_("Open contact"), who.admin_url)
        blocks.append({"type": "actions", "elements": [button]})
    text = _("%(name)s: clients %(clients)s") % {
        "name": contact.name or contact.email,
        "clients": ", ".join(c.name for c in who.clients) or _("none"),
    }
    if who.segments is not None:
        text += "; " + _("segments %(segments)s") % {
            "segments": ", ".join(who.segments) or _("none")
        }
    return Message(text=text, blocks=blocks)


# --- modals for saving ----------------------------------------------------------------------


def save_segment_modal(
    *, expression: str, description: str, count: int, private_metadata: dict[str, Any]
) -> dict[str, Any]:
    """Asks for the new segment's name (and which clients' fields count)."""
    return {
        "type": "modal",
        "callback_id": VIEW_SAVE_SEGMENT,
        "title": plain(_("Save segment"), 24),
        "submit": plain(_("Save"), 24),
        "close": plain(_("Cancel"), 24),
        "private_metadata": json.dumps(private_metadata)[:3000],
        "blocks": [
            section(
                ngettext(
                    "*%(count)s contact* matches now: %(description)s",
                    "*%(count)s contacts* match now: %(description)s",
                    count,
                )
                % {"count": f"{count:,}", "description": esc(description)}
            ),
            {
                "type": "input",
                "block_id": BLOCK_SEGMENT_NAME,
                "label": plain(_("Name")),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "name",
                    "max_length": 255,
                    "initial_value": clip(expression, 120),
                },
            },
            client_scope_input(),
        ],
    }


def client_scope_input(initial: str = "primary") -> dict[str, Any]:
    options = {
        "primary": plain(_("The contact's primary XPM client")),
        "any": plain(_("Any of the contact's XPM clients")),
    }
    return {
        "type": "input",
        "block_id": BLOCK_CLIENT_SCOPE,
        "label": plain(_("Check XPM fields on")),
        "element": {
            "type": "radio_buttons",
            "action_id": "scope",
            "options": [{"text": text, "value": value} for value, text in options.items()],
            "initial_option": {"text": options[initial], "value": initial},
        },
    }


def segment_saved_view(name: str, count: int | None, description: str) -> dict[str, Any]:
    if count is not None:
        count_text = ngettext("%(count)s contact now", "%(count)s contacts now", count) % {
            "count": f"{count:,}"
        }
    else:
        count_text = _("saved")
    saved = _("Saved *%(name)s* (%(count)s).") % {"name": esc(name), "count": count_text}
    return {
        "type": "modal",
        "title": plain(_("Segment saved"), 24),
        "close": plain(_("Done"), 24),
        "blocks": [section(f":white_check_mark: {saved}\n_{esc(description)}_")],
    }


def notice_view(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something (refusals inside modals)."""
    return {
        "type": "modal",
        "title": plain(str(title), 24),
        "close": plain(_("Close"), 24),
        "blocks": [section(esc(text))],
    }


# --- notifications --------------------------------------------------------------------------


def notice(icon: str, title: str, detail: str = "", url: str = "", button: str = "") -> Message:
    """A notification for the ops channel (no contact's personal data)."""
    blocks: list[dict[str, Any]] = [section(f"{icon} *{esc(title)}*")]
    if detail:
        blocks.append(section(esc(clip(detail, 1500))))
    if url:
        blocks.append({"type": "actions", "elements": [link_button(button or _("Open"), url)]})
    text = title + (f": {detail}" if detail else "")
    return Message(text=clip(text, 3000), blocks=blocks)


def sync_failed_notice(*, tenant: str, run_id: int, message: str, url: str = "") -> Message:
    return notice(
        ":x:",
        _("XPM sync #%(id)s failed for %(practice)s") % {"id": run_id, "practice": tenant},
        message,
        url,
        _("Open sync history"),
    )


def reauth_notice(*, site_name: str, detail: str, url: str = "") -> Message:
    return notice(
        ":red_circle:",
        _("The XPM connection for %(site)s needs re-authorisation") % {"site": site_name},
        detail or _("Reconnect to Xero Practice Manager in the admin."),
        url,
        _("Reconnect"),
    )


def budget_low_notice(*, tenant: str, remaining: int, reserve: int, url: str = "") -> Message:
    return notice(
        ":warning:",
        _("XPM daily budget is low for %(practice)s") % {"practice": tenant},
        ngettext(
            "%(remaining)s API call left today; syncs stop at the reserve of %(reserve)s so "
            "website enquiries can still be delivered.",
            "%(remaining)s API calls left today; syncs stop at the reserve of %(reserve)s so "
            "website enquiries can still be delivered.",
            remaining,
        )
        % {"remaining": f"{remaining:,}", "reserve": f"{reserve:,}"},
        url,
        _("Open connection"),
    )


def lead_failed_notice(*, reason: str, url: str = "") -> Message:
    return notice(
        ":envelope_with_arrow:",
        _("A website enquiry could not be sent to XPM"),
        _("%(reason)s It is kept on the website; fix the cause, then press Retry.")
        % {"reason": reason},
        url,
        _("Open enquiry"),
    )


def leads_waiting_notice(*, count: int, reason: str, url: str = "") -> Message:
    return notice(
        ":hourglass:",
        ngettext(
            "%(count)s website enquiry waiting for XPM",
            "%(count)s website enquiries waiting for XPM",
            count,
        )
        % {"count": f"{count:,}"},
        _("%(reason)s They are kept and will be sent once this is fixed.") % {"reason": reason},
        url,
        _("Open enquiries"),
    )


def campaign_paused_notice(*, name: str, reason: str, waiting: int, url: str = "") -> Message:
    return notice(
        ":octagonal_sign:",
        _("Campaign '%(name)s' stopped sending") % {"name": name},
        ngettext(
            "%(reason)s %(count)s recipient waits; nobody is sent it twice. Fix the cause, "
            "then press Resume.",
            "%(reason)s %(count)s recipients wait; nobody is sent it twice. Fix the cause, "
            "then press Resume.",
            waiting,
        )
        % {"reason": reason, "count": f"{waiting:,}"},
        url,
        _("Open campaign"),
    )
