"""The segment builder modal (``/xpm segment`` with nothing after it): pure view functions.

Each condition row is a field menu, an operator menu and a value box. Every change is
dispatched to the bot, which reads the view's state (:func:`read_state`), turns it into rules
(:func:`state_rules`), counts them and redraws the view (:func:`builder_view`) with the live
count. Operator and value blocks carry the field (and operator) in their ``block_id``, so a
new field starts with fresh menus while Slack keeps what was typed everywhere else.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from wagtail_xpm.segments.describe import describe
from wagtail_xpm.segments.parse import ExpressionError, make_rule
from wagtail_xpm.segments.vocabulary import (
    DAYS_OPS,
    LIST_OPS,
    NO_VALUE_OPS,
    FieldInfo,
    op_label,
)

from .blocks import BLOCK_CLIENT_SCOPE, BLOCK_SEGMENT_NAME, context, esc, plain, section

VIEW_BUILDER = "xpm_segment_builder"
ACTION_PREFIX = "xpm_builder_"
ACTION_FIELD = ACTION_PREFIX + "field"
ACTION_OP = ACTION_PREFIX + "op"
ACTION_VALUE = ACTION_PREFIX + "value"
ACTION_MATCH = ACTION_PREFIX + "match"
ACTION_SCOPE = ACTION_PREFIX + "scope"
ACTION_ADD = ACTION_PREFIX + "add"
ACTION_REMOVE = ACTION_PREFIX + "remove"
BLOCK_MATCH = "match"
BLOCK_COUNT = "count"
MAX_ROWS = 6
MAX_OPTIONS = 100
# Row states that only mean "not finished yet": they block saving, not counting.
TYPE_A_VALUE = gettext_lazy("Type a value.")
CHOOSE_A_FIELD = gettext_lazy("Choose at least one condition.")


@dataclass(frozen=True)
class BuilderRow:
    field_key: str = ""
    op: str = ""
    value: str = ""


@dataclass(frozen=True)
class BuilderState:
    """What the person has chosen so far (from the view's state and private metadata)."""

    rows: tuple[BuilderRow, ...] = (BuilderRow(),)
    match: str = "all"
    client_scope: str = "primary"
    name: str = ""
    channel: str = ""

    def with_rows(self, count: int) -> BuilderState:
        count = max(1, min(MAX_ROWS, count))
        rows = list(self.rows[:count]) + [BuilderRow()] * (count - len(self.rows))
        return BuilderState(tuple(rows), self.match, self.client_scope, self.name, self.channel)


@dataclass
class BuilderResult:
    """The rules the rows make, and what stops them from being saved."""

    rules: list[dict[str, Any]] = field(default_factory=list)
    # block_id -> message, as Slack's ``response_action: errors`` wants them.
    errors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    incomplete: bool = False


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, 75), "value": value[:150]}


def _field_block(index: int) -> str:
    return f"row{index}_field"


def _op_block(index: int, key: str) -> str:
    return f"row{index}_op_{key}"[:255]


def _value_block(index: int, key: str) -> str:
    # Not keyed by operator: switching "is" to "is not" keeps what was typed.
    return f"row{index}_value_{key}"[:255]


def _default_op(field_: FieldInfo) -> str:
    return field_.offered_ops[0]


def _placeholder(field_: FieldInfo, op: str) -> str:
    if op in DAYS_OPS:
        return _("number of days, e.g. 30")
    if op in LIST_OPS:
        return _("values separated by commas")
    if field_.value_type == "month":
        return _("a month, e.g. June")
    if field_.value_type in ("boolean", "flag"):
        return _("yes or no")
    if field_.value_type == "date":
        return _("a date, e.g. 30/06/2025")
    if field_.known_values:
        return _("e.g. %(examples)s") % {"examples": ", ".join(field_.known_values[:3])}
    return _("a value")


def builder_view(
    state: BuilderState,
    fields: Sequence[FieldInfo],
    *,
    count_text: str,
    can_save: bool,
) -> dict[str, Any]:
    """The modal for ``state``; ``count_text`` is the live count line (mrkdwn)."""
    by_key = {f.key: f for f in fields}
    field_options = [_option(str(f.label), f.key) for f in fields][:MAX_OPTIONS]
    blocks: list[dict[str, Any]] = [
        context(_("Choose conditions: the count below updates as you go.")),
    ]
    for index, row in enumerate(state.rows):
        chosen = by_key.get(row.field_key)
        select: dict[str, Any] = {
            "type": "static_select",
            "action_id": ACTION_FIELD,
            "placeholder": plain(_("Field")),
            "options": field_options,
        }
        if chosen is not None:
            select["initial_option"] = _option(str(chosen.label), chosen.key)
        joiner = _("and") if state.match == "all" else _("or")
        label = _("Contacts where") if index == 0 else joiner
        blocks.append(
            {
                "type": "input",
                "block_id": _field_block(index),
                "dispatch_action": True,
                "optional": True,
                "label": plain(label),
                "element": select,
            }
        )
        if chosen is None:
            continue
        op = row.op if row.op in chosen.ops else _default_op(chosen)
        ops = list(chosen.offered_ops) + ([op] if op not in chosen.offered_ops else [])
        blocks.append(
            {
                "type": "input",
                "block_id": _op_block(index, chosen.key),
                "dispatch_action": True,
                "optional": True,
                "label": plain(f"{chosen.label}…"),
                "element": {
                    "type": "static_select",
                    "action_id": ACTION_OP,
                    "options": [_option(op_label(o, chosen.value_type), o) for o in ops],
                    "initial_option": _option(op_label(op, chosen.value_type), op),
                },
            }
        )
        if op in NO_VALUE_OPS:
            continue
        value_input: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": ACTION_VALUE,
            "placeholder": plain(_placeholder(chosen, op)),
            "dispatch_action_config": {
                "trigger_actions_on": ["on_enter_pressed", "on_character_entered"]
            },
        }
        if row.value:
            value_input["initial_value"] = row.value
        blocks.append(
            {
                "type": "input",
                "block_id": _value_block(index, chosen.key),
                "dispatch_action": True,
                "optional": True,
                "label": plain(_("Days") if op in DAYS_OPS else _("Value")),
                "element": value_input,
            }
        )
    buttons = []
    if len(state.rows) < MAX_ROWS:
        buttons.append(
            {"type": "button", "action_id": ACTION_ADD, "text": plain(_("Add condition"))}
        )
    if len(state.rows) > 1:
        buttons.append(
            {"type": "button", "action_id": ACTION_REMOVE, "text": plain(_("Remove last"))}
        )
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    matches = {"all": plain(_("All conditions")), "any": plain(_("Any condition"))}
    blocks.append(
        {
            "type": "input",
            "block_id": BLOCK_MATCH,
            "dispatch_action": True,
            "label": plain(_("Contacts must match")),
            "element": {
                "type": "radio_buttons",
                "action_id": ACTION_MATCH,
                "options": [{"text": t, "value": v} for v, t in matches.items()],
                "initial_option": {"text": matches[state.match], "value": state.match},
            },
        }
    )
    scopes = {
        "primary": plain(_("The contact's primary XPM client")),
        "any": plain(_("Any of the contact's XPM clients")),
    }
    blocks.append(
        {
            "type": "input",
            "block_id": BLOCK_CLIENT_SCOPE,
            "dispatch_action": True,
            "label": plain(_("Check XPM fields on")),
            "element": {
                "type": "radio_buttons",
                "action_id": ACTION_SCOPE,
                "options": [{"text": t, "value": v} for v, t in scopes.items()],
                "initial_option": {"text": scopes[state.client_scope], "value": state.client_scope},
            },
        }
    )
    blocks.append({"type": "divider"})
    blocks.append(section(count_text, block_id=BLOCK_COUNT))
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": VIEW_BUILDER,
        "title": plain(_("Segment builder"), 24),
        "close": plain(_("Close"), 24),
        "private_metadata": json.dumps({"rows": len(state.rows), "channel": state.channel}),
        "blocks": blocks,
    }
    if can_save:
        name_input: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": "name",
            "max_length": 255,
            "placeholder": plain(_("e.g. John's June clients")),
        }
        if state.name:
            name_input["initial_value"] = state.name
        blocks.append(
            {
                "type": "input",
                "block_id": BLOCK_SEGMENT_NAME,
                "label": plain(_("Save as")),
                "element": name_input,
            }
        )
        view["submit"] = plain(_("Save segment"), 24)
    else:
        blocks.append(
            context(_("You can count here; saving segments needs the add segment permission."))
        )
    return view


def _selected(action_state: dict[str, Any]) -> str:
    option = action_state.get("selected_option") or {}
    return str(option.get("value") or "")


def read_state(view: dict[str, Any]) -> BuilderState:
    """The person's choices from a builder view's ``state`` and ``private_metadata``."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = {}
    values: dict[str, dict[str, Any]] = (view.get("state") or {}).get("values") or {}
    row_count = max(1, min(MAX_ROWS, int(meta.get("rows") or 1)))
    rows = []
    for index in range(row_count):
        key = _selected((values.get(_field_block(index)) or {}).get(ACTION_FIELD) or {})
        op = value = ""
        if key:
            # Exact block ids: blocks of a field chosen before may linger in the state.
            op = _selected((values.get(_op_block(index, key)) or {}).get(ACTION_OP) or {})
            typed = (values.get(_value_block(index, key)) or {}).get(ACTION_VALUE) or {}
            value = str(typed.get("value") or "")
        rows.append(BuilderRow(key, op, value))
    match = _selected((values.get(BLOCK_MATCH) or {}).get(ACTION_MATCH) or {}) or "all"
    scope = _selected((values.get(BLOCK_CLIENT_SCOPE) or {}).get(ACTION_SCOPE) or {}) or "primary"
    name = str(((values.get(BLOCK_SEGMENT_NAME) or {}).get("name") or {}).get("value") or "")
    return BuilderState(
        rows=tuple(rows),
        match=match if match in ("all", "any") else "all",
        client_scope=scope if scope in ("primary", "any") else "primary",
        name=name.strip(),
        channel=str(meta.get("channel") or ""),
    )


def state_rules(state: BuilderState, fields: Sequence[FieldInfo]) -> BuilderResult:
    """The rules the rows make; rows still being filled in are left out of the count."""
    by_key = {f.key: f for f in fields}
    result = BuilderResult()
    for index, row in enumerate(state.rows):
        chosen = by_key.get(row.field_key)
        if chosen is None:
            if row.field_key:
                result.errors[_field_block(index)] = _("That field is no longer mapped.")
            continue
        op = row.op if row.op in chosen.ops else _default_op(chosen)
        if op not in NO_VALUE_OPS and not row.value.strip():
            result.incomplete = True
            result.errors[_value_block(index, chosen.key)] = str(TYPE_A_VALUE)
            continue
        try:
            value = None if op in NO_VALUE_OPS else row.value
            result.rules.append(make_rule(chosen, op, value, result.notes))
        except ExpressionError as exc:
            if op in NO_VALUE_OPS:
                block = _op_block(index, chosen.key)
            else:
                block = _value_block(index, chosen.key)
            result.errors[block] = exc.message[:150]
    if not result.rules and not result.errors:
        result.incomplete = True
        result.errors[_field_block(0)] = str(CHOOSE_A_FIELD)
    return result


def blocking_errors(result: BuilderResult) -> list[str]:
    """Problems that make the rows wrong, as opposed to unfinished."""
    unfinished = (str(TYPE_A_VALUE), str(CHOOSE_A_FIELD))
    return [m for m in result.errors.values() if m not in unfinished]


def count_line(
    result: BuilderResult,
    state: BuilderState,
    fields: Sequence[FieldInfo],
    count: int | None,
    *,
    unavailable: str = "",
) -> str:
    """The live count line under the conditions."""
    if unavailable:
        return f":warning: {esc(unavailable)}"
    problems = blocking_errors(result)
    if problems:
        return f":warning: {esc(problems[0])}"
    if not result.rules:
        start = _("Choose a field to start.")
        return f"_{start}_"
    description = describe(state.match, result.rules, fields)
    if count is None:
        line = _("*?* match: %(description)s") % {"description": esc(description)}
    else:
        line = ngettext(
            "*%(count)s contact* matches: %(description)s",
            "*%(count)s contacts* match: %(description)s",
            count,
        ) % {"count": f"{count:,}", "description": esc(description)}
    if result.notes:
        line += "\n_" + esc(" ".join(result.notes[:2])) + "_"
    return line
