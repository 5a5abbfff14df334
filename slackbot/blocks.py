"""Block Kit builders: pure functions from plain snapshots to Slack messages and views.

Every message carries a plain-text ``text`` as well as ``blocks``: Slack shows it in
notifications, and screen readers and old clients read it instead of the blocks. Nothing
here touches Django, the database or the network.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
    return {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}


def plain(text: str, limit: int = 150) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


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


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def link_button(text: str, url: str, action_id: str = ACTION_OPEN_ADMIN) -> dict[str, Any]:
    return {"type": "button", "text": plain(text, 75), "url": url, "action_id": action_id}


def slack_date(when: datetime | None, fmt: str = "{date_short_pretty} at {time}") -> str:
    """A date Slack shows in each reader's own time zone, with a UTC fallback."""
    if when is None:
        return "never"
    fallback = when.strftime("%Y-%m-%d %H:%M UTC") if when.tzinfo else when.isoformat()
    return f"<!date^{int(when.timestamp())}^{fmt}|{fallback}>"


def progress_bar(percent: int | None, width: int = 20) -> str:
    if percent is None:
        return ""
    filled = max(0, min(width, round(width * percent / 100)))
    return "▓" * filled + "░" * (width - filled)


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


# --- help and refusals ----------------------------------------------------------------------


def help_message(commands: Sequence[CommandInfo] = COMMANDS) -> Message:
    lines = []
    for info in commands:
        line = f"• `/xpm {esc(info.usage)}`: {esc(info.summary)}"
        if info.example:
            line += f"\n   e.g. `{esc(info.example)}`"
        lines.append(line)
    text = "XPM commands:\n" + "\n".join(f"/xpm {info.usage}: {info.summary}" for info in commands)
    return Message(
        text=text,
        blocks=[
            section("*XPM bot commands*"),
            section("\n".join(lines)),
            context("Replies with client data are only shown to you."),
        ],
    )


def refusal(text: str) -> Message:
    return Message(text=text, blocks=[section(f":no_entry: {esc(text)}")])


def error_message(text: str, hint: str = "") -> Message:
    blocks = [section(f":warning: {esc(text)}")]
    if hint:
        blocks.append(context(esc(hint)))
    return Message(text=f"{text} {hint}".strip(), blocks=blocks)


def info_message(text: str) -> Message:
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
    words = ["full" if run.full else "incremental"]
    if run.dry_run:
        words.append("dry run")
    return ", ".join(words)


def sync_message(run: RunSnapshot) -> Message:
    """The one message a Slack-started sync updates in place: queued, progress, summary."""
    icon = _RUN_ICONS.get(run.status, ":grey_question:")
    who = f" by {esc(run.started_by)}" if run.started_by else ""
    title = f"{icon} *XPM sync #{run.id}* ({_run_kind(run)}){who}"
    blocks: list[dict[str, Any]] = [section(title)]
    if run.status == "queued":
        text = f"XPM sync #{run.id} is queued."
        blocks.append(section("Queued: waiting for a worker to start it."))
    elif not run.finished:
        phase = run.phase or "Starting"
        if run.progress_total:
            detail = f"{run.progress_done:,} of {run.progress_total:,}"
            if run.percent is not None:
                detail += f" ({run.percent}%)"
            body = f"*{esc(phase)}*: {detail}\n`{progress_bar(run.percent)}`"
        else:
            body = f"*{esc(phase)}*"
            if run.clients_seen:
                body += f": {plural(run.clients_seen, 'client')} read so far"
        blocks.append(section(body))
        text = f"XPM sync #{run.id} is running: {phase}"
        if run.percent is not None:
            text += f" ({run.percent}%)"
        text += "."
    else:
        text, summary_blocks = _run_summary(run)
        blocks += summary_blocks
    when = []
    if run.started_at:
        when.append(f"Started {slack_date(run.started_at, '{time}')}")
    if run.finished_at:
        when.append(f"finished {slack_date(run.finished_at, '{time}')}")
    if when:
        blocks.append(context(", ".join(when)))
    if run.admin_url:
        blocks.append(
            {"type": "actions", "elements": [link_button("Open in admin", run.admin_url)]}
        )
    return Message(text=text, blocks=blocks)


def _run_summary(run: RunSnapshot) -> tuple[str, list[dict[str, Any]]]:
    counts = run.counts
    would = "Would create" if run.dry_run else "Created"
    pairs = [
        (would, f"{counts.get('created', 0):,}"),
        ("Would update" if run.dry_run else "Updated", f"{counts.get('updated', 0):,}"),
        ("Unchanged", f"{counts.get('unchanged', 0):,}"),
        ("Skipped duplicates", f"{counts.get('skipped_duplicates', 0):,}"),
        ("Archived", f"{counts.get('archived', 0):,}"),
        ("XPM calls", f"{counts.get('api_calls', 0):,}"),
    ]
    if counts.get("day_calls_remaining") is not None:
        pairs.append(("Calls left today", f"{counts['day_calls_remaining']:,}"))
    if counts.get("custom_fields_pending"):
        pairs.append(("Custom fields pending", f"{counts['custom_fields_pending']:,}"))
    blocks: list[dict[str, Any]] = []
    label = run.status_label or run.status
    if run.status == "succeeded":
        headline = "Sync finished" + (": nothing was changed (dry run)." if run.dry_run else ".")
    elif run.status == "skipped":
        headline = f"Not started: {run.message or 'another sync was running.'}"
    else:
        headline = f"{label}: {run.message}" if run.message else f"{label}."
    blocks.append(section(esc(headline)))
    if run.status not in ("skipped",):
        blocks.append(fields_section(pairs))
    if run.errors:
        blocks.append(context(esc("; ".join(run.errors[:3]))))
    summary = ", ".join(f"{value} {name.lower()}" for name, value in pairs[:5])
    text = f"XPM sync #{run.id} {label.lower()}: {summary}."
    if run.status == "skipped":
        text = f"XPM sync #{run.id} was not started: {run.message}"
    elif run.message and run.status != "succeeded":
        text += f" {run.message}"
    return text, blocks


def sync_follow_timeout(run: RunSnapshot, minutes: int) -> Message:
    base = sync_message(run)
    note = context(
        f"This message stopped following the sync after {minutes} minutes; "
        "the admin's Sync history has the result."
    )
    return Message(text=base.text, blocks=[*base.blocks, note])


def sync_already_running(run: RunSnapshot) -> Message:
    if run.status == "queued":
        text = f"A sync is already queued: #{run.id} starts as soon as a worker is free."
    else:
        detail = f" ({run.percent}%)" if run.percent is not None else ""
        text = f"A sync is already running: #{run.id}, {run.phase or 'starting'}{detail}."
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
        headline = f"{icon} Connected to *{esc(status.tenant_name)}*"
    else:
        headline = f"{icon} {esc(status.status_label)}"
    if status.last_error:
        headline += f"\n> {esc(clip(status.last_error, 500))}"
    blocks: list[dict[str, Any]] = [
        header(f"XPM status: {status.site_name}"),
        section(headline),
    ]
    pairs: list[tuple[str, str]] = []
    run = status.last_run
    if run is not None:
        when = slack_date(run.finished_at or run.created_at)
        pairs.append(
            ("Last sync", f"{_RUN_ICONS.get(run.status, '')} {esc(run.status_label)}, {when}")
        )
    else:
        pairs.append(("Last sync", "never"))
    if status.day_calls_remaining is not None:
        calls = f"{status.day_calls_remaining:,}"
        if status.daily_reserve is not None and status.day_calls_remaining <= status.daily_reserve:
            calls = f":warning: {calls} (at the reserve of {status.daily_reserve:,})"
        if status.day_calls_checked_at:
            calls += f"\nas of {slack_date(status.day_calls_checked_at, '{time}')}"
        pairs.append(("XPM calls left today", calls))
    else:
        pairs.append(("XPM calls left today", "not known yet"))
    pairs.append(("Contacts", f"{status.contacts:,}"))
    if status.leads_pending is not None:
        leads = f"{status.leads_pending:,} waiting, {status.leads_failed or 0:,} failed"
        if status.leads_failed:
            leads = f":warning: {leads}"
        pairs.append(("Website enquiries", leads))
        pairs.append(("Lead owner", esc(status.lead_owner) if status.lead_owner else "not chosen"))
    blocks.append(fields_section(pairs))
    if status.running is not None:
        live = sync_message(status.running)
        blocks.append(section(f"*Sync in progress:* {esc(live.text)}"))
    if status.admin_url:
        blocks.append(
            {"type": "actions", "elements": [link_button("Open admin", status.admin_url)]}
        )
    text_parts = [
        f"XPM status for {status.site_name}: "
        + (f"connected to {status.tenant_name}" if status.connected else status.status_label)
    ]
    text_parts.append(f"last sync {run.status_label.lower() if run else 'never'}")
    if status.day_calls_remaining is not None:
        text_parts.append(f"{status.day_calls_remaining:,} calls left today")
    if status.leads_pending is not None:
        text_parts.append(
            f"{status.leads_pending:,} enquiries waiting, {status.leads_failed or 0:,} failed"
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
        text = f"No XPM staff member matches “{query}”."
        return Message(text=text, blocks=[section(esc(text))])
    blocks: list[dict[str, Any]] = [section(f"*XPM staff matching “{esc(query)}”*")]
    lines = []
    for member in staff:
        line = f"*{esc(member.name)}*"
        if member.email:
            line += f" ({esc(member.email)})"
        line += f"\nID `{esc(member.uuid)}`"
        if member.is_lead_owner:
            line += "  :star: lead owner"
        block = section(line)
        if can_set_owner and owner_supported and not member.is_lead_owner:
            block["accessory"] = {
                "type": "button",
                "text": plain("Make lead owner", 75),
                "action_id": ACTION_SET_LEAD_OWNER,
                "value": member.uuid,
                "confirm": {
                    "title": plain("Change the lead owner?"),
                    "text": mrkdwn(
                        f"New website enquiries will be sent to XPM as leads owned by "
                        f"*{esc(member.name)}*."
                    ),
                    "confirm": plain("Make lead owner"),
                    "deny": plain("Cancel"),
                },
            }
        blocks.append(block)
        lines.append(f"{member.name} <{member.email}> {member.uuid}".replace(" <>", ""))
    if more:
        blocks.append(context(f"…and {more} more: type more of the name."))
    text = f"XPM staff matching “{query}”: " + "; ".join(lines)
    return Message(text=text, blocks=blocks)


def lead_owner_set(member: StaffEntry) -> Message:
    text = f"{member.name} is now the owner of website leads."
    return Message(text=text, blocks=[section(f":star: *{esc(member.name)}* is now the owner "
                                              "of website leads.")])  # fmt: skip


# --- segments -------------------------------------------------------------------------------


def _contact_line(contact: ContactEntry) -> str:
    line = f"• {esc(contact.name or contact.email or 'no name')}"
    if contact.client_name and contact.client_name != contact.name:
        line += f", {esc(contact.client_name)}"
    if contact.email and contact.name:
        line += f" ({esc(contact.email)})"
    return line


def segment_preview(preview: SegmentPreview) -> Message:
    """Count, sample and Save button for ``/xpm segment <expression>``."""
    headline = f"*{plural(preview.count, 'contact')}* match: {esc(preview.description)}"
    blocks: list[dict[str, Any]] = [section(headline)]
    if preview.notes:
        blocks.append(context(*(esc(n) for n in preview.notes[:5])))
    if preview.sample:
        lines = [_contact_line(c) for c in preview.sample]
        if preview.count > len(preview.sample):
            lines.append(f"…and {preview.count - len(preview.sample):,} more")
        blocks.append(section("\n".join(lines)))
    if preview.can_save and len(preview.expression) <= BUTTON_VALUE_LIMIT:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": plain("Save as segment", 75),
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
    text = f"{preview.count:,} contacts match {preview.description}."
    if sample:
        text += f" For example: {sample}."
    return Message(text=text, blocks=blocks)


def segments_message(entries: Sequence[SegmentEntry]) -> Message:
    if not entries:
        text = "No saved segments yet: try `/xpm segment Account Manager = …` and Save."
        return Message(text=text, blocks=[section(text)])
    lines = []
    for entry in entries[:40]:
        count = f"{entry.count:,}" if entry.count is not None else "?"
        line = f"• *{esc(entry.name)}*: {count}"
        if entry.description:
            line += f"\n   _{esc(clip(entry.description, 200))}_"
        lines.append(line)
    blocks = [section("*Saved segments*"), section("\n".join(lines))]
    if len(entries) > 40:
        blocks.append(context(f"…and {len(entries) - 40} more in the admin."))
    text = "Saved segments: " + "; ".join(
        f"{e.name} ({e.count if e.count is not None else '?'})" for e in entries
    )
    return Message(text=clip(text, 3000), blocks=blocks)


def who_message(email: str, who: WhoSnapshot | None) -> Message:
    if who is None:
        text = f"No contact has the email {email}."
        return Message(text=text, blocks=[section(esc(text))])
    contact = who.contact
    flags = []
    if not who.subscribed:
        flags.append("unsubscribed")
    if who.archived:
        flags.append("archived in XPM")
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
                extras.append("primary")
            if client.archived:
                extras.append("archived")
            if extras:
                line += f" ({', '.join(extras)})"
            lines.append(line)
        blocks.append(section("*XPM clients*\n" + "\n".join(lines)))
    else:
        blocks.append(section("*XPM clients*\nnone"))
    if who.segments is not None:
        segs = ", ".join(esc(s) for s in who.segments) if who.segments else "none"
        blocks.append(section(f"*Segments*\n{segs}"))
    blocks.append(context(f"Source: {esc(who.source)}"))
    if who.admin_url:
        blocks.append({"type": "actions", "elements": [link_button("Open contact", who.admin_url)]})
    text = f"{contact.name or contact.email}: clients " + (
        ", ".join(c.name for c in who.clients) or "none"
    )
    if who.segments is not None:
        text += "; segments " + (", ".join(who.segments) or "none")
    return Message(text=text, blocks=blocks)


# --- modals for saving ----------------------------------------------------------------------


def save_segment_modal(
    *, expression: str, description: str, count: int, private_metadata: dict[str, Any]
) -> dict[str, Any]:
    """Asks for the new segment's name (and which clients' fields count)."""
    return {
        "type": "modal",
        "callback_id": VIEW_SAVE_SEGMENT,
        "title": plain("Save segment", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "private_metadata": json.dumps(private_metadata)[:3000],
        "blocks": [
            section(f"*{plural(count, 'contact')}* match now: {esc(description)}"),
            {
                "type": "input",
                "block_id": BLOCK_SEGMENT_NAME,
                "label": plain("Name"),
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
        "primary": plain("The contact's primary XPM client"),
        "any": plain("Any of the contact's XPM clients"),
    }
    return {
        "type": "input",
        "block_id": BLOCK_CLIENT_SCOPE,
        "label": plain("Check XPM fields on"),
        "element": {
            "type": "radio_buttons",
            "action_id": "scope",
            "options": [{"text": text, "value": value} for value, text in options.items()],
            "initial_option": {"text": options[initial], "value": initial},
        },
    }


def segment_saved_view(name: str, count: int | None, description: str) -> dict[str, Any]:
    count_text = f"{plural(count, 'contact')} now" if count is not None else "saved"
    return {
        "type": "modal",
        "title": plain("Segment saved", 24),
        "close": plain("Done", 24),
        "blocks": [
            section(f":white_check_mark: Saved *{esc(name)}* ({count_text}).\n_{esc(description)}_")
        ],
    }


def notice_view(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something (refusals inside modals)."""
    return {
        "type": "modal",
        "title": plain(title, 24),
        "close": plain("Close", 24),
        "blocks": [section(esc(text))],
    }


# --- notifications --------------------------------------------------------------------------


def notice(icon: str, title: str, detail: str = "", url: str = "", button: str = "") -> Message:
    """A notification for the ops channel (no contact's personal data)."""
    blocks: list[dict[str, Any]] = [section(f"{icon} *{esc(title)}*")]
    if detail:
        blocks.append(section(esc(clip(detail, 1500))))
    if url:
        blocks.append({"type": "actions", "elements": [link_button(button or "Open", url)]})
    text = title + (f": {detail}" if detail else "")
    return Message(text=clip(text, 3000), blocks=blocks)


def sync_failed_notice(*, tenant: str, run_id: int, message: str, url: str = "") -> Message:
    return notice(
        ":x:", f"XPM sync #{run_id} failed for {tenant}", message, url, "Open sync history"
    )


def reauth_notice(*, site_name: str, detail: str, url: str = "") -> Message:
    return notice(
        ":red_circle:",
        f"The XPM connection for {site_name} needs re-authorisation",
        detail or "Reconnect to Xero Practice Manager in the admin.",
        url,
        "Reconnect",
    )


def budget_low_notice(*, tenant: str, remaining: int, reserve: int, url: str = "") -> Message:
    return notice(
        ":warning:",
        f"XPM daily budget is low for {tenant}",
        f"{remaining:,} API calls left today; syncs stop at the reserve of {reserve:,} so "
        "website enquiries can still be delivered.",
        url,
        "Open connection",
    )


def lead_failed_notice(*, reason: str, url: str = "") -> Message:
    return notice(
        ":envelope_with_arrow:",
        "A website enquiry could not be sent to XPM",
        f"{reason} It is kept on the website; fix the cause, then press Retry.",
        url,
        "Open enquiry",
    )


def leads_waiting_notice(*, count: int, reason: str, url: str = "") -> Message:
    return notice(
        ":hourglass:",
        f"{plural(count, 'website enquiry', 'website enquiries')} waiting for XPM",
        f"{reason} They are kept and will be sent once this is fixed.",
        url,
        "Open enquiries",
    )
