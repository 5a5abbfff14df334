"""Explain: each rule true or false with the contact's value, never disagreeing with the count."""

from __future__ import annotations

import pytest

from tests.segments.segment_factories import TODAY, rule
from wagtail_xpm.models import Contact
from wagtail_xpm.segments.compile import Definition, members
from wagtail_xpm.segments.explain import explain

pytestmark = pytest.mark.django_db

DEFINITIONS = [
    Definition([rule("account_manager", "eq", "John Smith"), rule("balance_month", "eq", "June")]),
    Definition(
        [rule("account_manager", "eq", "Jane Doe"), rule("balance_month", "eq", "June")],
        client_scope="any",
    ),  # fmt: skip
    Definition(
        [
            rule("groups", "not_in", ["Payroll"]),
            {"match": "any", "rules": [rule("fee", "lt", 10), rule("email", "blank")]},
        ]
    ),
    Definition([rule("is_archived", "eq", True)], client_scope="any"),
    Definition(
        [rule("balance_month", "within_next_days", 30), rule("subscribed", "eq", True)],
        match="any",
        client_scope="any",
    ),  # fmt: skip
    Definition([]),
]


@pytest.mark.parametrize("definition", DEFINITIONS, ids=range(len(DEFINITIONS)))
def test_explain_agrees_with_the_segment_for_every_contact(world, practice, definition):
    inside = set(members(practice.connection, definition, today=TODAY).values_list("pk", flat=True))
    for contact in Contact.objects.filter(connection=practice.connection):
        why = explain(contact, definition, today=TODAY)
        assert why.member == (contact.pk in inside), contact.name
        assert why.member == (why.rules_matched and not why.archived_left_out), contact.name


def test_rule_by_rule_with_values(world, practice):
    definition = Definition(
        [rule("account_manager", "eq", "John Smith"),
         {"match": "any", "rules": [rule("balance_month", "eq", "June"), rule("fee", "lt", 10)]}]
    )  # fmt: skip
    bob = Contact.objects.get(name="Bob")
    why = explain(bob, definition, today=TODAY).as_json()
    assert why["member"] is False
    first, group = why["root"]["children"]
    assert (first["text"], first["matched"], first["contact_value"]) == (
        "Account Manager is John Smith",
        False,
        "Jane Doe",
    )
    assert group["kind"] == "group" and group["match"] == "any" and group["matched"] is False
    assert [(r["text"], r["contact_value"]) for r in group["children"]] == [
        ("Balance Month is June", "March"),
        ("Annual Fee is less than 10", "50.5"),
    ]
    assert why["summary"] == (
        "Bob is not in this segment: “Account Manager is John Smith”; any of (“Balance Month "
        "is June”, “Annual Fee is less than 10”) do not match."
    )


def test_any_scope_shows_each_linked_client(world, practice):
    definition = Definition([rule("balance_month", "eq", "June")], client_scope="any")
    hal = Contact.objects.get(name="Hal")
    why = explain(hal, definition, today=TODAY)
    assert why.member is False
    (leaf,) = why.root.leaves()
    clients = {c.name: (c.value, c.matched, c.counted) for c in leaf.clients}
    # Old is June but archived: it does not count unless a rule names is_archived.
    assert clients == {"Bolt": ("March", False, True), "Old": ("June", True, False)}
    bob = Contact.objects.get(name="Bob")
    (leaf,) = explain(bob, definition, today=TODAY).root.leaves()
    assert leaf.matched and [c.name for c in leaf.clients if c.matched] == ["Acme"]


def test_archived_contact_is_told_why(world, practice):
    eve = Contact.objects.get(name="Eve")
    why = explain(eve, Definition([rule("balance_month", "eq", "June")]), today=TODAY)
    assert why.rules_matched and why.archived_left_out and not why.member
    assert "all their XPM clients are archived" in why.summary
