"""What the bot adds to the segment language: Slack's text cleaned up before it is parsed.

The language itself (parsing, operators, describing) is tested once, in
tests/segments/test_segment_language.py.
"""

from __future__ import annotations

import pytest

from slackbot.expressions import clean_slack_text, parse_slack
from wagtail_xpm.segments.parse import ExpressionError
from wagtail_xpm.segments.vocabulary import mapped_field, with_builtins

FIELDS = with_builtins(
    [
        mapped_field("annual_fee", "Annual Fee", "number"),
        mapped_field("plan_level", "Plan Level", "choice", ("Gold", "Silver")),
    ]
)


def test_clean_slack_text():
    assert clean_slack_text("who <mailto:jo@x.example|jo@x.example>") == "who jo@x.example"
    assert clean_slack_text("<mailto:jo@x.example>") == "jo@x.example"
    assert clean_slack_text("<https://x.example|site> &amp; &lt;b&gt;") == "site & <b>"
    assert clean_slack_text("<https://x.example>") == "https://x.example"
    assert clean_slack_text("<@U123|jo> and <#C1|ops>") == "jo and ops"


def test_symbols_as_slack_escapes_them():
    assert parse_slack("Annual Fee &gt;= 10 and Annual Fee &lt; 20", FIELDS).rules == [
        {"field": "annual_fee", "op": "gte", "value": 10},
        {"field": "annual_fee", "op": "lt", "value": 20},
    ]


def test_links_and_smart_quotes_as_slack_sends_them():
    parsed = parse_slack(
        "Email = <mailto:jo@x.example|jo@x.example> or Name = “Smith and Co”", FIELDS
    )
    assert parsed.as_dict() == {
        "match": "any",
        "rules": [
            {"field": "email", "op": "eq", "value": "jo@x.example"},
            {"field": "name", "op": "eq", "value": "Smith and Co"},
        ],
    }


def test_an_unknown_field_points_at_the_field_list():
    with pytest.raises(ExpressionError) as caught:
        parse_slack("Zzyzx = 1", FIELDS)
    assert caught.value.message == "I don't know a field called “Zzyzx”."
    assert caught.value.hint == "Try “/xpm segment” for a list."
