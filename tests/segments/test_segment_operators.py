"""Every operator, both client scopes, nested groups, blank values and the archived rule.

Run on SQLite by default and on PostgreSQL with
``DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/wagtail_xpm``: the expectations
are the same, which is the point.
"""

from __future__ import annotations

import pytest
from django.db import connection as db_connection

from tests.segments.segment_factories import EVERYONE, TODAY, rule
from wagtail_xpm.models import Segment
from wagtail_xpm.segments.compile import Definition, members, segment_queryset

pytestmark = pytest.mark.django_db


def names(practice, rules, *, match="all", scope="primary") -> list[str]:
    definition = Definition(rules=rules, match=match, client_scope=scope)
    queryset = members(practice.connection, definition, today=TODAY)
    return sorted(c.name.lower() for c in queryset)


# (rule, expected members) with client_scope "primary": values read from Contact.data.
PRIMARY = [
    # text and choice: case-insensitive, trimmed, blanks count as "not" for negations
    (rule("account_manager", "eq", " john SMITH "), ["ann", "cy"]),
    (rule("account_manager", "ne", "john smith"), ["bob", "dee", "fay", "gus", "hal"]),
    (rule("account_manager", "contains", "SMI"), ["ann", "cy"]),
    (rule("account_manager", "not_contains", "smi"), ["bob", "dee", "fay", "gus", "hal"]),
    (rule("account_manager", "starts_with", "jo"), ["ann", "cy"]),
    (rule("account_manager", "ends_with", "DOE"), ["bob", "hal"]),
    (rule("account_manager", "in", ["Jane Doe", "Nobody"]), ["bob", "hal"]),
    (rule("account_manager", "not_in", ["jane doe"]), ["ann", "cy", "dee", "fay", "gus"]),
    (rule("account_manager", "blank"), ["dee", "fay", "gus"]),
    (rule("account_manager", "not_blank"), ["ann", "bob", "cy", "hal"]),
    (rule("referral_source", "eq", "Word of Mouth"), ["bob", "hal"]),
    (rule("plan_level", "blank"), ["cy", "dee", "fay", "gus"]),
    (rule("referral_source", "gt", "h"), ["bob", "hal"]),  # text compares alphabetically
    (rule("account_manager", "contains", "%"), []),  # LIKE wildcards are escaped
    # numbers (JSON numbers only; int and float alike)
    (rule("fee", "gt", 100), ["ann"]),
    (rule("fee", "gte", 50.5), ["ann", "bob", "hal"]),
    (rule("fee", "lt", "50.5"), ["cy"]),
    (rule("fee", "lte", 0), ["cy"]),
    (rule("fee", "eq", 0), ["cy"]),
    (rule("fee", "ne", 1200), ["bob", "cy", "dee", "fay", "gus", "hal"]),
    (rule("fee", "in", [0, "1200"]), ["ann", "cy"]),
    (rule("fee", "not_in", [0, 1200]), ["bob", "dee", "fay", "gus", "hal"]),
    (rule("fee", "blank"), ["dee", "fay", "gus"]),
    (rule("fee", "not_blank"), ["ann", "bob", "cy", "hal"]),
    # dates (ISO text), windows counted from TODAY = 2025-06-10
    (rule("review_date", "before", "2025-06-01"), ["bob", "cy", "hal"]),
    (rule("review_date", "after", "2025-06-01"), ["ann"]),
    (rule("review_date", "gt", "2025-05-20"), ["ann"]),
    (rule("review_date", "gte", "2025-05-20"), ["ann", "bob", "hal"]),
    (rule("review_date", "lt", "2025-05-20"), ["cy"]),
    (rule("review_date", "lte", "2024-12-31"), ["cy"]),
    (rule("review_date", "eq", "2025-07-01"), ["ann"]),
    (rule("review_date", "ne", "2025-07-01"), ["bob", "cy", "dee", "fay", "gus", "hal"]),
    (rule("review_date", "within_next_days", 30), ["ann"]),
    (rule("review_date", "within_next_days", 20), []),
    (rule("review_date", "within_last_days", 30), ["bob", "hal"]),
    (rule("review_date", "blank"), ["dee", "fay", "gus"]),
    # Balance Month: English month names; "balance date" = the end of that month
    (rule("balance_month", "eq", "june"), ["ann"]),
    (rule("balance_month", "ne", "June"), ["bob", "cy", "dee", "fay", "gus", "hal"]),
    (rule("balance_month", "in", ["March", "december"]), ["bob", "cy", "hal"]),
    (rule("balance_month", "not_in", ["March"]), ["ann", "cy", "dee", "fay", "gus"]),
    (rule("balance_month", "within_next_days", 30), ["ann"]),  # 30 June is 20 days away
    (rule("balance_month", "within_next_days", 19), []),
    (rule("balance_month", "within_last_days", 80), ["bob", "hal"]),  # 31 March, 71 days ago
    (rule("balance_month", "within_last_days", 200), ["bob", "cy", "hal"]),  # 31 Dec 2024
    (rule("balance_month", "blank"), ["dee", "fay", "gus"]),
    # yes/no values
    (rule("gst_registered", "eq", True), ["ann"]),
    (rule("gst_registered", "eq", False), ["bob", "hal"]),
    (rule("gst_registered", "ne", True), ["bob", "cy", "dee", "fay", "gus", "hal"]),
    (rule("gst_registered", "blank"), ["cy", "dee", "fay", "gus"]),
    (rule("gst_registered", "not_blank"), ["ann", "bob", "hal"]),
    # lists (Client Groups): item matches, case-insensitive
    (rule("groups", "contains", "vip"), ["ann"]),
    (rule("groups", "eq", "TAX RETURNS"), ["ann"]),
    (rule("groups", "not_contains", "vip"), ["bob", "cy", "dee", "fay", "gus", "hal"]),
    (rule("groups", "ne", "Payroll"), ["ann", "cy", "dee", "fay", "gus"]),
    (rule("groups", "in", ["payroll", "nothing"]), ["bob", "hal"]),
    (rule("groups", "not_in", ["payroll", "vip"]), ["cy", "dee", "fay", "gus"]),
    (rule("groups", "blank"), ["cy", "dee", "fay", "gus"]),
    (rule("groups", "not_blank"), ["ann", "bob", "hal"]),
    # built-in contact fields
    (rule("email", "blank"), ["fay"]),
    (rule("email", "contains", "BOLT"), ["bob", "hal"]),
    (rule("email", "ends_with", "@acme.example"), ["ann"]),
    (rule("name", "starts_with", "g"), ["gus"]),
    (rule("client_name", "eq", "acme"), ["ann"]),
    (rule("source", "eq", "form"), ["gus"]),
    (rule("source", "ne", "xpm"), ["gus"]),
    (rule("subscribed", "eq", False), ["hal"]),
    (rule("subscribed", "ne", False), ["ann", "bob", "cy", "dee", "fay", "gus"]),
    (rule("is_prospect", "eq", True), ["dee"]),
    # naming is_archived lifts the archived rule
    (rule("is_archived", "eq", True), ["eve"]),
    (rule("is_archived", "eq", False), EVERYONE),
    (rule("is_archived", "ne", False), ["eve"]),
]


@pytest.mark.parametrize(("rule_", "expected"), PRIMARY, ids=lambda v: str(v)[:60])
def test_operator_primary_scope(world, practice, rule_, expected):
    assert names(practice, [rule_]) == expected


# The same rules read from each active linked client (client_scope "any").
ANY = [
    # Bob's other client is Acme (John Smith, June); Hal's June client is archived.
    (rule("account_manager", "eq", "John Smith"), ["ann", "bob", "cy"]),
    (rule("account_manager", "eq", "Jane Doe"), ["bob", "hal"]),
    (rule("balance_month", "eq", "June"), ["ann", "bob"]),
    (rule("balance_month", "within_next_days", 30), ["ann", "bob"]),
    (rule("account_manager", "ne", "john smith"), ["bob", "dee", "fay", "hal"]),
    # Gus has no XPM client, so no client of his is blank: he is not in.
    (rule("account_manager", "blank"), ["dee", "fay"]),
    (rule("groups", "contains", "VIP"), ["ann", "bob"]),
    (rule("fee", "gt", 1000), ["ann", "bob"]),
    (rule("gst_registered", "eq", True), ["ann", "bob"]),
    (rule("review_date", "within_last_days", 30), ["bob", "hal"]),
    (rule("client_name", "eq", "ACME"), ["ann", "bob"]),
    (rule("email", "ends_with", "@bolt.example"), ["bob", "hal"]),  # built-ins stay per contact
]


@pytest.mark.parametrize(("rule_", "expected"), ANY, ids=lambda v: str(v)[:60])
def test_operator_any_client_scope(world, practice, rule_, expected):
    assert names(practice, [rule_], scope="any") == expected


def test_any_scope_matches_each_rule_on_some_client_not_necessarily_the_same(world, practice):
    rules = [rule("account_manager", "eq", "Jane Doe"), rule("balance_month", "eq", "June")]
    # Bob: Jane Doe on Bolt, June on Acme. Hal: June only on an archived client.
    assert names(practice, rules, scope="any") == ["bob"]
    assert names(practice, rules, scope="primary") == []


def test_archived_clients_count_when_a_rule_names_is_archived(world, practice):
    rules = [rule("is_archived", "eq", True), rule("balance_month", "eq", "June")]
    assert names(practice, rules, scope="any") == ["eve"]
    rules = [rule("is_archived", "eq", False), rule("balance_month", "eq", "June")]
    assert names(practice, rules, scope="any") == ["ann", "bob", "hal"]


def test_archived_contacts_are_left_out_unless_named(world, practice):
    assert names(practice, [rule("account_manager", "eq", "Jane Doe")]) == ["bob", "hal"]
    assert names(practice, [rule("email", "contains", "@old.")]) == []
    assert names(practice, [rule("email", "contains", "@old."),
                            rule("is_archived", "ne", True)], match="any") == sorted(
        [*EVERYONE, "eve"])  # fmt: skip
    nested = [{"match": "any", "rules": [rule("is_archived", "eq", True)]}]
    assert names(practice, nested) == ["eve"]


def test_no_rules_is_everyone_but_the_archived(world, practice):
    assert names(practice, []) == EVERYONE
    assert names(practice, [], match="any") == EVERYONE


def test_top_level_any(world, practice):
    assert names(practice, [rule("email", "blank"), rule("source", "eq", "form")],
                 match="any") == ["fay", "gus"]  # fmt: skip


def test_nested_groups(world, practice):
    tree = [
        rule("account_manager", "eq", "John Smith"),
        {"match": "any", "rules": [rule("balance_month", "eq", "June"), rule("fee", "lt", 10)]},
    ]
    assert names(practice, tree) == ["ann", "cy"]
    tree = [
        {"match": "all", "rules": [rule("gst_registered", "eq", True),
                                   rule("groups", "contains", "VIP")]},
        {"match": "all", "rules": [rule("fee", "gte", 50), rule("fee", "lt", 100)]},
    ]  # fmt: skip
    assert names(practice, tree, match="any") == ["ann", "bob", "hal"]
    deep = [{"match": "any", "rules": [{"match": "all", "rules": [
        {"match": "any", "rules": [rule("name", "eq", "cy"), rule("name", "eq", "dee")]},
        rule("fee", "blank"),
    ]}]}]  # fmt: skip
    assert names(practice, deep) == ["dee"]
    assert names(practice, deep, scope="any") == ["dee"]


def test_a_rule_on_a_key_no_longer_mapped_reads_the_stored_text(world, practice):
    practice.connection.field_mappings.filter(key="referral_source").delete()
    assert names(practice, [rule("referral_source", "eq", "google ads")]) == ["ann"]


def test_other_practices_contacts_never_match(world, practice):
    from tests.segments.segment_factories import Practice, make_connection

    other = Practice(make_connection())
    client = other.client("Acme", {"account_manager": "John Smith"})
    other.contact("Zed", "zed@acme.example", clients=[client])
    assert names(practice, [rule("account_manager", "eq", "John Smith")]) == ["ann", "cy"]
    assert names(other, [rule("account_manager", "eq", "John Smith")]) == ["zed"]


@pytest.mark.parametrize("scope", ["primary", "any"])
def test_count_is_one_query(world, practice, django_assert_num_queries, scope):
    tree = [
        rule("account_manager", "eq", "John Smith"),
        {"match": "any", "rules": [rule("balance_month", "eq", "June"), rule("fee", "lt", 10)]},
        rule("groups", "not_in", ["Payroll"]),
    ]
    queryset = members(practice.connection, Definition(tree, "all", scope), today=TODAY)
    with django_assert_num_queries(1) as captured:
        count = queryset.count()
    # Primary: Ann and Cy. Any: Bob too (John Smith and June on Acme, no Payroll there).
    assert count == (2 if scope == "primary" else 3)
    sql = captured.captured_queries[0]["sql"]
    # "any" reads the linked clients in subqueries; "primary" never joins them.
    assert ("wagtail_xpm_contactclientlink" in sql) == (scope == "any")
    assert " JOIN " not in sql.split("EXISTS")[0]


def test_saved_segment_members(world, practice):
    segment = Segment.objects.create(
        connection=practice.connection,
        name="John's June clients",
        client_scope="any",
        rules=[rule("account_manager", "eq", "John Smith"), rule("balance_month", "eq", "June")],
    )
    assert sorted(c.name for c in segment_queryset(segment)) == ["Ann", "Bob"]
    assert segment.as_document() == {
        "name": "John's June clients",
        "client_scope": "any",
        "match": "all",
        "rules": segment.rules,
    }


def test_runs_on_the_configured_backend():
    # Recorded in the test output so a PostgreSQL run is visibly one.
    assert db_connection.vendor in ("sqlite", "postgresql")
