"""Readable segment expressions, as typed after ``/xpm segment``, to version-1 rules.

``Account Manager = John and Balance Month = June`` becomes the rule dict of docs/contracts.md 4.3::

    {"match": "all", "rules": [
        {"field": "account_manager", "op": "eq", "value": "John Smith"},
        {"field": "balance_month", "op": "eq", "value": "June"}]}

Fields are named by mapping label or key, case-insensitively (``account manager``,
``Account_Manager``, ``"Plan Level"``), or by the built-in names. Operators read as people
write them (``=``, ``is not``, ``contains``, ``starts with``, ``in``, ``not in``, ``is blank``,
``>``, ``before``, ``within the next 30 days``...); ``and`` binds tighter than ``or`` and
parentheses group. Values are bare words up to the next ``and``/``or``, or quoted when they
contain those words (``Client Name = "Smith and Jones"``); lists are comma-separated.

This module is pure (of Django only its translations, for the messages): the fields come in
as :class:`Field` values, so it is tested on its own and the Slack modal builder reuses
:func:`make_rule` for its rows. The expression language itself (operators, ``and``/``or``,
``yes``/``no``, English month names) is not translated.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wagtail_xpm.segments import rules

# --- the rule vocabulary (docs/contracts.md 4.3) --------------------------------------------------

OPS = (
    "eq", "ne", "contains", "not_contains", "starts_with", "ends_with", "in", "not_in",
    "blank", "not_blank", "gt", "gte", "lt", "lte", "before", "after", "within_next_days",
    "within_last_days",
)  # fmt: skip
NO_VALUE_OPS = frozenset({"blank", "not_blank"})
LIST_OPS = frozenset({"in", "not_in"})
TEXT_OPS = frozenset({"contains", "not_contains", "starts_with", "ends_with"})
ORDER_OPS = frozenset({"gt", "gte", "lt", "lte"})
DATE_OPS = frozenset({"before", "after"})
DAYS_OPS = frozenset({"within_next_days", "within_last_days"})
MAX_DAYS = 36_500

# Which operators apply to each value type: the very table the segments package validates
# against (FieldMapping.ValueType plus "flag" for the built-in yes/no columns).
_TEXTUAL = rules.OPS_BY_TYPE["text"][:10]
OPS_BY_TYPE: dict[str, tuple[str, ...]] = dict(rules.OPS_BY_TYPE)
# The operators a builder offers first for each type (the rest still parse).
OFFERED_OPS: dict[str, tuple[str, ...]] = {
    **OPS_BY_TYPE,
    "text": _TEXTUAL,
    "choice": ("eq", "ne", "in", "not_in", "contains", "starts_with", "blank", "not_blank"),
    "list": ("contains", "not_contains", "in", "not_in", "blank", "not_blank"),
}
# How an operator is written back (round-trips through parse()).
OP_TEXT: dict[str, str] = {
    "eq": "=", "ne": "!=", "contains": "contains", "not_contains": "does not contain",
    "starts_with": "starts with", "ends_with": "ends with", "in": "in", "not_in": "not in",
    "blank": "is blank", "not_blank": "is not blank", "gt": ">", "gte": ">=", "lt": "<",
    "lte": "<=", "before": "before", "after": "after",
    "within_next_days": "within the next {n} days", "within_last_days": "within the last {n} days",
}  # fmt: skip
# How an operator is named to people (menus, error messages).
OP_LABELS: dict[str, Any] = {
    "eq": gettext_lazy("is"), "ne": gettext_lazy("is not"),
    "contains": gettext_lazy("contains"), "not_contains": gettext_lazy("does not contain"),
    "starts_with": gettext_lazy("starts with"), "ends_with": gettext_lazy("ends with"),
    "in": gettext_lazy("is any of"), "not_in": gettext_lazy("is none of"),
    "blank": gettext_lazy("is blank"), "not_blank": gettext_lazy("is not blank"),
    "gt": gettext_lazy("is more than"), "gte": gettext_lazy("is at least"),
    "lt": gettext_lazy("is less than"), "lte": gettext_lazy("is at most"),
    "before": gettext_lazy("is before"), "after": gettext_lazy("is after"),
    "within_next_days": gettext_lazy("is within the next … days"),
    "within_last_days": gettext_lazy("was within the last … days"),
}  # fmt: skip


def op_label(op: str, *, short: bool = False) -> str:
    """How ``op`` is named to people, in the active language (``short``: without " …")."""
    label = str(OP_LABELS[op])
    return label.replace(" …", "") if short else label


MONTHS = rules.MONTHS
_TYPE_NAMES = {"flag": gettext_lazy("yes/no"), "boolean": gettext_lazy("yes/no")}


@dataclass(frozen=True)
class Field:
    """A field a rule may name: a mapped key (with its label) or a built-in contact field.

    ``choices`` are the values people pick from (dropdown options, staff names, months);
    a typed value that matches one case-insensitively, or uniquely by its first words
    (``John`` for ``John Smith``), is spelled as the choice.
    """

    key: str
    label: str
    value_type: str = "text"
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    builtin: bool = False

    @property
    def ops(self) -> tuple[str, ...]:
        return OPS_BY_TYPE.get(self.value_type, OPS_BY_TYPE["text"])

    @property
    def offered_ops(self) -> tuple[str, ...]:
        return OFFERED_OPS.get(self.value_type, OFFERED_OPS["text"])

    @property
    def type_name(self) -> str:
        return str(_TYPE_NAMES.get(self.value_type, self.value_type))


# docs/contracts.md 4.3: built-in fields usable besides the mapped keys.
BUILTIN_FIELDS: tuple[Field, ...] = (
    Field("email", "Email", "text", builtin=True),
    Field("name", "Name", "text", builtin=True),
    Field("client_name", "Client Name", "text", aliases=("client",), builtin=True),
    Field("source", "Source", "choice", choices=("xpm", "form", "manual"), builtin=True),
    Field("subscribed", "Subscribed", "flag", builtin=True),
    Field("is_archived", "Archived", "flag", aliases=("archived",), builtin=True),
    Field("is_prospect", "Prospect", "flag", aliases=("prospect",), builtin=True),
)


def with_builtins(mapped: Iterable[Field]) -> list[Field]:
    """The mapped fields (the firm's own vocabulary, first) followed by the built-ins."""
    mapped = [f for f in mapped if f.key not in {b.key for b in BUILTIN_FIELDS}]
    return [*mapped, *BUILTIN_FIELDS]


class ExpressionError(ValueError):
    """The text is not a segment expression; ``message`` says why in words for people."""

    def __init__(self, message: str, *, position: int | None = None, hint: str = "") -> None:
        self.message = message
        self.position = position
        self.hint = hint
        super().__init__(f"{message} {hint}".strip())


@dataclass(frozen=True)
class Expression:
    """A parsed expression: the top-level ``match`` and ``rules`` of a segment."""

    match: str
    rules: list[dict[str, Any]]
    # Things worth telling the person, e.g. "John" was read as "John Smith".
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"match": self.match, "rules": self.rules}


# --- values ---------------------------------------------------------------------------------


def as_bool(value: Any) -> bool | None:
    return rules.as_bool(value.strip() if isinstance(value, str) else value)


def as_number(value: Any) -> int | float | None:
    """A number as people type it in Slack, "$5,000" included."""
    return rules.as_number(value.strip().lstrip("$") if isinstance(value, str) else value)


_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def as_date(value: Any) -> str | None:
    """ISO ``YYYY-MM-DD`` for an ISO date or a day-first ``30/06/2025`` (as the firms write)."""
    text = str(value).strip()
    if len(text) >= 10:
        try:
            return date.fromisoformat(text[:10]).isoformat()
        except ValueError:
            pass
    found = _DMY.match(text)
    if found:
        day, month, year = (int(part) for part in found.groups())
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            return None
    return None


def as_month(value: Any) -> str | None:
    """The English month name (as the sync stores Balance Month) for a name, prefix or 1-12."""
    return rules.as_month(str(value).strip().rstrip("."))


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def _choice(field_: Field, typed: str, notes: list[str]) -> str:
    """A typed value spelled as the field's choice it means, if it means exactly one."""
    if not field_.choices:
        return typed
    folded = _fold(typed)
    for choice in field_.choices:
        if _fold(choice) == folded:
            return choice
    # "John" for "John Smith", "smith" for "John Smith": whole words, so "Jo" is not "John".
    words = folded.split()
    candidates = [
        choice for choice in field_.choices if _contains_words(_fold(choice).split(), words)
    ]
    if len(candidates) == 1:
        notes.append(
            _("“%(typed)s” was read as “%(choice)s” (%(field)s).")
            % {"typed": typed, "choice": candidates[0], "field": field_.label}
        )
        return candidates[0]
    if len(candidates) > 1:
        listed = ", ".join(candidates[:6]) + ("…" if len(candidates) > 6 else "")
        raise ExpressionError(
            _("“%(typed)s” could be several %(field)s values: %(values)s.")
            % {"typed": typed, "field": field_.label, "values": listed},
            hint=_("Type more of the name, or quote the exact value."),
        )
    if field_.value_type in ("choice", "list"):
        notes.append(
            _("No %(field)s I know of is “%(typed)s”: the segment may be empty.")
            % {"field": field_.label, "typed": typed}
        )
    return typed


def _contains_words(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def _typed_one(field_: Field, op: str, raw: str, notes: list[str]) -> Any:
    """One value for ``op`` on ``field_``, typed and spelled as stored."""
    text = raw.strip()
    value_type = field_.value_type
    if op in TEXT_OPS:
        return text
    if value_type in ("flag", "boolean"):
        flag = as_bool(text)
        if flag is None:
            raise ExpressionError(
                _("%(field)s is a yes/no field: use yes or no, not “%(value)s”.")
                % {"field": field_.label, "value": text}
            )
        return flag
    if value_type == "month":
        month = as_month(text)
        if month is None:
            raise ExpressionError(
                _("“%(value)s” is not a month (January to December).") % {"value": text}
            )
        return month
    if value_type == "number":
        number = as_number(text)
        if number is None:
            raise ExpressionError(
                _("%(field)s is a number field: “%(value)s” is not a number.")
                % {"field": field_.label, "value": text}
            )
        return number
    if value_type == "date" or op in DATE_OPS:
        iso = as_date(text)
        if iso is None:
            raise ExpressionError(
                _("%(field)s needs a date like 2025-06-30 or 30/06/2025, not “%(value)s”.")
                % {"field": field_.label, "value": text}
            )
        return iso
    if op in ORDER_OPS:
        number = as_number(text)
        if number is not None:
            return number
        iso = as_date(text)
        if iso is None:
            raise ExpressionError(
                _("“%(op)s” needs a number or a date, not “%(value)s”.")
                % {"op": op_label(op), "value": text}
            )
        return iso
    if value_type in ("choice", "list", "text"):
        return _choice(field_, text, notes)
    return text


def make_rule(
    field_: Field, op: str, value: str | Sequence[str] | int | None, notes: list[str] | None = None
) -> dict[str, Any]:
    """One ``{"field", "op", "value"}`` rule, checked and typed for the field.

    ``value`` is what a person typed: text (comma-separated for ``in``/``not_in``), a list of
    texts, or the number of days for the ``within`` operators. Raises ExpressionError.
    """
    notes = [] if notes is None else notes
    if op not in OPS:
        raise ExpressionError(_("“%(op)s” is not an operator.") % {"op": op})
    if op not in field_.ops:
        readable = ", ".join(op_label(o, short=True) for o in field_.offered_ops)
        raise ExpressionError(
            _("“%(op)s” does not apply to %(field)s (a %(type)s field).")
            % {"op": op_label(op, short=True), "field": field_.label, "type": field_.type_name},
            hint=_("Use: %(ops)s.") % {"ops": readable},
        )
    rule: dict[str, Any] = {"field": field_.key, "op": op}
    if op in NO_VALUE_OPS:
        return rule
    if op in DAYS_OPS:
        days = as_number(value) if value is not None and not isinstance(value, list) else None
        if not isinstance(days, int) or days < 0 or days > MAX_DAYS:
            raise ExpressionError(
                _("“%(op)s” needs a whole number of days.") % {"op": op_label(op)}
            )
        rule["value"] = days
        return rule
    if op in LIST_OPS:
        items = split_list(value) if isinstance(value, str) else list(value or [])
        items = [str(item).strip() for item in items if str(item).strip()]
        if not items:
            raise ExpressionError(
                _("%(field)s %(op)s … needs at least one value.")
                % {"field": field_.label, "op": op_label(op)}
            )
        rule["value"] = [_typed_one(field_, op, item, notes) for item in items]
        return rule
    if value is None or not str(value).strip():
        raise ExpressionError(
            _("%(field)s %(op)s … needs a value.")
            % {"field": field_.label, "op": op_label(op, short=True)}
        )
    rule["value"] = _typed_one(field_, op, str(value), notes)
    return rule


def split_list(text: str) -> list[str]:
    """``Gold, Silver`` or ``"Smith, Jones", Brown`` as items (quotes keep commas)."""
    items: list[str] = []
    current: list[str] = []
    quote = ""
    for char in text:
        if quote:
            if char == _CLOSING.get(quote, quote):
                quote = ""
            else:
                current.append(char)
        elif char in _CLOSING:
            quote = char
        elif char == ",":
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [" ".join(item.split()) for item in items if item.strip()]


# --- parsing --------------------------------------------------------------------------------

_CLOSING = {'"': '"', "'": "'", "“": "”", "‘": "’", "”": "”"}

_W = r"(?=$|[\s\"'“‘(\[])"  # a word operator ends before a value or the end
_OPERATORS: list[tuple[str, str]] = [
    # (pattern, op); the longest match at the position wins, so "is not blank" beats "is not".
    (r"==|=|:", "eq"),
    (r"is\s+equal\s+to|equal\s+to|equals|is|eq" + _W, "eq"),
    (r"!=|<>|≠", "ne"),
    (
        r"is\s+not\s+equal\s+to|not\s+equal\s+to|does\s+not\s+equal|doesn'?t\s+equal|"
        r"is\s+not|isn'?t|not|ne" + _W,
        "ne",
    ),
    (
        r"does\s+not\s+contain|doesn'?t\s+contain|not\s+contains?|does\s+not\s+include|"
        r"doesn'?t\s+include|excludes" + _W,
        "not_contains",
    ),  # fmt: skip
    (r"contains|includes|has" + _W, "contains"),
    (r"starts\s+with|begins\s+with|starting\s+with" + _W, "starts_with"),
    (r"ends\s+with|ending\s+with" + _W, "ends_with"),
    (
        r"is\s+not\s+in|not\s+in|is\s+none\s+of|none\s+of|is\s+not\s+one\s+of|not\s+one\s+of" + _W,
        "not_in",
    ),  # fmt: skip
    (r"is\s+in|in|is\s+any\s+of|any\s+of|is\s+one\s+of|one\s+of" + _W, "in"),
    (
        r"is\s+not\s+blank|is\s+not\s+empty|not\s+blank|not\s+empty|is\s+set|is\s+present|"
        r"has\s+a\s+value|exists" + _W,
        "not_blank",
    ),  # fmt: skip
    (r"is\s+blank|is\s+empty|blank|empty|is\s+missing|is\s+not\s+set|is\s+unset" + _W, "blank"),
    (r">=|≥", "gte"),
    (r"<=|≤", "lte"),
    (r">", "gt"),
    (r"<", "lt"),
    (r"is\s+greater\s+than\s+or\s+equal\s+to|is\s+at\s+least|at\s+least" + _W, "gte"),
    (r"is\s+less\s+than\s+or\s+equal\s+to|is\s+at\s+most|at\s+most" + _W, "lte"),
    (r"is\s+more\s+than|is\s+greater\s+than|more\s+than|greater\s+than|over|above" + _W, "gt"),
    (r"is\s+less\s+than|less\s+than|under|below" + _W, "lt"),
    (r"is\s+before|before|is\s+earlier\s+than|earlier\s+than" + _W, "before"),
    (r"is\s+after|after|is\s+later\s+than|later\s+than" + _W, "after"),
    (
        r"(?:is\s+)?(?:within|in)\s+(?:the\s+)?next\s+(?P<days>\d+)\s+days?" + _W,
        "within_next_days",
    ),
    (
        r"(?:is\s+|was\s+)?(?:within|in)\s+(?:the\s+)?(?:last|past)\s+(?P<days>\d+)\s+days?" + _W,
        "within_last_days",
    ),
]
_OPERATOR_RES = [(re.compile(pattern, re.I), op) for pattern, op in _OPERATORS]
# Where a condition's field name probably ends, to name an unknown field in the error.
_OPERATORISH = re.compile(
    r"\s*(?:[=!<>:≠≥≤]|\b(?:is|isn'?t|not|contains|includes|has|starts|begins|ends|in|"
    r"before|after|within|equals|more|less|greater|at|over|under|above|below|does|doesn'?t)\b)",
    re.I,
)
_JOINER = re.compile(r"\s*(?:\b(?P<word>and|or)\b|(?P<symbol>&&|\|\|))\s*", re.I)
_WORD_JOINER = re.compile(r"(?:and|or)(?=\s|$)", re.I)


@dataclass
class _Name:
    pattern: re.Pattern[str]
    field: Field
    priority: int
    # A key wins only when typed exactly as the key ("source"); "Source" is a label.
    exact: str = ""

    def rank(self, typed: str) -> int:
        if self.exact:
            return 0 if typed == self.exact else 5
        return self.priority


def _name_pattern(name: str) -> re.Pattern[str] | None:
    words = re.findall(r"[0-9a-z]+", name.casefold())
    if not words:
        return None
    tail = r"\)?" if name.rstrip().endswith(")") else ""
    # Words may be spelled apart by spaces, underscores, hyphens or "(" ("Tax Number (masked)")
    # but not by operators, so "Plan = Level" never reads as the field "Plan Level".
    separator = r"[\s_\-/.(]+"
    return re.compile(separator.join(map(re.escape, words)) + tail + r"(?![0-9a-z])", re.I)


def _names(fields: Sequence[Field]) -> list[_Name]:
    names: list[_Name] = []
    for field_ in fields:
        # A mapped label is the firm's word and beats a built-in's label of the same spelling.
        spelled = [(field_.label, 2 if field_.builtin else 1)]
        spelled += [(alias, 3) for alias in field_.aliases]
        for text, priority in spelled:
            pattern = _name_pattern(text)
            if pattern is not None:
                names.append(_Name(pattern, field_, priority))
        key_pattern = _name_pattern(field_.key)
        if key_pattern is not None:
            names.append(_Name(key_pattern, field_, 0, exact=field_.key))
    return names


@dataclass
class _Group:
    match: str
    items: list[Any] = field(default_factory=list)


class _Parser:
    def __init__(self, text: str, fields: Sequence[Field]) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0
        self.fields = list(fields)
        self.names = _names(self.fields)
        self.notes: list[str] = []

    # -- helpers

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        self.skip_space()
        return self.pos >= len(self.text)

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def joiner(self) -> str | None:
        """``and``/``or`` (or ``&&``/``||``) at the cursor, without consuming it."""
        found = _JOINER.match(self.text, self.pos)
        if not found:
            return None
        word = (found.group("word") or "").casefold()
        return word or ("and" if found.group("symbol") == "&&" else "or")

    def take_joiner(self) -> None:
        found = _JOINER.match(self.text, self.pos)
        assert found is not None
        self.pos = found.end()

    def at_boundary(self, pos: int) -> bool:
        """Whether a condition may end at ``pos``: the end, ``and``/``or`` or a ``)``."""
        rest = self.text[pos:]
        if not rest.strip():
            return True
        next_char = pos + len(rest) - len(rest.lstrip())
        if self.depth and self.text[next_char] == ")":
            return True
        if self.text.startswith(("&&", "||"), next_char):
            return True
        # A word joiner needs a space before it, unless a quote or bracket ended the value.
        spaced = next_char > pos or (pos > 0 and self.text[pos - 1] in "\"”’')]")
        return spaced and bool(_WORD_JOINER.match(self.text, next_char))

    # -- grammar: or_expr := and_expr ("or" and_expr)* ; and_expr := atom ("and" atom)*

    def parse(self) -> Expression:
        if self.at_end():
            raise ExpressionError(_("Say which contacts, e.g. “Account Manager = John”."))
        node = self.or_expr()
        if not self.at_end():
            if self.peek() == ")":
                raise ExpressionError(_("There is a “)” without its “(”."), position=self.pos)
            raise ExpressionError(
                _("I could not read “%(text)s”.") % {"text": self.text[self.pos :].strip()},
                position=self.pos,
            )
        if isinstance(node, _Group):
            return Expression(node.match, [_as_rule(i) for i in node.items], tuple(self.notes))
        return Expression("all", [node], tuple(self.notes))

    def or_expr(self) -> Any:
        items = [self.and_expr()]
        while not self.at_end() and self.joiner() == "or":
            self.take_joiner()
            items.append(self.and_expr())
        return _combine("any", items)

    def and_expr(self) -> Any:
        items = [self.atom()]
        while not self.at_end() and self.joiner() == "and":
            self.take_joiner()
            items.append(self.atom())
        return _combine("all", items)

    def atom(self) -> Any:
        if self.at_end():
            raise ExpressionError(_("The expression ends where a condition should follow."))
        if self.peek() == "(":
            start = self.pos
            self.pos += 1
            self.depth += 1
            node = self.or_expr()
            if self.peek() != ")":
                raise ExpressionError(_("A “(” is not closed."), position=start)
            self.pos += 1
            self.depth -= 1
            return node
        return self.condition()

    # -- one condition: FIELD OPERATOR [VALUE]

    def condition(self) -> dict[str, Any]:
        start = self.pos
        found_not = re.compile(r"not\s+", re.I).match(self.text, self.pos)
        if found_not:
            field_, end = self.field_at(found_not.end())
            is_flag = field_ is not None and field_.value_type in ("flag", "boolean")
            if is_flag and self.at_boundary(end):
                self.pos = end
                return make_rule(field_, "eq", "no")
        field_, end = self.field_at(self.pos)
        if field_ is None:
            raise self.unknown_field(start)
        self.pos = end
        if self.at_boundary(self.pos) and field_.value_type in ("flag", "boolean"):
            # "subscribed", "is archived": a yes/no field on its own means yes.
            return make_rule(field_, "eq", "yes")
        return self.operator_and_value(field_)

    def field_at(self, pos: int) -> tuple[Field | None, int]:
        while pos < len(self.text) and self.text[pos].isspace():
            pos += 1
        if pos < len(self.text) and self.text[pos] in _CLOSING:
            closing = _CLOSING[self.text[pos]]
            end = self.text.find(closing, pos + 1)
            if end > pos:
                quoted = _fold(self.text[pos + 1 : end])
                for candidate in self.fields:
                    spelled = (candidate.key, candidate.label, *candidate.aliases)
                    if any(_fold(s.replace("_", " ")) == quoted.replace("_", " ") for s in spelled):
                        return candidate, end + 1
            return None, pos
        best: tuple[int, int, Field] | None = None
        for name in self.names:
            found = name.pattern.match(self.text, pos)
            if found:
                rank = (found.end(), -name.rank(found.group(0)))
                if best is None or rank > (best[0], best[1]):
                    best = (rank[0], rank[1], name.field)
        if best is None:
            return None, pos
        return best[2], best[0]

    def unknown_field(self, start: int) -> ExpressionError:
        self.skip_space()
        rest = self.text[self.pos :]
        cut = _OPERATORISH.search(rest)
        typed = (rest[: cut.start()] if cut and cut.start() > 0 else rest.split(" ")[0]).strip()
        typed = typed.strip("\"'“”‘’") or rest.strip()
        spellings = {_fold(f.label): f.label for f in self.fields}
        spellings.update({f.key: f.label for f in self.fields})
        close = difflib.get_close_matches(_fold(typed), list(spellings), n=3, cutoff=0.6)
        labels = list(dict.fromkeys(spellings[c] for c in close))
        if labels:
            either = " " + _("or") + " "
            hint = _("Did you mean %(fields)s?") % {"fields": either.join(labels)}
        else:
            hint = _("Try “/xpm segment” for a list.")
        if self.text[:start].strip():
            hint += " " + _("(If “and” or “or” is part of a value, put the value in quotes.)")
        return ExpressionError(
            _("I don't know a field called “%(field)s”.") % {"field": typed},
            position=start,
            hint=hint,
        )

    def operator_and_value(self, field_: Field) -> dict[str, Any]:
        self.skip_space()
        candidates: list[tuple[int, int, str, re.Match[str]]] = []
        for index, (pattern, op) in enumerate(_OPERATOR_RES):
            found = pattern.match(self.text, self.pos)
            if found:
                candidates.append((found.end(), -index, op, found))
        candidates.sort(reverse=True)
        for end, _rank, op, found in candidates:
            if op in NO_VALUE_OPS or op in DAYS_OPS:
                if not self.at_boundary(end):
                    continue  # "is Blank Co" is eq "Blank Co", not blank + junk
                self.pos = end
                days = found.groupdict().get("days")
                return make_rule(field_, op, days, self.notes)
            value_start = end
            while value_start < len(self.text) and self.text[value_start].isspace():
                value_start += 1
            if value_start >= len(self.text) or self.at_boundary(value_start):
                if op == "ne":
                    continue  # "not" alone is not a condition
                raise ExpressionError(
                    _("%(field)s %(op)s … needs a value.")
                    % {"field": field_.label, "op": op_label(op, short=True)},
                    position=value_start,
                )
            self.pos = value_start
            if op in LIST_OPS:
                return make_rule(field_, op, self.read_list(), self.notes)
            return make_rule(field_, op, self.read_value(), self.notes)
        near = self.text[self.pos :].split()[:1]
        if near:
            message = _(
                "After %(field)s I expected an operator such as =, is not, contains, in, "
                "is blank, > or before, not “%(typed)s”."
            ) % {"field": field_.label, "typed": near[0]}
        else:
            message = _(
                "After %(field)s I expected an operator such as =, is not, contains, in, "
                "is blank, > or before."
            ) % {"field": field_.label}
        raise ExpressionError(message, position=self.pos)

    def read_value(self) -> str:
        """A quoted value, or bare words up to the next and/or/``)`` (or the end)."""
        if self.pos < len(self.text) and self.text[self.pos] in _CLOSING:
            return self.read_quoted()
        start = self.pos
        self.scan_bare()
        return " ".join(self.text[start : self.pos].split())

    def scan_bare(self, *, stop: str = "") -> None:
        """Move past a bare value: to the next and/or, an unmatched ``)`` or a ``stop``
        character (``,`` in lists). Balanced brackets belong to the value: Smith (NZ)."""
        inner = 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char.isspace() and not inner and self.at_boundary(self.pos):
                break
            if char == "(":
                inner += 1
            elif char == ")":
                if not inner:
                    break  # closes a group (or is a stray bracket the caller reports)
                inner -= 1
            elif char in stop and not inner:
                break
            if self.text.startswith(("&&", "||"), self.pos):
                break
            self.pos += 1

    def read_quoted(self) -> str:
        start = self.pos
        closing = _CLOSING[self.text[self.pos]]
        end = self.text.find(closing, self.pos + 1)
        if end < 0:
            raise ExpressionError(_("A quote is not closed."), position=start)
        self.pos = end + 1
        return self.text[start + 1 : end]

    def read_list(self) -> list[str]:
        """``Gold, Silver``, ``(Gold, Silver)`` or ``[Gold, "Silver, old"]``."""
        opener = self.text[self.pos]
        if opener in "([":
            closer = ")" if opener == "(" else "]"
            self.pos += 1
            items: list[str] = []
            while True:
                self.skip_space()
                if self.peek() == closer:
                    self.pos += 1
                    return items
                if self.pos >= len(self.text):
                    raise ExpressionError(_("A “%(bracket)s” is not closed.") % {"bracket": opener})
                if self.text[self.pos] in _CLOSING:
                    items.append(self.read_quoted())
                else:
                    start = self.pos
                    while self.pos < len(self.text) and self.text[self.pos] not in f",{closer}":
                        self.pos += 1
                    items.append(" ".join(self.text[start : self.pos].split()))
                self.skip_space()
                if self.peek() == ",":
                    self.pos += 1
        items = []
        while True:
            self.skip_space()
            if self.pos < len(self.text) and self.text[self.pos] in _CLOSING:
                items.append(self.read_quoted())
            else:
                start = self.pos
                self.scan_bare(stop=",")
                items.append(" ".join(self.text[start : self.pos].split()))
            if self.pos < len(self.text) and self.text[self.pos] == ",":
                self.pos += 1
                continue
            return [item for item in items if item]


def _combine(match: str, items: list[Any]) -> Any:
    if len(items) == 1:
        return items[0]
    flat: list[Any] = []
    for item in items:
        # (a and (b and c)) is a and b and c.
        if isinstance(item, _Group) and item.match == match:
            flat.extend(item.items)
        else:
            flat.append(item)
    return _Group(match, flat)


def _as_rule(node: Any) -> dict[str, Any]:
    if isinstance(node, _Group):
        return {"match": node.match, "rules": [_as_rule(i) for i in node.items]}
    return node


def clean_slack_text(text: str) -> str:
    """Undo Slack's formatting of slash command text: ``&lt;`` entities, ``<mailto:..|..>``
    and ``<http..|label>`` links, and the smart quotes its clients type."""
    text = re.sub(r"<mailto:[^|>]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<mailto:([^>]*)>", r"\1", text)
    text = re.sub(r"<(https?://[^|>]*)\|([^>]*)>", r"\2", text)
    text = re.sub(r"<(https?://[^>]*)>", r"\1", text)
    text = re.sub(r"<[@#!][^|>]*\|([^>]*)>", r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse(text: str, fields: Sequence[Field]) -> Expression:
    """Parse a readable expression against ``fields``; raises :class:`ExpressionError`."""
    return _Parser(clean_slack_text(text), fields).parse()


# --- writing rules back as text -------------------------------------------------------------

_NEEDS_QUOTES = re.compile(r"(^\s|\s$|[,()\[\]\"“”]|\b(and|or)\b|&&|\|\|)", re.I)


def _quote(value: str) -> str:
    if not value or _NEEDS_QUOTES.search(value) or value[0] in "'‘":
        return "“" + value + "”" if '"' in value else '"' + value + '"'
    return value


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _quote(str(value))


def _field_name(key: str, fields: Sequence[Field]) -> str:
    by_key = {f.key: f for f in fields}
    field_ = by_key.get(key)
    if field_ is None:
        return key
    try:
        found, end = _Parser(field_.label, fields).field_at(0)
    except ExpressionError:  # pragma: no cover - field_at never raises
        found, end = None, 0
    # Labels another field answers to (a mapping called "Source") are written as the key.
    return field_.label if found is field_ and end == len(field_.label) else field_.key


def describe_rule(rule: dict[str, Any], fields: Sequence[Field]) -> str:
    """One rule as text that parses back to the same rule."""
    name = _field_name(str(rule.get("field", "")), fields)
    op = rule.get("op", "eq")
    value = rule.get("value")
    if op in NO_VALUE_OPS:
        return f"{name} {OP_TEXT[op]}"
    if op in DAYS_OPS:
        return f"{name} {OP_TEXT[op].format(n=value)}"
    if op in LIST_OPS:
        items = value if isinstance(value, list) else [value]
        return f"{name} {OP_TEXT[op]} " + ", ".join(_value_text(v) for v in items)
    return f"{name} {OP_TEXT.get(op, op)} {_value_text(value)}"


def describe(match: str, rules: Sequence[dict[str, Any]], fields: Sequence[Field]) -> str:
    """Rules as readable text that :func:`parse` turns back into the same rules."""
    joiner = " or " if match == "any" else " and "
    parts = []
    for rule in rules:
        if "rules" in rule:
            inner = describe(rule.get("match", "all"), rule.get("rules") or [], fields)
            parts.append(f"({inner})" if len(rule.get("rules") or []) > 1 else inner)
        else:
            parts.append(describe_rule(rule, fields))
    return joiner.join(parts) if parts else "every contact"
