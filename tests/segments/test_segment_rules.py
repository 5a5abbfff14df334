"""The version-1 rule format: validation messages name the bad entry; values are normalised;
balance-date arithmetic."""

from __future__ import annotations

from datetime import date

import pytest

from wagtail_xpm.segments import dates
from wagtail_xpm.segments.rules import (
    OPS,
    OPS_BY_TYPE,
    RuleError,
    RuleValidator,
    as_month,
    mapped_field,
    rule_number,
    validate_rules,
)

FIELDS = {
    "account_manager": "choice",
    "balance_month": "month",
    "gst_registered": "boolean",
    "fee": "number",
    "review_date": "date",
    "groups": "list",
    "notes": "text",
}


def errors_of(rules, **kwargs) -> list[str]:
    with pytest.raises(RuleError) as refused:
        validate_rules(rules, FIELDS, **kwargs)
    return refused.value.errors


def test_every_operator_is_known_to_some_type():
    assert set(OPS) == {op for ops in OPS_BY_TYPE.values() for op in ops}


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([{"field": "notes", "op": "like", "value": "x"}],
         "rules[0].op: 'like' is not an operator"),
        ([{"field": "plan", "op": "eq", "value": "x"}],
         "rules[0].field: 'plan' is not a mapped key or built-in field"),
        ([{"op": "eq", "value": "x"}], "rules[0].field: missing"),
        ([{"field": "notes", "op": "in", "value": "x"}],
         "rules[0].value: 'in' needs a non-empty list"),
        ([{"field": "notes", "op": "in", "value": [{"a": 1}]}],
         "rules[0].value: 'in' values must be text, numbers or true/false"),
        ([{"field": "notes", "op": "eq"}], "rules[0].value: missing (needed by 'eq')"),
        ([{"field": "notes", "op": "eq", "value": None}], "use 'blank' for an empty field"),
        ([{"field": "notes", "op": "blank", "value": "x"}],
         "rules[0].value: 'blank' takes no value"),
        ([{"field": "review_date", "op": "within_next_days", "value": -1}],
         "rules[0].value: 'within_next_days' needs a whole number of days"),
        ([{"field": "review_date", "op": "within_next_days", "value": "7"}],
         "'within_next_days' needs a whole number"),
        ([{"field": "review_date", "op": "before", "value": "next June"}],
         "rules[0].value: 'before' needs a date as YYYY-MM-DD"),
        ([{"field": "balance_month", "op": "gt", "value": "June"}],
         "rules[0].op: 'gt' does not apply to balance_month (a month field"),
        ([{"field": "balance_month", "op": "eq", "value": "Juno"}],
         "rules[0].value: 'Juno' is not a month (January to December)"),
        ([{"field": "gst_registered", "op": "eq", "value": "maybe"}],
         "rules[0].value: gst_registered is a yes/no field: use true or false"),
        ([{"field": "fee", "op": "gt", "value": "lots"}],
         "rules[0].value: fee is a number field: 'lots' is not a number"),
        ([{"field": "review_date", "op": "eq", "value": "soon"}],
         "rules[0].value: review_date is a date field"),
        ([{"field": "groups", "op": "starts_with", "value": "V"}],
         "rules[0].op: 'starts_with' does not apply to groups (a list field"),
        ([{"field": "subscribed", "op": "blank"}], "rules[0].op: 'blank' does not apply to"),
        ([{"field": "notes", "op": "eq", "value": "x", "colour": "red"}],
         "rules[0].colour: unknown field in a rule (expected field, op, value)"),
        ([{"match": "either", "rules": [{"field": "email", "op": "not_blank"}]}],
         "rules[0].match: 'either' is not one of all, any"),
        ([{"match": "any", "rules": []}], "rules[0].rules: a group needs at least one rule"),
        ([{"match": "any", "rules": [{"field": "email", "op": "blank"}], "x": 1}],
         "rules[0].x: unknown field in a rule group"),
        ([[1]], "rules[0]: must be an object, not a list"),
        ({"field": "email"}, "rules: must be a list of rules, not an object"),
    ],
)  # fmt: skip
def test_invalid_rules_are_named(rules, message):
    problems = errors_of(rules)
    assert any(message in problem for problem in problems), problems


def test_nested_paths_and_every_problem_listed():
    rules = [
        {"field": "notes", "op": "eq", "value": "ok"},
        {"match": "any", "rules": [
            {"field": "balance_month", "op": "eq", "value": "June"},
            {"match": "all", "rules": [{"field": "fee", "op": "lt", "value": "x"}]},
            {"field": "nope", "op": "eq", "value": 1},
        ]},
    ]  # fmt: skip
    # The document's path first, then the rule as it reads and where an editor counts it.
    assert errors_of(rules) == [
        "rules[1].rules[1].rules[0].value: fee is a number field: 'x' is not a number "
        "(rule 2.2.1: “fee is less than x”)",
        "rules[1].rules[2].field: 'nope' is not a mapped key or built-in field (client_name, "
        "email, is_archived, is_prospect, name, source, subscribed) (rule 2.3: “nope is 1”)",
    ]


def test_depth_is_limited():
    rules = [{"field": "email", "op": "blank"}]
    for _ in range(9):
        rules = [{"match": "any", "rules": rules}]
    assert any("nested more than 8 deep" in e for e in errors_of(rules))


def test_bad_top_level_match():
    assert errors_of([], match="some") == ["match: 'some' is not one of all, any"]


def test_values_are_normalised_for_their_field():
    rules = validate_rules(
        [
            {"field": "balance_month", "op": "in", "value": ["jun", 12, "march"]},
            {"field": "gst_registered", "op": "eq", "value": "yes"},
            {"field": "fee", "op": "gte", "value": "1,200"},
            {"field": "notes", "op": "eq", "value": "  padded "},
            {"field": "subscribed", "op": "ne", "value": "false"},
            {"match": "any", "rules": [{"field": "balance_month", "op": "eq", "value": "6"}]},
        ],
        FIELDS,
    )
    assert rules == [
        {"field": "balance_month", "op": "in", "value": ["June", "December", "March"]},
        {"field": "gst_registered", "op": "eq", "value": True},
        {"field": "fee", "op": "gte", "value": 1200},
        {"field": "notes", "op": "eq", "value": "padded"},
        {"field": "subscribed", "op": "ne", "value": False},
        {"match": "any", "rules": [{"field": "balance_month", "op": "eq", "value": "June"}]},
    ]


def test_segment_entries_like_the_config_document():
    validator = RuleValidator(FIELDS)
    entry = validator.segment(
        {"name": "  June  ", "rules": [{"field": "balance_month", "op": "eq", "value": "June"}]},
        "segments[0]",
    )
    assert validator.errors == []
    assert entry == {
        "name": "June",
        "client_scope": "primary",
        "match": "all",
        "rules": [{"field": "balance_month", "op": "eq", "value": "June"}],
    }
    validator.segment({"name": "", "client_scope": "all", "rules": []}, "segments[1]")
    assert validator.errors == [
        "segments[1].name: a segment needs a name",
        "segments[1].client_scope: 'all' is not one of primary, any",
    ]


@pytest.mark.parametrize(
    ("value", "month"),
    [("June", "June"), ("june", "June"), (" JUN ", "June"), ("sept", "September"), (6, "June"),
     ("12", "December"), ("Ju", None), (13, None), (True, None)],
)  # fmt: skip
def test_month_names(value, month):
    assert as_month(value) == month


def test_balance_dates():
    today = date(2025, 6, 10)
    assert dates.next_balance_date("June", today) == date(2025, 6, 30)
    assert dates.next_balance_date("March", today) == date(2026, 3, 31)
    assert dates.next_balance_date("February", date(2027, 6, 1)) == date(2028, 2, 29)  # leap
    assert dates.last_balance_date("June", today) == date(2024, 6, 30)
    assert dates.last_balance_date("May", today) == date(2025, 5, 31)
    assert dates.months_due_within_next(20, today) == ["June"]
    assert dates.months_due_within_next(19, today) == []
    assert dates.months_due_within_next(51, today) == ["June", "July"]
    assert dates.months_due_within_last(10, today) == ["May"]
    assert dates.months_due_within_last(365, today) == list(dates.MONTHS)
    # On the balance date itself it is both due today and just passed.
    end_of_june = date(2025, 6, 30)
    assert dates.months_due_within_next(0, end_of_june) == ["June"]
    assert dates.months_due_within_last(0, end_of_june) == ["June"]


# --- unfinished rules and the editor's wording ----------------------------------------------

LABELLED = {
    "account_manager": mapped_field("account_manager", "Account Manager", "choice"),
    "balance_month": mapped_field("balance_month", "Balance Month", "month"),
    "plan_level": mapped_field("plan_level", "Plan Level", "choice"),
}


@pytest.mark.parametrize("value", ["", "   ", None, [], [""]])
def test_an_unfinished_rule_is_refused_never_read_as_blank(value):
    op = "in" if isinstance(value, list) else "eq"
    unfinished = {"field": "account_manager", "op": op, "value": value}
    with pytest.raises(RuleError) as refused:
        validate_rules([unfinished], LABELLED)
    (problem,) = refused.value.errors
    assert problem.startswith("rules[0].value: ")
    assert problem.endswith(f"(rule 1: “Account Manager {'is any of' if op == 'in' else 'is'} …”)")
    with pytest.raises(RuleError) as refused:
        validate_rules([{"field": "email", "op": "blank"}, unfinished], LABELLED, editor=True)
    wanted = "is any of" if op == "in" else "is"
    assert refused.value.errors == [f"Rule 2: “Account Manager {wanted} …” needs a value."]


def test_the_editor_reads_rules_as_it_sees_them():
    rules = [
        {"field": "balance_month", "op": "gt", "value": "June"},
        {"match": "any", "rules": []},
        {"match": "any", "rules": [{"field": "plan_level", "op": "blank", "value": "Gold"}]},
    ]
    with pytest.raises(RuleError) as refused:
        validate_rules(rules, LABELLED, editor=True)
    assert refused.value.errors == [
        "Rule 1, “Balance Month is more than June”: 'is more than' does not apply to Balance "
        "Month (a month field; use is, is not, is any of, is none of, is blank, is not blank, "
        "balance date is within the next … days, balance date was within the last … days)",
        "Group 2: a group needs at least one rule",
        "Rule 3.1, “Plan Level is blank”: 'is blank' takes no value",
    ]


def test_rule_numbers_count_as_the_editor_does():
    assert rule_number("rules[0].value") == "1"
    assert rule_number("segments[3].rules[1].rules[2].op") == "2.3"
    assert rule_number("segments[3].name") == ""
