"""Segment expressions as typed after ``/xpm segment``: Slack's text cleaned up, then read by
the segment language (:mod:`wagtail_xpm.segments.parse`), the same parser, operators and
fields as the admin's typed rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.utils.translation import gettext as _

from wagtail_xpm.segments.parse import Expression, parse
from wagtail_xpm.segments.vocabulary import FieldInfo


def clean_slack_text(text: str) -> str:
    """Undo Slack's formatting of slash command text: ``&lt;`` entities, ``<mailto:..|..>``
    and ``<http..|label>`` links, user and channel mentions; the smart quotes its clients
    type are read by the parser as quotes."""
    text = re.sub(r"<mailto:[^|>]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<mailto:([^>]*)>", r"\1", text)
    text = re.sub(r"<(https?://[^|>]*)\|([^>]*)>", r"\2", text)
    text = re.sub(r"<(https?://[^>]*)>", r"\1", text)
    text = re.sub(r"<[@#!][^|>]*\|([^>]*)>", r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse_slack(text: str, fields: Sequence[FieldInfo]) -> Expression:
    """A ``/xpm segment`` expression as rules; raises ``ExpressionError``."""
    return parse(
        clean_slack_text(text), fields, unknown_field_hint=_("Try “/xpm segment” for a list.")
    )
