"""Rule trees in words, the one wording of the admin listing, explain, the builders' messages and
the Slack bot: ``Account Manager is John Smith and (Plan Level is any of Gold, Silver or
Subscribed is Yes)``.

Fields by label, operators by their labels for the field's type (:func:`.vocabulary.op_label`),
values as people read them (:func:`.vocabulary.display`), all in the active language. A value
still to be given reads ``…`` (``Account Manager is …``). In English the words read back
through :func:`.parse.parse` to the same rules: values holding ``and``, ``or``, commas or
brackets are quoted, and a field another field's label would shadow is named by its key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext

from .parse import FieldNames
from .vocabulary import (
    DAYS_OPS,
    LIST_OPS,
    NO_VALUE_OPS,
    FieldInfo,
    display,
    is_blank,
    is_group,
    op_label,
)

UNFINISHED = "…"
_NEEDS_QUOTES = re.compile(r"(^\s|\s$|[,()\[\]\"“”]|\b(and|or)\b|&&|\|\|)", re.I)

Fields = Mapping[str, FieldInfo] | Sequence[FieldInfo]


def _by_key(fields: Fields) -> Mapping[str, FieldInfo]:
    return fields if isinstance(fields, Mapping) else {f.key: f for f in fields}


def quote(text: str) -> str:
    """``text``, in quotes when it would not read back as one value."""
    if not text or _NEEDS_QUOTES.search(text) or text[0] in "'‘":
        return "“" + text + "”" if '"' in text else '"' + text + '"'
    return text


def value_words(value: Any) -> str:
    """One value of a rule as it reads (``Yes``, ``June``, ``"Smith and Jones"``)."""
    if is_blank(value):
        return UNFINISHED
    if isinstance(value, bool):
        return display(value)
    return quote(display(value, blank=""))


def rule_words(
    rule: Mapping[str, Any],
    fields: Fields,
    *,
    names: FieldNames | None = None,
) -> str:
    """One rule in words: ``Balance Month is any of June, July``. Robust to rules that are not
    valid yet (unknown fields and operators read as written, a missing value as ``…``)."""
    by_key = _by_key(fields)
    key = str(rule.get("field") or "")
    info = by_key.get(key)
    if info is None:
        name = key or UNFINISHED
    elif names is not None:
        name = names.name_of(info)
    else:
        name = str(info.label)
    op = str(rule.get("op") or "")
    label = op_label(op, info.value_type if info is not None else "text") if op else UNFINISHED
    if op in NO_VALUE_OPS:
        return f"{name} {label}"
    value = rule.get("value")
    if op in DAYS_OPS:
        days = str(value) if type(value) is int else UNFINISHED
        return f"{name} {label.replace(UNFINISHED, days)}" if UNFINISHED in label else (
            f"{name} {label} {days}"
        )  # fmt: skip
    if op in LIST_OPS or isinstance(value, list):
        items = [v for v in (value if isinstance(value, list) else [value]) if not is_blank(v)]
        shown = ", ".join(value_words(v) for v in items) if items else UNFINISHED
    else:
        shown = value_words(value)
    return f"{name} {label} {shown}"


def describe(match: str, rules: Sequence[Any], fields: Fields) -> str:
    """A rule tree in words; ``Everyone`` when there are no rules."""
    by_key = _by_key(fields)
    names = FieldNames(list(by_key.values()))
    return _group(match, rules, by_key, names) or gettext("Everyone")


def _group(
    match: str, rules: Sequence[Any], by_key: Mapping[str, FieldInfo], names: FieldNames
) -> str:
    joiner = gettext("or") if match == "any" else gettext("and")
    parts = []
    for rule in rules or ():
        if not isinstance(rule, dict):
            continue
        if is_group(rule):
            inner = [r for r in rule.get("rules") or () if isinstance(r, dict)]
            text = _group(str(rule.get("match") or "all"), inner, by_key, names) or UNFINISHED
            parts.append(f"({text})" if len(inner) != 1 else text)
        else:
            parts.append(rule_words(rule, by_key, names=names))
    return f" {joiner} ".join(parts)
