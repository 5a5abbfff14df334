"""One segment language on every surface: the admin builder and the Slack bot offer the same
operators (with the same labels) and values for each field; the admin listing, explain, the
Slack bot and the typed rules use the same words; an unfinished rule is refused in words."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.test import Client

from slackbot import builder, segments_adapter
from tests.segments.segment_factories import TODAY, rule
from wagtail_xpm.models import Contact, Segment
from wagtail_xpm.segments.admin.views import rules_summary
from wagtail_xpm.segments.compile import Definition
from wagtail_xpm.segments.describe import describe
from wagtail_xpm.segments.explain import explain
from wagtail_xpm.segments.parse import parse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # the bot keeps a practice's fields for a minute
    yield
    cache.clear()


@pytest.fixture
def admin_client(db, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


def admin_fields(client, connection) -> list[dict]:
    response = client.get("/admin/xpm/segments/builder/fields/", {"connection": connection.pk})
    assert response.status_code == 200
    return response.json()["fields"]


def slack_operator_menu(fields, key: str) -> list[tuple[str, str]]:
    """(op, label) as the Slack builder's operator menu offers them for a new row on ``key``."""
    state = builder.BuilderState(rows=(builder.BuilderRow(key),))
    view = builder.builder_view(state, fields, count_text="x", can_save=False)
    block = next(b for b in view["blocks"] if b.get("block_id") == f"row0_op_{key}")
    return [(o["value"], o["text"]["text"]) for o in block["element"]["options"]]


def test_slack_and_the_admin_offer_the_same_operators_for_every_field_type(
    admin_client, practice, world
):
    admin = admin_fields(admin_client, practice.connection)
    slack = {f.key: f for f in segments_adapter.fields_for(practice.connection)}
    assert set(slack) == {entry["key"] for entry in admin}
    types = set()
    for entry in admin:
        labels = {item["op"]: item["label"] for item in entry["ops"]}
        offered = [(op, labels[op]) for op in entry["offered_ops"]]
        assert slack_operator_menu(list(slack.values()), entry["key"]) == offered, entry["key"]
        assert list(slack[entry["key"]].values) == entry["values"], entry["key"]
        types.add(entry["type"])
    assert types == {"text", "choice", "month", "boolean", "list", "number", "date", "flag"}
    # The drift between the two copies is gone: choice fields offer "does not contain" and
    # "ends with" in Slack too, and a yes/no flag offers only "is" (Yes or No) in both.
    choice = dict(slack_operator_menu(list(slack.values()), "plan_level"))
    assert {"not_contains", "ends_with"} <= set(choice)
    assert slack_operator_menu(list(slack.values()), "subscribed") == [("eq", "is")]


WORDS_RULES = [
    rule("account_manager", "eq", "John Smith"),
    {"match": "any", "rules": [
        rule("groups", "in", ["VIP", "Payroll"]),
        rule("review_date", "gte", "2025-06-01"),
    ]},
    rule("balance_month", "within_next_days", 30),
    rule("subscribed", "eq", True),
]  # fmt: skip
WORDS = (
    "Account Manager is John Smith and (Client Groups includes any of VIP, Payroll or Review "
    "Date is on or after 2025-06-01) and Balance Month balance date is within the next 30 days "
    "and Subscribed is Yes"
)


def test_the_listing_explain_and_slack_write_rules_in_the_same_words(admin_client, practice, world):
    segment = Segment.objects.create(connection=practice.connection, name="W", rules=WORDS_RULES)
    assert rules_summary(segment) == WORDS
    assert WORDS in admin_client.get("/admin/xpm/segments/").content.decode()

    slack_fields = segments_adapter.fields_for(practice.connection)
    assert describe("all", WORDS_RULES, slack_fields) == WORDS
    state = builder.BuilderState()
    result = builder.BuilderResult(rules=WORDS_RULES)
    assert builder.count_line(result, state, slack_fields, 2) == f"*2 contacts* match: {WORDS}"

    why = explain(Contact.objects.get(name="Ann"), Definition.of(segment), today=TODAY)
    assert [leaf.text for leaf in why.root.leaves()] == [
        "Account Manager is John Smith",
        "Client Groups includes any of VIP, Payroll",
        "Review Date is on or after 2025-06-01",
        "Balance Month balance date is within the next 30 days",
        "Subscribed is Yes",
    ]
    # And the words read back as the very rules, in the admin's typed box or in Slack.
    assert parse(WORDS, slack_fields).as_dict() == {"match": "all", "rules": WORDS_RULES}


def post_segment(client, practice, definition=None, typed=""):
    data = {
        "name": "Typed",
        "connection": practice.connection.pk,
        "client_scope": "primary",
        "definition": json.dumps(definition or {"match": "all", "rules": []}),
    }
    if typed:
        data["definition_typed"] = typed
    return client.post("/admin/xpm/segments/add/", data)


def test_an_unfinished_rule_is_refused_in_words_never_saved_as_blank(admin_client, practice):
    # "Account Manager is [Choose…]": the builder sends an empty value.
    unfinished = {"match": "all", "rules": [
        rule("balance_month", "eq", "June"),
        rule("account_manager", "eq", ""),
        {"match": "any", "rules": [rule("plan_level", "in", []), rule("fee", "gt", None)]},
    ]}  # fmt: skip
    response = post_segment(admin_client, practice, unfinished)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Rule 2: “Account Manager is …” needs a value." in page
    assert "Rule 3.1: “Plan Level is any of …” needs a value." in page
    assert "Rule 3.2: “Annual Fee is more than …” needs a value." in page
    assert "rules[" not in page
    assert not Segment.objects.exists()
    # The live count says the same, instead of counting the blanks.
    count = admin_client.get(
        "/admin/xpm/segments/builder/count/",
        {"connection": practice.connection.pk, "definition": json.dumps(unfinished)},
    ).json()
    assert count["ok"] is False
    assert count["errors"][0] == "Rule 2: “Account Manager is …” needs a value."


def test_rules_may_be_typed_in_the_admin(admin_client, practice, world):
    response = post_segment(
        admin_client, practice, typed="Account Manager = John and Balance Month in June, July"
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    segment = Segment.objects.get()
    assert segment.match == "all"
    assert segment.rules == [
        rule("account_manager", "eq", "John Smith"),
        rule("balance_month", "in", ["June", "July"]),
    ]


def test_typed_rules_that_do_not_read_are_refused_with_the_reason(admin_client, practice):
    response = post_segment(admin_client, practice, typed="Acount Manager = John")
    assert response.status_code == 200
    page = response.content.decode()
    assert "I don&#x27;t know a field called “Acount Manager”." in page
    assert "Did you mean Account Manager?" in page
    # What was typed stays in the box.
    assert "Acount Manager = John</textarea>" in page
    assert not Segment.objects.exists()
