"""Block Kit builders, the builder modal's pure functions and command parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from slackbot import blocks, builder
from slackbot.commands import COMMANDS, UsageError, parse_command, parse_sync_options
from slackbot.data import (
    ClientEntry,
    ContactEntry,
    RunSnapshot,
    SegmentEntry,
    SegmentPreview,
    StaffEntry,
    StatusSnapshot,
    WhoSnapshot,
)
from wagtail_xpm.segments.vocabulary import MONTHS, mapped_field, with_builtins

WHEN = datetime(2025, 6, 30, 1, 2, tzinfo=UTC)
FIELDS = with_builtins(
    [
        mapped_field("account_manager", "Account Manager", "choice", ("John Smith",)),
        mapped_field("balance_month", "Balance Month", "month", MONTHS),
        mapped_field("gst_registered", "GST Registered", "boolean"),
    ]
)


def walk_texts(value):
    if isinstance(value, dict):
        if value.get("type") in ("mrkdwn", "plain_text"):
            yield value["text"]
        for item in value.values():
            yield from walk_texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_texts(item)


def check(message: blocks.Message) -> blocks.Message:
    """What Slack needs of every message: a fallback text and blocks within its limits."""
    assert message.text.strip()
    assert 0 < len(message.blocks) <= 50
    for text in walk_texts(message.blocks):
        assert len(text) <= 3000
    json.dumps(message.payload())  # plain JSON only
    return message


def run(status: str, **extra) -> RunSnapshot:
    values = dict(id=7, status=status, status_label=status.capitalize(), started_by="Jo <admin>")
    return RunSnapshot(**(values | extra))


# --- commands -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "args"),
    [
        ("", "help", ""),
        ("help", "help", ""),
        ("?", "help", ""),
        ("SYNC full", "sync", "full"),
        ("--sync", "sync", ""),
        ("staff  jo bloggs ", "staff", "jo bloggs"),
        ("segment Plan Level &lt; 3", "segment", "Plan Level < 3"),
        ("segments", "segments", ""),
        ("who <mailto:a@b.example|a@b.example>", "who", "a@b.example"),
        ("whois a@b.example", "who", "a@b.example"),
        ("health", "status", ""),
        ("dance now", "unknown", "dance now"),
    ],
)
def test_parse_command(text, name, args):
    command = parse_command(text)
    assert (command.name, command.args) == (name, args)


@pytest.mark.parametrize(
    ("args", "full", "dry_run"),
    [("", False, False), ("full", True, False), ("dry-run", False, True),
     ("--dry-run --full", True, True), ("dry run", False, True), ("DRY_RUN", False, True)],
)  # fmt: skip
def test_sync_options(args, full, dry_run):
    options = parse_sync_options(args)
    assert (options.full, options.dry_run) == (full, dry_run)


def test_unknown_sync_option():
    with pytest.raises(UsageError, match="`quick` is not a sync option"):
        parse_sync_options("full quick")


def test_help_names_every_command():
    message = check(blocks.help_message())
    for info in COMMANDS:
        assert f"/xpm {info.usage}" in message.text
        assert f"`/xpm {blocks.esc(info.usage)}`" in message.blocks[1]["text"]["text"]


# --- sync messages --------------------------------------------------------------------------


def test_queued_message():
    message = check(blocks.sync_message(run("queued", full=True, dry_run=True)))
    assert message.text == "XPM sync #7 is queued."
    first = message.blocks[0]["text"]["text"]
    assert "(full, dry run) by Jo &lt;admin&gt;" in first


def test_progress_message_with_a_bar():
    message = check(
        blocks.sync_message(
            run(
                "running",
                phase="Reading custom fields",
                progress_done=5,
                progress_total=20,
                percent=25,
                started_at=WHEN,
            )  # fmt: skip
        )
    )
    assert message.text == "XPM sync #7 is running: Reading custom fields (25%)."
    body = message.blocks[1]["text"]["text"]
    assert body == "*Reading custom fields*: 5 of 20 (25%)\n`▓▓▓▓▓░░░░░░░░░░░░░░░`"
    assert "<!date^1751245320^{time}|2025-06-30 01:02 UTC>" in str(message.blocks)


def test_progress_without_a_total_counts_clients():
    message = check(blocks.sync_message(run("running", phase="Reading clients", clients_seen=120)))
    assert "120 clients read so far" in message.blocks[1]["text"]["text"]


def test_summary_message():
    counts = {"created": 3, "updated": 1200, "unchanged": 5, "skipped_duplicates": 2,
              "archived": 1, "api_calls": 44, "day_calls_remaining": 4900}  # fmt: skip
    message = check(
        blocks.sync_message(
            run("succeeded", counts=counts, finished_at=WHEN, admin_url="https://x/1/")
        )
    )
    assert message.text == (
        "XPM sync #7 succeeded: 3 created, 1,200 updated, 5 unchanged, 2 skipped duplicates, "
        "1 archived."
    )
    rendered = str(message.blocks)
    assert "*Calls left today*\\n4,900" in rendered
    assert "https://x/1/" in rendered


@pytest.mark.parametrize(
    ("status", "icon", "words"),
    [("failed", ":x:", "XPM refused"), ("partial", ":warning:", "XPM refused"),
     ("skipped", ":double_vertical_bar:", "not started")],
)  # fmt: skip
def test_unhappy_endings(status, icon, words):
    message = check(blocks.sync_message(run(status, message="XPM refused the call.")))
    assert message.blocks[0]["text"]["text"].startswith(icon)
    assert words in message.text or words in str(message.blocks)


def test_follow_timeout_message():
    message = check(blocks.sync_follow_timeout(run("running", phase="x"), 360))
    assert "after 360 minutes" in str(message.blocks[-1])


# --- status, staff, who, segments -----------------------------------------------------------


def test_status_message_warns_at_the_reserve():
    status = StatusSnapshot(
        site_name="Example", status="connected", status_label="Connected", tenant_name="Firm & Co",
        day_calls_remaining=90, daily_reserve=100, leads_pending=2, leads_failed=1,
        lead_owner="Jo Bloggs", last_run=run("succeeded", finished_at=WHEN),
        running=run("running", phase="Updating contacts", percent=50, progress_total=2),
    )  # fmt: skip
    message = check(blocks.status_message(status))
    rendered = str(message.blocks)
    assert "Connected to *Firm &amp; Co*" in rendered
    assert ":warning: 90 (at the reserve of 100)" in rendered
    assert ":warning: 2 waiting, 1 failed" in rendered
    assert "Sync in progress" in rendered
    assert message.text == (
        "XPM status for Example: connected to Firm & Co; last sync succeeded; 90 calls left "
        "today; 2 enquiries waiting, 1 failed."
    )


def test_status_without_leads_feature_says_nothing_about_leads():
    status = StatusSnapshot(site_name="Example", status="disconnected", status_label="Nope")
    message = check(blocks.status_message(status))
    assert "enquiries" not in message.text
    assert "Website enquiries" not in str(message.blocks)


def test_staff_buttons_only_for_those_allowed():
    staff = [StaffEntry("u-1", "Jo Bloggs", "jo@x.example"),
             StaffEntry("u-2", "John Smith", "", is_lead_owner=True)]  # fmt: skip
    allowed = check(blocks.staff_message("jo", staff, can_set_owner=True, owner_supported=True))
    accessories = [b["accessory"] for b in allowed.blocks if "accessory" in b]
    assert [a["value"] for a in accessories] == ["u-1"]  # not for the current owner
    assert accessories[0]["confirm"]["confirm"]["text"] == "Make lead owner"
    assert "Jo Bloggs <jo@x.example> u-1" in allowed.text
    assert "John Smith u-2" in allowed.text
    looker = check(blocks.staff_message("jo", staff, can_set_owner=False, owner_supported=True))
    assert not [b for b in looker.blocks if "accessory" in b]
    no_leads = check(blocks.staff_message("jo", staff, can_set_owner=True, owner_supported=False))
    assert not [b for b in no_leads.blocks if "accessory" in b]
    more = check(
        blocks.staff_message("j", staff, can_set_owner=False, owner_supported=True, more=4)
    )
    assert "…and 4 more" in str(more.blocks)


def test_segment_preview():
    preview = SegmentPreview(
        expression="Balance Month = June",
        description="Balance Month = June",
        count=12,
        sample=(ContactEntry("Ann <script>", "ann@x.example", "Ann's Bakery"),),
        notes=("“jun” was read as “June”.",),
        can_save=True,
    )
    message = check(blocks.segment_preview(preview))
    assert message.text == ("12 contacts match Balance Month = June. For example: Ann <script>.")
    rendered = str(message.blocks)
    assert "Ann &lt;script&gt;" in rendered and "<script>" not in rendered
    assert "…and 11 more" in rendered
    assert blocks.ACTION_SAVE_SEGMENT in rendered


def test_segment_preview_too_long_to_save_from_a_button():
    preview = SegmentPreview(expression="x" * 2001, description="x", count=0, can_save=True)
    assert blocks.ACTION_SAVE_SEGMENT not in str(check(blocks.segment_preview(preview)).blocks)


def test_segments_and_who():
    listing = check(blocks.segments_message([SegmentEntry("VIP", 3, "Client Groups has VIP"),
                                             SegmentEntry("Broken", None)]))  # fmt: skip
    assert listing.text == "Saved segments: VIP (3); Broken (?)"
    who = WhoSnapshot(
        contact=ContactEntry("Ann", "ann@x.example", "Bakery"),
        subscribed=False,
        fields=(("Account Manager", "John Smith"),),
        clients=(
            ClientEntry("Bakery", "c-1", "Director", True, False, "https://xpm/c-1"),
            ClientEntry("Old Co", archived=True),
        ),  # fmt: skip
        segments=("VIP",),
    )
    message = check(blocks.who_message("ann@x.example", who))
    rendered = str(message.blocks)
    assert "<https://xpm/c-1|Bakery> (Director, primary)" in rendered
    assert "Old Co (archived)" in rendered
    assert "_unsubscribed_" in rendered
    assert message.text == "Ann: clients Bakery, Old Co; segments VIP"
    assert "No contact" in check(blocks.who_message("x@y.example", None)).text


def test_notices_carry_no_personal_data_fields():
    for message in (
        blocks.sync_failed_notice(tenant="Firm", run_id=1, message="boom", url="https://a"),
        blocks.reauth_notice(site_name="Site", detail=""),
        blocks.budget_low_notice(tenant="Firm", remaining=150, reserve=100),
        blocks.lead_failed_notice(reason="No owner."),
        blocks.leads_waiting_notice(count=1, reason="No owner."),
    ):
        check(message)
    assert blocks.leads_waiting_notice(count=1, reason="r").text.startswith(
        "1 website enquiry waiting"
    )


# --- the builder modal ----------------------------------------------------------------------


def test_builder_view_and_state_round_trip():
    state = builder.BuilderState(
        rows=(builder.BuilderRow("balance_month", "in", "jun, dec"),
              builder.BuilderRow("gst_registered", "blank", ""),
              builder.BuilderRow()),
        match="any", client_scope="any", name="Year end", channel="C1",
    )  # fmt: skip
    view = builder.builder_view(state, FIELDS, count_text="*3 contacts* match", can_save=True)
    assert len(view["blocks"]) <= 100
    ids = [b.get("block_id") for b in view["blocks"]]
    assert ids.count("row0_op_balance_month") == 1
    assert "row1_value_gst_registered" not in ids  # "is blank" takes no value
    month_ops = next(b for b in view["blocks"] if b.get("block_id") == "row0_op_balance_month")
    offered = [o["value"] for o in month_ops["element"]["options"]]
    assert "within_next_days" in offered and "contains" not in offered
    # What Slack would send back with those choices:
    values = {
        "row0_field": {builder.ACTION_FIELD: {"selected_option": {"value": "balance_month"}}},
        "row0_op_balance_month": {builder.ACTION_OP: {"selected_option": {"value": "in"}}},
        "row0_value_balance_month": {builder.ACTION_VALUE: {"value": "jun, dec"}},
        "row1_field": {builder.ACTION_FIELD: {"selected_option": {"value": "gst_registered"}}},
        "row1_op_gst_registered": {builder.ACTION_OP: {"selected_option": {"value": "blank"}}},
        # a stale operator block of a field chosen before is ignored
        "row1_op_account_manager": {builder.ACTION_OP: {"selected_option": {"value": "ne"}}},
        builder.BLOCK_MATCH: {builder.ACTION_MATCH: {"selected_option": {"value": "any"}}},
        blocks.BLOCK_CLIENT_SCOPE: {builder.ACTION_SCOPE: {"selected_option": {"value": "any"}}},
        blocks.BLOCK_SEGMENT_NAME: {"name": {"value": " Year end "}},
    }
    read = builder.read_state({**view, "state": {"values": values}})
    assert read == state
    result = builder.state_rules(read, FIELDS)
    assert result.rules == [
        {"field": "balance_month", "op": "in", "value": ["June", "December"]},
        {"field": "gst_registered", "op": "blank"},
    ]
    assert result.errors == {} and not result.incomplete
    line = builder.count_line(result, read, FIELDS, 3)
    assert line == (
        "*3 contacts* match: Balance Month is any of June, December or GST Registered is blank"
    )


def test_builder_rows_are_bounded():
    state = builder.BuilderState()
    assert len(state.with_rows(0).rows) == 1
    assert len(state.with_rows(99).rows) == builder.MAX_ROWS
    full = builder.builder_view(state.with_rows(99), FIELDS, count_text="x", can_save=False)
    assert builder.ACTION_ADD not in str(full["blocks"])
    assert "submit" not in full


def test_builder_rows_in_progress_do_not_block_counting():
    state = builder.BuilderState(rows=(builder.BuilderRow("account_manager", "eq", "john"),
                                       builder.BuilderRow("balance_month", "eq", "")))  # fmt: skip
    result = builder.state_rules(state, FIELDS)
    assert result.rules == [{"field": "account_manager", "op": "eq", "value": "John Smith"}]
    assert result.incomplete
    assert builder.blocking_errors(result) == []
    assert result.errors == {"row1_value_balance_month": builder.TYPE_A_VALUE}
