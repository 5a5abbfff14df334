"""Typed segment expressions to version-1 rules: ``Account Manager = John and Balance Month
in June, July`` becomes (docs/contracts.md 4.3)::

    {"match": "all", "rules": [
        {"field": "account_manager", "op": "eq", "value": "John Smith"},
        {"field": "balance_month", "op": "in", "value": ["June", "July"]}]}

Fields are named by label, alias or key, case-insensitively (``account manager``,
``Account_Manager``, ``"Plan Level"``). Operators read as people write them
(:data:`.vocabulary.OP_PHRASES`: ``=``, ``is not``, ``contains``, ``is any of``, ``is blank``,
``>``, ``before``, ``within the next 30 days``...), the labels :mod:`.describe` writes
included, so described rules read back. ``and`` binds tighter than ``or`` and brackets group.
Values are bare words up to the next ``and``/``or``, or quoted when they hold those words
(``Client Name = "Smith and Jones"``); lists are comma-separated. A value of a choice or list
field is spelled as the value it means (``John`` -> ``John Smith``), with a note saying so.

Errors name the clause as typed. Input is bounded: at most :data:`MAX_LENGTH` characters and
:data:`.vocabulary.MAX_RULE_DEPTH` brackets deep, read without recursion. Pure (of Django only
its translations); the operators, ``and``/``or``, yes/no and month names are English.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.translation import gettext as _

from .vocabulary import (
    DATE_OPS,
    DAYS_OPS,
    LIST_OPS,
    MAX_DAYS,
    MAX_RULE_DEPTH,
    NO_VALUE_OPS,
    OP_PHRASES,
    OPS,
    ORDER_OPS,
    TEXT_OPS,
    FieldInfo,
    as_bool,
    as_month,
    as_number,
    op_label,
)

# Longer than any segment anyone writes by hand; refused before it is read.
MAX_LENGTH = 2000


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


# --- values as people type them -------------------------------------------------------------


def read_number(value: Any) -> int | float | None:
    """A number as people type it, "$5,000" included."""
    return as_number(value.strip().lstrip("$") if isinstance(value, str) else value)


_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def read_date(value: Any) -> str | None:
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


def read_month(value: Any) -> str | None:
    """The English month name (as the sync stores Balance Month) for a name, prefix or 1-12."""
    return as_month(str(value).strip().rstrip("."))


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def _spelled(info: FieldInfo, typed: str, notes: list[str]) -> str:
    """A typed value spelled as the field's value it means, if it means exactly one."""
    spellings = info.known_values if info.value_type in ("choice", "list") else info.choices
    if not spellings:
        return typed
    # As typed first (values synced in two casings are both offered), then whatever the case.
    for choice in spellings:
        if " ".join(choice.split()) == " ".join(typed.split()):
            return choice
    folded = _fold(typed)
    same = _one_per_spelling(choice for choice in spellings if _fold(choice) == folded)
    if same:
        return same[0]
    # "John" for "John Smith", "smith" for "John Smith": whole words, so "Jo" is not "John".
    words = folded.split()
    candidates = _one_per_spelling(
        choice for choice in spellings if _contains_words(_fold(choice).split(), words)
    )
    if len(candidates) == 1:
        notes.append(
            _("“%(typed)s” was read as “%(choice)s” (%(field)s).")
            % {"typed": typed, "choice": candidates[0], "field": info.label}
        )
        return candidates[0]
    if len(candidates) > 1:
        listed = ", ".join(candidates[:6]) + ("…" if len(candidates) > 6 else "")
        raise ExpressionError(
            _("“%(typed)s” could be several %(field)s values: %(values)s.")
            % {"typed": typed, "field": info.label, "values": listed},
            hint=_("Type more of the name, or quote the exact value."),
        )
    if info.value_type in ("choice", "list") and info.values_complete:
        notes.append(
            _("No %(field)s I know of is “%(typed)s”: the segment may be empty.")
            % {"field": info.label, "typed": typed}
        )
    return typed


def _one_per_spelling(values: Iterable[str]) -> list[str]:
    """One value per case-insensitive spelling ("John Smith" and "JOHN SMITH", both synced,
    are one person: rules compare without case), preferring mixed case."""
    chosen: dict[str, str] = {}
    for value in values:
        key = _fold(value)
        best = chosen.get(key)
        if best is None or (_shouting(best), best) > (_shouting(value), value):
            chosen[key] = value
    return list(chosen.values())


def _shouting(value: str) -> bool:
    return value.isupper() or value.islower()


def _contains_words(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def _typed_one(info: FieldInfo, op: str, raw: str, notes: list[str]) -> Any:
    """One value for ``op`` on the field, typed and spelled as stored."""
    text = raw.strip()
    value_type = info.value_type
    if op in TEXT_OPS:
        return text
    if value_type in ("flag", "boolean"):
        flag = as_bool(text)
        if flag is None:
            raise ExpressionError(
                _("%(field)s is a yes/no field: use yes or no, not “%(value)s”.")
                % {"field": info.label, "value": text}
            )
        return flag
    if value_type == "month":
        month = read_month(text)
        if month is None:
            raise ExpressionError(
                _("“%(value)s” is not a month (January to December).") % {"value": text}
            )
        return month
    if value_type == "number":
        number = read_number(text)
        if number is None:
            raise ExpressionError(
                _("%(field)s is a number field: “%(value)s” is not a number.")
                % {"field": info.label, "value": text}
            )
        return number
    if value_type == "date" or op in DATE_OPS:
        iso = read_date(text)
        if iso is None:
            raise ExpressionError(
                _("%(field)s needs a date like 2025-06-30 or 30/06/2025, not “%(value)s”.")
                % {"field": info.label, "value": text}
            )
        return iso
    if op in ORDER_OPS:
        number = read_number(text)
        if number is not None:
            return number
        iso = read_date(text)
        if iso is None:
            raise ExpressionError(
                _("“%(op)s” needs a number or a date, not “%(value)s”.")
                % {"op": op_label(op, value_type), "value": text}
            )
        return iso
    return _spelled(info, text, notes)


def make_rule(
    info: FieldInfo,
    op: str,
    value: str | Sequence[str] | int | None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """One ``{"field", "op", "value"}`` rule, checked and typed for the field.

    ``value`` is what a person typed: text (comma-separated for ``in``/``not_in``), a list of
    texts, or the number of days for the ``within`` operators. Raises ExpressionError. Used by
    the parser and by builders that ask for field, operator and value apart (Slack's modal).
    """
    notes = [] if notes is None else notes
    if op not in OPS:
        raise ExpressionError(_("“%(op)s” is not an operator.") % {"op": op})
    value_type = info.value_type
    if op not in info.ops:
        readable = ", ".join(op_label(o, value_type, short=True) for o in info.offered_ops)
        raise ExpressionError(
            _("“%(op)s” does not apply to %(field)s (a %(type)s field).")
            % {
                "op": op_label(op, value_type, short=True),
                "field": info.label,
                "type": info.type_name,
            },
            hint=_("Use: %(ops)s.") % {"ops": readable},
        )
    rule: dict[str, Any] = {"field": info.key, "op": op}
    if op in NO_VALUE_OPS:
        return rule
    if op in DAYS_OPS:
        days = read_number(value) if value is not None and not isinstance(value, list) else None
        if not isinstance(days, int) or days < 0 or days > MAX_DAYS:
            raise ExpressionError(
                _("“%(op)s” needs a whole number of days.") % {"op": op_label(op, value_type)}
            )
        rule["value"] = days
        return rule
    if op in LIST_OPS:
        items = split_list(value) if isinstance(value, str) else list(value or [])
        items = [str(item).strip() for item in items if str(item).strip()]
        if not items:
            raise ExpressionError(
                _("%(field)s %(op)s … needs at least one value.")
                % {"field": info.label, "op": op_label(op, value_type)}
            )
        rule["value"] = [_typed_one(info, op, item, notes) for item in items]
        return rule
    if value is None or not str(value).strip():
        raise ExpressionError(
            _("%(field)s %(op)s … needs a value.")
            % {"field": info.label, "op": op_label(op, value_type, short=True)}
        )
    rule["value"] = _typed_one(info, op, str(value), notes)
    return rule


_CLOSING = {'"': '"', "'": "'", "“": "”", "‘": "’", "”": "”"}


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


# --- field names ----------------------------------------------------------------------------


@dataclass
class _Name:
    pattern: re.Pattern[str]
    field: FieldInfo
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


class FieldNames:
    """The names the fields answer to: labels (in the active language), aliases and keys.

    A mapped label is the firm's word and beats a built-in's label or alias spelled the same;
    a key counts only when typed exactly.
    """

    def __init__(self, fields: Sequence[FieldInfo]) -> None:
        self.fields = list(fields)
        self.names: list[_Name] = []
        for info in self.fields:
            spelled = [(str(info.label), 2 if info.builtin else 1)]
            spelled += [(alias, 3) for alias in info.aliases]
            for text, priority in spelled:
                pattern = _name_pattern(text)
                if pattern is not None:
                    self.names.append(_Name(pattern, info, priority))
            key_pattern = _name_pattern(info.key)
            if key_pattern is not None:
                self.names.append(_Name(key_pattern, info, 0, exact=info.key))

    def at(self, text: str, pos: int) -> tuple[FieldInfo | None, int]:
        """The field named at ``pos`` (after spaces) and where its name ends."""
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos < len(text) and text[pos] in _CLOSING:
            end = text.find(_CLOSING[text[pos]], pos + 1)
            if end > pos:
                quoted = _fold(text[pos + 1 : end]).replace("_", " ")
                for info in self.fields:
                    spelled = (info.key, str(info.label), *info.aliases)
                    if any(_fold(s.replace("_", " ")) == quoted for s in spelled):
                        return info, end + 1
            return None, pos
        best: tuple[int, int, FieldInfo] | None = None
        for name in self.names:
            found = name.pattern.match(text, pos)
            if found:
                rank = (found.end(), -name.rank(found.group(0)))
                if best is None or rank > (best[0], best[1]):
                    best = (rank[0], rank[1], name.field)
        if best is None:
            return None, pos
        return best[2], best[0]

    def name_of(self, info: FieldInfo) -> str:
        """How to write the field so that it reads back as itself: its label, or its key
        when another field answers to that label (a mapping called "Source")."""
        label = str(info.label)
        found, end = self.at(label, 0)
        return label if found is info and end == len(label) else info.key

    def spellings(self) -> dict[str, str]:
        """Folded label or key -> label, for "did you mean" hints."""
        spellings = {_fold(str(f.label)): str(f.label) for f in self.fields}
        spellings.update({f.key: str(f.label) for f in self.fields})
        return spellings


# --- the parser -----------------------------------------------------------------------------

_OPERATOR_RES = [(re.compile(pattern, re.I), op) for pattern, op in OP_PHRASES]
# Where a condition's field name probably ends, to name an unknown field in the error.
_OPERATORISH = re.compile(
    r"\s*(?:[=!<>:≠≥≤]|\b(?:is|isn'?t|not|contains|includes|has|starts|begins|ends|in|"
    r"before|after|within|equals|more|less|greater|at|over|under|above|below|does|doesn'?t)\b)",
    re.I,
)
_JOINER = re.compile(r"\s*(?:\b(?P<word>and|or)\b|(?P<symbol>&&|\|\|))\s*", re.I)
_WORD_JOINER = re.compile(r"(?:and|or)(?=\s|$)", re.I)


@dataclass
class _Group:
    match: str
    items: list[Any] = field(default_factory=list)


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


def _either(alternatives: list[list[Any]]) -> Any:
    """``a and b or c``: the and-runs combined, then or-ed."""
    return _combine("any", [_combine("all", run) for run in alternatives])


def _as_rule(node: Any) -> dict[str, Any]:
    if isinstance(node, _Group):
        return {"match": node.match, "rules": [_as_rule(i) for i in node.items]}
    return node


class _Parser:
    def __init__(self, text: str, fields: Sequence[FieldInfo], unknown_field_hint: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0
        self.field_names = FieldNames(fields)
        self.unknown_field_hint = unknown_field_hint
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

    # -- grammar: expr := run ("or" run)* ; run := atom ("and" atom)* ; atom := "(" expr ")" |
    # condition. Read with an explicit stack of open brackets, each holding its or-ed runs.

    def parse(self) -> Expression:
        if len(self.text) > MAX_LENGTH:
            raise ExpressionError(
                _("That is too long to read: at most %(max)s characters, not %(length)s.")
                % {"max": MAX_LENGTH, "length": len(self.text)}
            )
        if self.at_end():
            raise ExpressionError(_("Say which contacts, e.g. “Account Manager = John”."))
        # (where the bracket opened, the runs read inside it so far)
        stack: list[tuple[int, list[list[Any]]]] = [(0, [[]])]
        while True:
            if self.at_end():
                raise ExpressionError(_("The expression ends where a condition should follow."))
            if self.peek() == "(":
                if len(stack) > MAX_RULE_DEPTH:
                    raise ExpressionError(
                        _("Brackets are nested more than %(depth)s deep.")
                        % {"depth": MAX_RULE_DEPTH},
                        position=self.pos,
                    )
                stack.append((self.pos, [[]]))
                self.pos += 1
                self.depth += 1
                continue
            stack[-1][1][-1].append(self.condition())
            while self.peek() == ")":  # brackets closed after the condition
                if len(stack) == 1:
                    raise ExpressionError(_("There is a “)” without its “(”."), position=self.pos)
                _start, runs = stack.pop()
                self.pos += 1
                self.depth -= 1
                stack[-1][1][-1].append(_either(runs))
            if self.at_end():
                if len(stack) > 1:
                    raise ExpressionError(_("A “(” is not closed."), position=stack[-1][0])
                return self.expression(_either(stack[0][1]))
            joiner = self.joiner()
            if joiner is None:
                raise ExpressionError(
                    _("I could not read “%(text)s”.") % {"text": self.text[self.pos :].strip()},
                    position=self.pos,
                )
            self.take_joiner()
            if joiner == "or":
                stack[-1][1].append([])

    def expression(self, node: Any) -> Expression:
        if isinstance(node, _Group):
            return Expression(node.match, [_as_rule(i) for i in node.items], tuple(self.notes))
        return Expression("all", [node], tuple(self.notes))

    # -- one condition: FIELD OPERATOR [VALUE]

    def condition(self) -> dict[str, Any]:
        start = self.pos
        found_not = re.compile(r"not\s+", re.I).match(self.text, self.pos)
        if found_not:
            info, end = self.field_names.at(self.text, found_not.end())
            is_flag = info is not None and info.value_type in ("flag", "boolean")
            if is_flag and self.at_boundary(end):
                self.pos = end
                return make_rule(info, "eq", "no")
        info, end = self.field_names.at(self.text, self.pos)
        if info is None:
            raise self.unknown_field(start)
        self.pos = end
        if self.at_boundary(self.pos) and info.value_type in ("flag", "boolean"):
            # "subscribed", "is archived": a yes/no field on its own means yes.
            return make_rule(info, "eq", "yes")
        return self.operator_and_value(info)

    def unknown_field(self, start: int) -> ExpressionError:
        self.skip_space()
        rest = self.text[self.pos :]
        cut = _OPERATORISH.search(rest)
        typed = (rest[: cut.start()] if cut and cut.start() > 0 else rest.split(" ")[0]).strip()
        typed = typed.strip("\"'“”‘’") or rest.strip()
        spellings = self.field_names.spellings()
        close = difflib.get_close_matches(_fold(typed), list(spellings), n=3, cutoff=0.6)
        labels = list(dict.fromkeys(spellings[c] for c in close))
        if labels:
            either = " " + _("or") + " "
            hint = _("Did you mean %(fields)s?") % {"fields": either.join(labels)}
        else:
            hint = self.unknown_field_hint
        if self.text[:start].strip():
            hint += " " + _("(If “and” or “or” is part of a value, put the value in quotes.)")
        return ExpressionError(
            _("I don't know a field called “%(field)s”.") % {"field": typed},
            position=start,
            hint=hint.strip(),
        )

    def operator_and_value(self, info: FieldInfo) -> dict[str, Any]:
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
                return make_rule(info, op, days, self.notes)
            value_start = end
            while value_start < len(self.text) and self.text[value_start].isspace():
                value_start += 1
            if value_start >= len(self.text) or self.at_boundary(value_start):
                if op == "ne":
                    continue  # "not" alone is not a condition
                raise ExpressionError(
                    _("%(field)s %(op)s … needs a value.")
                    % {"field": info.label, "op": op_label(op, info.value_type, short=True)},
                    position=value_start,
                )
            self.pos = value_start
            if op in LIST_OPS:
                return make_rule(info, op, self.read_list(), self.notes)
            return make_rule(info, op, self.read_value(), self.notes)
        near = self.text[self.pos :].split()[:1]
        if near:
            message = _(
                "After %(field)s I expected an operator such as =, is not, contains, in, "
                "is blank, > or before, not “%(typed)s”."
            ) % {"field": info.label, "typed": near[0]}
        else:
            message = _(
                "After %(field)s I expected an operator such as =, is not, contains, in, "
                "is blank, > or before."
            ) % {"field": info.label}
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


def parse(text: str, fields: Sequence[FieldInfo], *, unknown_field_hint: str = "") -> Expression:
    """Read a typed expression against ``fields``; raises :class:`ExpressionError`.

    ``unknown_field_hint``: what to suggest when a field name is unknown and nothing is close
    (the Slack bot points at its field list).
    """
    return _Parser(text, fields, unknown_field_hint).parse()
