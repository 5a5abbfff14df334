"""The segment language (wagtail_xpm.segments): typed expressions read into version-1 rules
(parse), rule trees written back in words (describe), and the vocabulary both share with the
admin builder and the Slack bot. Pure: no database, no Slack."""

from __future__ import annotations

import pytest

from wagtail_xpm.segments.describe import describe, rule_words
from wagtail_xpm.segments.parse import (
    MAX_LENGTH,
    ExpressionError,
    make_rule,
    parse,
    read_date,
    read_month,
    split_list,
)
from wagtail_xpm.segments.vocabulary import MONTHS, FieldInfo, mapped_field, with_builtins


def mapped(key, label, value_type="text", choices=()) -> FieldInfo:
    return mapped_field(key, label, value_type, choices)


FIELDS = with_builtins(
    [
        mapped("account_manager", "Account Manager", "choice",
               ("John Smith", "Jo Bloggs", "Johnny Cash", "Aroha Ngata")),
        mapped("job_manager", "Job Manager", "choice", ("John Smith", "Priya Patel")),
        mapped("balance_month", "Balance Month", "month", MONTHS),
        mapped("plan_level", "Plan Level", "choice", ("Gold", "Silver", "Bronze")),
        mapped("gst_registered", "GST Registered", "boolean"),
        mapped("tax_number_masked", "Tax Number (masked)", "text"),
        mapped("client_groups", "Client Groups", "list", ("VIP", "Payroll")),
        mapped("annual_fee", "Annual Fee", "number"),
        mapped("year_end", "Year End", "date"),
        mapped("business_structure", "Business Structure", "choice"),
        mapped("referral", "Source", "text"),  # a mapping whose label is a built-in's label
    ]
)  # fmt: skip


def rules(text: str) -> dict:
    return parse(text, FIELDS).as_dict()


def rule(field: str, op: str, value=None) -> dict:
    out = {"field": field, "op": op}
    if value is not None:
        out["value"] = value
    return out


# --- the examples -------------------------------------------------------------------


def test_account_manager_and_balance_month():
    parsed = parse("Account Manager = John and Balance Month = June", FIELDS)
    assert parsed.as_dict() == {
        "match": "all",
        "rules": [
            rule("account_manager", "eq", "John Smith"),
            rule("balance_month", "eq", "June"),
        ],
    }
    assert parsed.notes == ("“John” was read as “John Smith” (Account Manager).",)


def test_in_list():
    assert rules("Plan Level in Gold, Silver") == {
        "match": "all",
        "rules": [rule("plan_level", "in", ["Gold", "Silver"])],
    }


@pytest.mark.parametrize(
    "text",
    [
        "Account Manager = John Smith",
        "account manager = john smith",
        "ACCOUNT_MANAGER == John Smith",
        "account_manager is John Smith",
        '"Account Manager" = "John Smith"',
        "Account-Manager equals john smith",
        "Account Manager:John Smith",
        "  Account   Manager   =   John    Smith  ",
        "Account Manager is equal to John Smith",
    ],
)
def test_labels_keys_and_spellings(text):
    assert rules(text)["rules"] == [rule("account_manager", "eq", "John Smith")]


# --- operators ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Plan Level != Gold", rule("plan_level", "ne", "Gold")),
        ("Plan Level <> Gold", rule("plan_level", "ne", "Gold")),
        ("Plan Level is not Gold", rule("plan_level", "ne", "Gold")),
        ("Plan Level isn't Gold", rule("plan_level", "ne", "Gold")),
        ("Plan Level not Gold", rule("plan_level", "ne", "Gold")),
        ("Name contains smith", rule("name", "contains", "smith")),
        ("Name includes smith", rule("name", "contains", "smith")),
        ("Name does not contain smith", rule("name", "not_contains", "smith")),
        ("Name doesn't contain smith", rule("name", "not_contains", "smith")),
        ("Email starts with accounts@", rule("email", "starts_with", "accounts@")),
        ("Email begins with accounts@", rule("email", "starts_with", "accounts@")),
        ("Email ends with .example", rule("email", "ends_with", ".example")),
        ("Plan Level not in Gold, Silver", rule("plan_level", "not_in", ["Gold", "Silver"])),
        ("Plan Level is not in (gold, silver)", rule("plan_level", "not_in", ["Gold", "Silver"])),
        ("Plan Level is one of [Gold]", rule("plan_level", "in", ["Gold"])),
        ("Plan Level is none of Bronze", rule("plan_level", "not_in", ["Bronze"])),
        ("Tax Number (masked) is blank", rule("tax_number_masked", "blank")),
        ("Tax Number (masked) is empty", rule("tax_number_masked", "blank")),
        ("tax_number_masked is not blank", rule("tax_number_masked", "not_blank")),
        ("Tax Number masked is set", rule("tax_number_masked", "not_blank")),
        ("Annual Fee > 1000", rule("annual_fee", "gt", 1000)),
        ("Annual Fee >= 1,000.50", rule("annual_fee", "gte", 1000.5)),
        ("Annual Fee < $500", rule("annual_fee", "lt", 500)),
        ("Annual Fee <= 500", rule("annual_fee", "lte", 500)),
        ("Annual Fee is more than 10", rule("annual_fee", "gt", 10)),
        ("Annual Fee at least 10", rule("annual_fee", "gte", 10)),
        ("Annual Fee under 10", rule("annual_fee", "lt", 10)),
        ("Annual Fee is at most 10", rule("annual_fee", "lte", 10)),
        ("Year End before 2025-06-30", rule("year_end", "before", "2025-06-30")),
        ("Year End is after 1/7/2024", rule("year_end", "after", "2024-07-01")),
        ("Year End > 30/06/2025", rule("year_end", "gt", "2025-06-30")),
        ("Balance Month within next 30 days", rule("balance_month", "within_next_days", 30)),
        ("Balance Month is within the next 60 days", rule("balance_month", "within_next_days", 60)),
        ("Balance Month in the next 1 day", rule("balance_month", "within_next_days", 1)),
        ("Year End within the last 7 days", rule("year_end", "within_last_days", 7)),
        ("Year End in the past 90 days", rule("year_end", "within_last_days", 90)),
        ("Client Groups has VIP", rule("client_groups", "contains", "VIP")),
        ("Client Groups contains vip", rule("client_groups", "contains", "vip")),
    ],
)
def test_operators(text, expected):
    assert rules(text)["rules"] == [expected]


# --- values ---------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["June", "june", "Jun", "jun.", "6", "JUNE"])
def test_months(typed):
    assert rules(f"Balance Month = {typed}")["rules"] == [rule("balance_month", "eq", "June")]


def test_month_lists():
    assert rules("Balance Month in 3, jun, Dec")["rules"] == [
        rule("balance_month", "in", ["March", "June", "December"])
    ]


@pytest.mark.parametrize(
    ("typed", "value"), [("yes", True), ("Yes", True), ("true", True), ("no", False), ("0", False)]
)
def test_yes_no(typed, value):
    assert rules(f"GST Registered = {typed}")["rules"] == [rule("gst_registered", "eq", value)]


def test_flags_on_their_own():
    assert rules("subscribed and not archived and is_prospect")["rules"] == [
        rule("subscribed", "eq", True),
        rule("is_archived", "eq", False),
        rule("is_prospect", "eq", True),
    ]


def test_choices_are_spelled_as_known():
    assert rules("Plan Level = gold")["rules"] == [rule("plan_level", "eq", "Gold")]
    assert rules("Account Manager = SMITH")["rules"] == [
        rule("account_manager", "eq", "John Smith")
    ]
    # Whole words only: "Jo" is Jo Bloggs, never John or Johnny.
    assert rules("Account Manager = jo")["rules"] == [rule("account_manager", "eq", "Jo Bloggs")]


def test_several_matches_are_listed():
    fields = [mapped("am", "AM", "choice", ("John Smith", "John Citizen"))]
    with pytest.raises(ExpressionError) as caught:
        parse("AM = John", fields)
    assert caught.value.message == "“John” could be several AM values: John Smith, John Citizen."
    assert "Type more of the name" in caught.value.hint


def test_unknown_choice_is_kept_with_a_note():
    parsed = parse("Plan Level = Platinum", FIELDS)
    assert parsed.rules == [rule("plan_level", "eq", "Platinum")]
    assert parsed.notes == ("No Plan Level I know of is “Platinum”: the segment may be empty.",)


def test_free_text_choice_fields_keep_what_was_typed():
    assert rules("Business Structure = trust")["rules"] == [
        rule("business_structure", "eq", "trust")
    ]


def test_quoted_values_keep_and_or_and_commas():
    assert rules("Client Name = \"Smith and Jones\" or Name = 'A or B'") == {
        "match": "any",
        "rules": [rule("client_name", "eq", "Smith and Jones"), rule("name", "eq", "A or B")],
    }
    assert rules('Plan Level in "Gold, old", Silver')["rules"] == [
        rule("plan_level", "in", ["Gold, old", "Silver"])
    ]
    assert rules("Client Name = “Smith & Co”")["rules"] == [rule("client_name", "eq", "Smith & Co")]


def test_values_may_contain_commas():
    assert rules("Client Name = Smith, Jones Ltd")["rules"] == [
        rule("client_name", "eq", "Smith, Jones Ltd")
    ]


def test_values_may_contain_ampersands_and_punctuation():
    assert rules("Client Name = Smith & Co (NZ) Ltd")["rules"] == [
        rule("client_name", "eq", "Smith & Co (NZ) Ltd")
    ]
    assert rules("Email = o'brien@example.com")["rules"] == [
        rule("email", "eq", "o'brien@example.com")
    ]


def test_words_that_start_with_and_or_are_values():
    assert rules("Name = Andrew Order")["rules"] == [rule("name", "eq", "Andrew Order")]


def test_is_blank_needs_to_end_the_condition():
    # "is Blank Co" is a value, not the blank operator followed by junk.
    assert rules("Name is Blank Co")["rules"] == [rule("name", "eq", "Blank Co")]


def test_mapping_label_beats_a_builtin_label_and_keys_stay_exact():
    assert rules("Source = Google")["rules"] == [rule("referral", "eq", "Google")]
    assert rules("source = form")["rules"] == [rule("source", "eq", "form")]


# --- and, or, groups ------------------------------------------------------------------------


def test_and_binds_tighter_than_or():
    assert rules("Plan Level = Gold and Balance Month = June or subscribed") == {
        "match": "any",
        "rules": [
            {
                "match": "all",
                "rules": [rule("plan_level", "eq", "Gold"), rule("balance_month", "eq", "June")],
            },
            rule("subscribed", "eq", True),
        ],
    }


def test_parentheses_group():
    assert rules("(Plan Level = Gold or Plan Level = Silver) and Balance Month = June") == {
        "match": "all",
        "rules": [
            {
                "match": "any",
                "rules": [rule("plan_level", "eq", "Gold"), rule("plan_level", "eq", "Silver")],
            },
            rule("balance_month", "eq", "June"),
        ],
    }


def test_nested_groups_of_the_same_kind_are_flattened():
    assert rules("subscribed and (Plan Level = Gold and (Balance Month = June))") == {
        "match": "all",
        "rules": [
            rule("subscribed", "eq", True),
            rule("plan_level", "eq", "Gold"),
            rule("balance_month", "eq", "June"),
        ],
    }


def test_symbol_joiners():
    assert rules("subscribed && prospect || archived")["match"] == "any"


def test_value_with_parentheses_inside_a_group():
    assert rules("(Client Name = Smith (NZ)) and subscribed")["rules"] == [
        rule("client_name", "eq", "Smith (NZ)"),
        rule("subscribed", "eq", True),
    ]
    assert rules('(Client Name = "Smith (NZ)") and subscribed')["rules"] == [
        rule("client_name", "eq", "Smith (NZ)"),
        rule("subscribed", "eq", True),
    ]


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("", "Say which contacts", ""),
        ("Acount Manager = John", "I don't know a field called “Acount Manager”.",
         "Did you mean Account Manager"),
        ("Client Name = Smith and Jones", "I don't know a field called “Jones”.",
         "put the value in quotes"),
        ("Plan Level", "After Plan Level I expected an operator", ""),
        ("Plan Level =", "Plan Level is … needs a value.", ""),
        ("Plan Level = Gold and", "ends where a condition should follow", ""),
        ("(Plan Level = Gold", "A “(” is not closed.", ""),
        ("Plan Level = Gold)", "There is a “)” without its “(”.", ""),
        ('Name = "Smith', "A quote is not closed.", ""),
        ("Balance Month = Jume", "“Jume” is not a month (January to December).", ""),
        ("Annual Fee > lots", "Annual Fee is a number field: “lots” is not a number.", ""),
        ("Year End before June", "Year End needs a date like 2025-06-30", ""),
        ("GST Registered = maybe", "GST Registered is a yes/no field", ""),
        ("Account Manager before 2024-01-01", "“is before” does not apply to Account Manager "
         "(a choice field).", "Use: is, is not"),
        ("Subscribed contains x", "“contains” does not apply to Subscribed (a yes/no field).", ""),
        ("Balance Month > June", "“is more than” does not apply to Balance Month", ""),
        ("Plan Level in", "Plan Level is any of … needs a value.", ""),
        ("Year End within the next 99999999 days", "needs a whole number of days", ""),
    ],
)  # fmt: skip
def test_errors_say_what_is_wrong(text, message, hint):
    with pytest.raises(ExpressionError) as caught:
        parse(text, FIELDS)
    assert message in caught.value.message
    assert hint in caught.value.hint


def test_error_position_points_at_the_problem():
    with pytest.raises(ExpressionError) as caught:
        parse("Plan Level = Gold and Acount = x", FIELDS)
    assert caught.value.position == len("Plan Level = Gold and ")


# --- writing rules back ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Account Manager = John and Balance Month = June",
        "Plan Level in Gold, Silver",
        '(Plan Level = gold or Client Name = "Smith and Jones") and not subscribed',
        "Tax Number (masked) is blank or Year End within the last 7 days",
        "Annual Fee >= 1000.5 and Year End before 30/06/2025",
        'Plan Level not in "Gold, old", Silver',
        "Source = Google and source = manual",
        "Client Name = 'quoted' and Name = \"it's\"",
        "Email does not contain x and Email starts with a and Email ends with b",
        "Balance Month within next 30 days",
    ],
)
def test_describe_round_trips(text):
    parsed = parse(text, FIELDS)
    written = describe(parsed.match, parsed.rules, FIELDS)
    assert parse(written, FIELDS).as_dict() == parsed.as_dict(), written


def test_describe_reads_well():
    parsed = parse("Account Manager = John and (Plan Level in Gold, Silver or subscribed)", FIELDS)
    assert describe(parsed.match, parsed.rules, FIELDS) == (
        "Account Manager is John Smith and (Plan Level is any of Gold, Silver or Subscribed is Yes)"
    )
    assert describe("all", [], FIELDS) == "Everyone"
    assert describe("all", [rule("gone_field", "eq", "x")], FIELDS) == "gone_field is x"


# --- pieces ---------------------------------------------------------------------------------


def test_make_rule_for_builders():
    plan = FIELDS[3]
    assert make_rule(plan, "in", "gold,  silver ") == rule("plan_level", "in", ["Gold", "Silver"])
    assert make_rule(plan, "blank", None) == rule("plan_level", "blank")
    with pytest.raises(ExpressionError, match="needs a value"):
        make_rule(plan, "eq", "  ")
    with pytest.raises(ExpressionError, match="not an operator"):
        make_rule(plan, "like", "x")


def test_split_list():
    assert split_list('a, "b, c" ,, d ') == ["a", "b, c", "d"]


def test_dates_and_months():
    assert read_date("2025-06-30") == "2025-06-30"
    assert read_date("30/06/2025") == "2025-06-30"
    assert read_date("31/02/2025") is None
    assert read_date("June") is None
    assert read_month("Sept") == "September"
    assert read_month("13") is None
    assert read_month("ju") is None


# --- bounded input --------------------------------------------------------------------------


def test_absurdly_long_input_is_refused_before_it_is_read():
    text = " and ".join(["Plan Level = Gold"] * 200)
    assert len(text) > MAX_LENGTH
    with pytest.raises(ExpressionError, match="too long to read"):
        parse(text, FIELDS)


def test_deep_brackets_are_refused_without_recursion():
    deep = "(" * 9 + "subscribed" + ")" * 9
    with pytest.raises(ExpressionError, match="nested more than 8 deep"):
        parse(deep, FIELDS)
    # Far beyond Python's recursion limit: still a clear error, never a RecursionError.
    with pytest.raises(ExpressionError):
        parse("(" * 1500 + "subscribed", FIELDS)
    assert rules("(" * 8 + "subscribed" + ")" * 8)["rules"] == [rule("subscribed", "eq", True)]


# --- one wording, read back -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules_", "words"),
    [
        ([rule("client_groups", "contains", "VIP")], "Client Groups includes VIP"),
        ([rule("client_groups", "in", ["VIP", "Payroll"])],
         "Client Groups includes any of VIP, Payroll"),
        ([rule("client_groups", "not_in", ["VIP"])], "Client Groups includes none of VIP"),
        ([rule("year_end", "gte", "2025-06-30")], "Year End is on or after 2025-06-30"),
        ([rule("year_end", "lte", "2025-06-30")], "Year End is on or before 2025-06-30"),
        ([rule("balance_month", "within_next_days", 30)],
         "Balance Month balance date is within the next 30 days"),
        ([rule("year_end", "within_last_days", 7)], "Year End was within the last 7 days"),
        ([rule("gst_registered", "eq", False)], "GST Registered is No"),
        ([rule("client_name", "eq", "Smith, Jones and Co")],
         'XPM client name is "Smith, Jones and Co"'),
        ([rule("source", "eq", "form")], "source is form"),  # "Source" is the mapping's label
    ],
)  # fmt: skip
def test_the_admins_words_read_back(rules_, words):
    assert describe("all", rules_, FIELDS) == words
    assert parse(words, FIELDS).rules == rules_


def test_unfinished_rules_read_with_an_ellipsis():
    fields = {f.key: f for f in FIELDS}
    assert rule_words({"field": "account_manager", "op": "eq", "value": ""}, fields) == (
        "Account Manager is …"
    )
    assert rule_words({"field": "plan_level", "op": "in", "value": []}, fields) == (
        "Plan Level is any of …"
    )
    assert rule_words({"field": "nope", "op": "like", "value": "x"}, fields) == "nope like x"
    assert describe("any", [{"match": "all", "rules": []}], fields) == "(…)"


def test_operator_labels_follow_the_field_type_in_error_hints():
    with pytest.raises(ExpressionError) as caught:
        parse("Client Groups starts with V", FIELDS)
    assert caught.value.message == "“starts with” does not apply to Client Groups (a list field)."
    assert caught.value.hint == (
        "Use: includes, does not include, includes any of, includes none of, is blank, "
        "is not blank."
    )
