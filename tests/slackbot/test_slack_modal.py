"""The segment builder modal (live count) and saving segments from Slack."""

from __future__ import annotations

import json

from slack_helpers import CHANNEL, MANAGER, VIEWER, ack_json

from slackbot import blocks, builder
from wagtail_xpm.models import Contact, Segment
from wagtail_xpm.segments.compile import segment_queryset


def select(value: str) -> dict:
    return {"type": "static_select", "selected_option": {"value": value}}


def typed(value: str) -> dict:
    return {"type": "plain_text_input", "value": value}


def radio(value: str) -> dict:
    return {"type": "radio_buttons", "selected_option": {"value": value}}


def with_state(view: dict, values: dict) -> dict:
    """The view as Slack sends it back: what the person chose so far in ``state``."""
    return {**view, "type": "modal", "state": {"values": values}}


def last_view(slack_mock) -> dict:
    return slack_mock.calls_to("views.update")[-1]["view"] | {
        "id": slack_mock.calls_to("views.update")[-1].get("view_id", "V0001"),
        "hash": "h",
    }


def count_text(view: dict) -> str:
    block = next(b for b in view["blocks"] if b.get("block_id") == builder.BLOCK_COUNT)
    return block["text"]["text"]


def members(connection, **data) -> int:
    return sum(
        1
        for c in Contact.objects.filter(connection=connection, is_archived=False)
        if all((c.data or {}).get(k) == v for k, v in data.items())
    )


def open_builder(slack, slack_mock, user=MANAGER) -> dict:
    response = slack.command("segment", user=user)
    assert ack_json(response) == {}
    opened = slack_mock.calls_to("views.open")
    assert len(opened) == 1
    assert opened[0]["view"]["title"]["text"] == "Segment builder"
    return last_view(slack_mock)


def test_segment_alone_opens_the_builder(slack, slack_mock, manager, synced_site):
    view = open_builder(slack, slack_mock)
    assert view["callback_id"] == builder.VIEW_BUILDER
    assert json.loads(view["private_metadata"]) == {"rows": 1, "channel": CHANNEL}
    field_menu = next(b for b in view["blocks"] if b.get("block_id") == "row0_field")
    labels = [o["text"]["text"] for o in field_menu["element"]["options"]]
    assert labels[:2] == ["Account Manager", "Job Manager"]
    assert "Email" in labels and "Subscribed" in labels
    assert count_text(view) == "_Choose a field to start._"
    assert view["submit"]["text"] == "Save segment"


def test_builder_counts_live_as_conditions_change(slack, slack_mock, manager, synced_site):
    view = open_builder(slack, slack_mock)
    # 1. choose a field: operator and value inputs appear
    view = with_state(view, {"row0_field": {builder.ACTION_FIELD: select("account_manager")}})
    slack.action(builder.ACTION_FIELD, view=view)
    view = last_view(slack_mock)
    ids = [b.get("block_id") for b in view["blocks"]]
    assert "row0_op_account_manager" in ids and "row0_value_account_manager" in ids
    # 2. type a value: the count appears
    values = {
        "row0_field": {builder.ACTION_FIELD: select("account_manager")},
        "row0_op_account_manager": {builder.ACTION_OP: select("eq")},
        "row0_value_account_manager": {builder.ACTION_VALUE: typed("John")},
        builder.BLOCK_MATCH: {builder.ACTION_MATCH: radio("all")},
    }
    slack.action(builder.ACTION_VALUE, view=with_state(view, values))
    view = last_view(slack_mock)
    john = members(synced_site, account_manager="John Smith")
    assert count_text(view).startswith(f"*{john} contacts* match: Account Manager is John Smith")
    assert "“John” was read as “John Smith”" in count_text(view)
    # 3. add a condition
    slack.action(builder.ACTION_ADD, view=with_state(view, values))
    view = last_view(slack_mock)
    assert json.loads(view["private_metadata"])["rows"] == 2
    assert "row1_field" in [b.get("block_id") for b in view["blocks"]]
    values |= {
        "row1_field": {builder.ACTION_FIELD: select("balance_month")},
        "row1_op_balance_month": {builder.ACTION_OP: select("eq")},
        "row1_value_balance_month": {builder.ACTION_VALUE: typed("jun")},
    }
    slack.action(builder.ACTION_VALUE, view=with_state(view, values))
    view = last_view(slack_mock)
    both = members(synced_site, account_manager="John Smith", balance_month="June")
    assert count_text(view).startswith(
        f"*{both} contacts* match: Account Manager is John Smith and Balance Month is June"
    )
    # 4. any instead of all
    values[builder.BLOCK_MATCH] = {builder.ACTION_MATCH: radio("any")}
    slack.action(builder.ACTION_MATCH, view=with_state(view, values))
    view = last_view(slack_mock)
    june = members(synced_site, balance_month="June")
    either = sum(
        1
        for c in Contact.objects.filter(connection=synced_site, is_archived=False)
        if c.data.get("account_manager") == "John Smith" or c.data.get("balance_month") == "June"
    )
    assert june <= either
    assert count_text(view).startswith(
        f"*{either} contacts* match: Account Manager is John Smith or"
    )
    # Every redraw went to the same view, with Slack's hash against lost updates.
    updates = slack_mock.calls_to("views.update")
    assert {u["view_id"] for u in updates} == {"V0001"}
    assert all(u.get("hash") == "h" for u in updates[1:])


def test_builder_shows_a_bad_value_instead_of_a_count(slack, slack_mock, manager, synced_site):
    view = open_builder(slack, slack_mock)
    values = {
        "row0_field": {builder.ACTION_FIELD: select("balance_month")},
        "row0_op_balance_month": {builder.ACTION_OP: select("eq")},
        "row0_value_balance_month": {builder.ACTION_VALUE: typed("Jume")},
    }
    slack.action(builder.ACTION_VALUE, view=with_state(view, values))
    assert (
        count_text(last_view(slack_mock))
        == ":warning: “Jume” is not a month (January to December)."
    )


def test_builder_submission_saves_the_segment(slack, slack_mock, manager, synced_site):
    view = open_builder(slack, slack_mock)
    values = {
        "row0_field": {builder.ACTION_FIELD: select("balance_month")},
        "row0_op_balance_month": {builder.ACTION_OP: select("in")},
        "row0_value_balance_month": {builder.ACTION_VALUE: typed("June, December")},
        builder.BLOCK_MATCH: {builder.ACTION_MATCH: radio("all")},
        blocks.BLOCK_CLIENT_SCOPE: {builder.ACTION_SCOPE: radio("any")},
        blocks.BLOCK_SEGMENT_NAME: {"name": typed("  Year-end clients ")},
    }
    answer = ack_json(slack.submit(with_state(view, values)))
    assert answer["response_action"] == "update"
    segment = Segment.objects.get()
    assert segment.name == "Year-end clients"
    assert segment.match == "all"
    assert segment.client_scope == "any"
    assert segment.rules == [{"field": "balance_month", "op": "in", "value": ["June", "December"]}]
    assert segment.created_by == manager
    assert segment.description == "Balance Month is any of June, December"
    saved = segment_queryset(segment).count()
    assert f"Saved *Year-end clients* ({saved} contacts now)" in str(answer["view"])


def test_builder_submission_errors_point_at_the_inputs(slack, slack_mock, manager, synced_site):
    Segment.objects.create(connection=synced_site, name="June", rules=[])
    view = open_builder(slack, slack_mock)
    values = {
        "row0_field": {builder.ACTION_FIELD: select("balance_month")},
        "row0_op_balance_month": {builder.ACTION_OP: select("eq")},
        "row0_value_balance_month": {builder.ACTION_VALUE: typed("")},
    }
    answer = ack_json(slack.submit(with_state(view, values)))
    assert answer == {
        "response_action": "errors",
        "errors": {
            "row0_value_balance_month": "Type a value.",
            blocks.BLOCK_SEGMENT_NAME: "Give the segment a name.",
        },
    }
    values["row0_value_balance_month"] = {builder.ACTION_VALUE: typed("June")}
    values[blocks.BLOCK_SEGMENT_NAME] = {"name": typed("june")}
    answer = ack_json(slack.submit(with_state(view, values)))
    assert answer["errors"] == {blocks.BLOCK_SEGMENT_NAME: "A segment called “june” exists."}
    assert Segment.objects.count() == 1


def test_builder_for_someone_who_may_only_count(slack, slack_mock, viewer, synced_site):
    view = open_builder(slack, slack_mock, user=VIEWER)
    assert "submit" not in view
    assert "add segment permission" in str(view["blocks"])
    values = {
        "row0_field": {builder.ACTION_FIELD: select("balance_month")},
        "row0_op_balance_month": {builder.ACTION_OP: select("eq")},
        "row0_value_balance_month": {builder.ACTION_VALUE: typed("June")},
        blocks.BLOCK_SEGMENT_NAME: {"name": typed("Mine")},
    }
    slack.action(builder.ACTION_VALUE, view=with_state(view, values), user=VIEWER)
    assert count_text(last_view(slack_mock)).startswith(
        f"*{members(synced_site, balance_month='June')} contacts* match"
    )
    answer = ack_json(slack.submit(with_state(view, values), user=VIEWER))
    assert answer["response_action"] == "errors"
    assert not Segment.objects.exists()


def test_builder_refuses_strangers(slack, slack_mock, synced_site, db):
    slack_mock.add_user("U0WHO", "who@nowhere.example")
    slack.command("segment", user="U0WHO")
    final = slack_mock.calls_to("views.update")[-1]["view"]
    assert "can't match your Slack account" in str(final["blocks"])
    assert "callback_id" not in final


def test_builder_ignores_a_hash_conflict(slack, slack_mock, manager, synced_site):
    view = open_builder(slack, slack_mock)
    slack_mock.errors["views.update"] = ("hash_conflict", None)
    values = {"row0_field": {builder.ACTION_FIELD: select("email")}}
    response = slack.action(builder.ACTION_FIELD, view=with_state(view, values))
    assert response.status_code == 200


def test_save_button_opens_a_modal_and_saves(slack, slack_mock, manager, synced_site):
    expression = "Account Manager = John and Balance Month = June"
    slack.action(blocks.ACTION_SAVE_SEGMENT, expression)
    opened = slack_mock.calls_to("views.open")[-1]["view"]
    assert opened["callback_id"] == blocks.VIEW_SAVE_SEGMENT
    count = members(synced_site, account_manager="John Smith", balance_month="June")
    assert f"*{count} contacts* match now" in str(opened["blocks"])
    name_input = next(b for b in opened["blocks"] if b.get("block_id") == "segment_name")
    assert name_input["element"]["initial_value"] == expression
    values = {
        blocks.BLOCK_SEGMENT_NAME: {"name": typed("John's June clients")},
        blocks.BLOCK_CLIENT_SCOPE: {"scope": radio("primary")},
    }
    answer = ack_json(slack.submit(with_state(opened, values)))
    assert answer["response_action"] == "update"
    segment = Segment.objects.get(name="John's June clients")
    assert segment.rules == [
        {"field": "account_manager", "op": "eq", "value": "John Smith"},
        {"field": "balance_month", "op": "eq", "value": "June"},
    ]
    assert segment_queryset(segment).count() == count
    # ...and /xpm segments lists it.
    slack.command("segments")
    assert f"John's June clients ({count})" in slack.replies()[-1]["text"]


def test_save_button_needs_the_add_segment_permission(slack, slack_mock, viewer, synced_site):
    slack.action(blocks.ACTION_SAVE_SEGMENT, "Balance Month = June", user=VIEWER)
    assert "save segments" in slack.replies()[-1]["text"]
    assert not slack_mock.calls_to("views.open")
