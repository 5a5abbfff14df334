"""The words of the segment language: operators, value types, built-in fields, values.

One table for every surface: the admin builder, the version-1 document (docs/contracts.md
4.3), explain, and the Slack bot. It says which operators exist, how each is named to people
(:func:`op_label`) and typed by them (:data:`OP_PHRASES`), which operators each value type
accepts (:data:`OPS_BY_TYPE`) and which a builder offers (:data:`OFFERED_OPS`), the built-in
fields, and how values are read (:func:`as_month`...) and shown (:func:`display`).

Pure: of Django only its translations. The fields of one practice (built-ins plus its mapped
keys, with the values offered for each) are :mod:`.catalogue`'s job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..sync.mapping import MONTHS  # Balance Month as the sync stores it

# --- operators ------------------------------------------------------------------------------

OPS = (
    "eq", "ne", "contains", "not_contains", "starts_with", "ends_with", "in", "not_in",
    "blank", "not_blank", "gt", "gte", "lt", "lte", "before", "after", "within_next_days",
    "within_last_days",
)  # fmt: skip
TEXT_OPS = frozenset({"contains", "not_contains", "starts_with", "ends_with"})
LIST_OPS = frozenset({"in", "not_in"})
NO_VALUE_OPS = frozenset({"blank", "not_blank"})
ORDER_OPS = frozenset({"gt", "gte", "lt", "lte"})
DATE_OPS = frozenset({"before", "after"})
DAYS_OPS = frozenset({"within_next_days", "within_last_days"})
MATCHES = ("all", "any")
CLIENT_SCOPES = ("primary", "any")
# A "days" window longer than this is a typo (and would overflow date arithmetic).
MAX_DAYS = 36_500
# Deeper nesting than this is a mistake in a hand-written file, not a real segment.
MAX_RULE_DEPTH = 8

# Which operators each value type accepts (FieldMapping.ValueType, plus "flag" for the
# built-in yes/no columns): what validation allows, in files and everywhere else.
# fmt: off
_TEXTUAL = ("eq", "ne", "contains", "not_contains", "starts_with", "ends_with", "in", "not_in",
            "blank", "not_blank")
OPS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "text": (*_TEXTUAL, "gt", "gte", "lt", "lte"),
    "choice": (*_TEXTUAL, "gt", "gte", "lt", "lte"),
    "month": ("eq", "ne", "in", "not_in", "blank", "not_blank", "within_next_days",
              "within_last_days"),
    "boolean": ("eq", "ne", "blank", "not_blank"),
    "number": ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "blank", "not_blank"),
    "date": ("eq", "ne", "before", "after", "gt", "gte", "lt", "lte", "within_next_days",
             "within_last_days", "blank", "not_blank"),
    "list": ("contains", "not_contains", "eq", "ne", "in", "not_in", "blank", "not_blank"),
    "flag": ("eq", "ne"),
}
VALUE_TYPES = frozenset(OPS_BY_TYPE)
# What a builder (the admin's and Slack's alike) offers for each type, in menu order; the
# other operators of OPS_BY_TYPE stay valid in files and typed expressions.
OFFERED_OPS: dict[str, tuple[str, ...]] = {
    **OPS_BY_TYPE,
    "text": _TEXTUAL,
    "choice": ("eq", "ne", "in", "not_in", "contains", "not_contains", "starts_with",
               "ends_with", "blank", "not_blank"),
    "list": ("contains", "not_contains", "in", "not_in", "blank", "not_blank"),
    "flag": ("eq",),
}
# fmt: on

OP_LABELS: dict[str, Any] = {
    "eq": _("is"),
    "ne": _("is not"),
    "contains": _("contains"),
    "not_contains": _("does not contain"),
    "starts_with": _("starts with"),
    "ends_with": _("ends with"),
    "in": _("is any of"),
    "not_in": _("is none of"),
    "blank": _("is blank"),
    "not_blank": _("is not blank"),
    "gt": _("is more than"),
    "gte": _("is at least"),
    "lt": _("is less than"),
    "lte": _("is at most"),
    "before": _("is before"),
    "after": _("is after"),
    "within_next_days": _("is within the next … days"),
    "within_last_days": _("was within the last … days"),
}
# Wording that reads better for some types ("includes", "balance date within...").
OP_LABELS_BY_TYPE: dict[str, dict[str, Any]] = {
    "list": {
        "contains": _("includes"),
        "not_contains": _("does not include"),
        "eq": _("includes"),
        "ne": _("does not include"),
        "in": _("includes any of"),
        "not_in": _("includes none of"),
    },
    "month": {
        "within_next_days": _("balance date is within the next … days"),
        "within_last_days": _("balance date was within the last … days"),
    },
    "date": {
        "gt": _("is after"),
        "lt": _("is before"),
        "gte": _("is on or after"),
        "lte": _("is on or before"),
    },
}


def op_label(op: str, value_type: str = "text", *, short: bool = False) -> str:
    """How ``op`` is named to people for a field of ``value_type``, in the active language
    (``short``: without the " …" standing for the number of days)."""
    label = str(OP_LABELS_BY_TYPE.get(value_type, {}).get(op) or OP_LABELS.get(op, op))
    return label.replace(" …", "") if short else label


def type_name(value_type: str) -> str:
    """A value type as people read it in messages ("a yes/no field")."""
    if value_type in ("flag", "boolean"):
        return gettext("yes/no")
    return value_type


# How people type each operator (English, like the rest of the typed language; the labels
# above read back too). Regular expressions, tried at the cursor: the longest match wins,
# then the earlier entry, so "is not blank" beats "is not" and "is not" beats "is".
_W = r"(?=$|[\s\"'“‘(\[])"  # a word operator ends before a value or the end
OP_PHRASES: tuple[tuple[str, str], ...] = (
    (r"==|=|:", "eq"),
    (r"is\s+equal\s+to|equal\s+to|equals|is|eq" + _W, "eq"),
    (r"!=|<>|≠", "ne"),
    (r"is\s+not\s+equal\s+to|not\s+equal\s+to|does\s+not\s+equal|doesn'?t\s+equal|"
     r"is\s+not|isn'?t|not|ne" + _W, "ne"),
    (r"does\s+not\s+contain|doesn'?t\s+contain|not\s+contains?|does\s+not\s+include|"
     r"doesn'?t\s+include|excludes" + _W, "not_contains"),
    (r"contains|includes|has" + _W, "contains"),
    (r"starts\s+with|begins\s+with|starting\s+with" + _W, "starts_with"),
    (r"ends\s+with|ending\s+with" + _W, "ends_with"),
    (r"is\s+not\s+in|not\s+in|is\s+none\s+of|none\s+of|is\s+not\s+one\s+of|not\s+one\s+of|"
     r"includes\s+none\s+of" + _W, "not_in"),
    (r"includes\s+any\s+of|includes\s+one\s+of|is\s+in|in|is\s+any\s+of|any\s+of|"
     r"is\s+one\s+of|one\s+of" + _W, "in"),
    (r"is\s+not\s+blank|is\s+not\s+empty|not\s+blank|not\s+empty|is\s+set|is\s+present|"
     r"has\s+a\s+value|exists" + _W, "not_blank"),
    (r"is\s+blank|is\s+empty|blank|empty|is\s+missing|is\s+not\s+set|is\s+unset" + _W, "blank"),
    (r">=|≥", "gte"),
    (r"<=|≤", "lte"),
    (r">", "gt"),
    (r"<", "lt"),
    (r"is\s+greater\s+than\s+or\s+equal\s+to|is\s+at\s+least|at\s+least|is\s+on\s+or\s+after|"
     r"on\s+or\s+after" + _W, "gte"),
    (r"is\s+less\s+than\s+or\s+equal\s+to|is\s+at\s+most|at\s+most|is\s+on\s+or\s+before|"
     r"on\s+or\s+before" + _W, "lte"),
    (r"is\s+more\s+than|is\s+greater\s+than|more\s+than|greater\s+than|over|above" + _W, "gt"),
    (r"is\s+less\s+than|less\s+than|under|below" + _W, "lt"),
    (r"is\s+before|before|is\s+earlier\s+than|earlier\s+than" + _W, "before"),
    (r"is\s+after|after|is\s+later\s+than|later\s+than" + _W, "after"),
    (r"(?:balance\s+date\s+)?(?:is\s+)?(?:within|in)\s+(?:the\s+)?next\s+(?P<days>\d+)\s+days?"
     + _W, "within_next_days"),
    (r"(?:balance\s+date\s+)?(?:is\s+|was\s+)?(?:within|in)\s+(?:the\s+)?(?:last|past)\s+"
     r"(?P<days>\d+)\s+days?" + _W, "within_last_days"),
)  # fmt: skip


# --- fields ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldInfo:
    """A field a rule may name: a built-in contact field or a mapped key."""

    key: str
    label: str
    value_type: str
    builtin: bool = False
    # The values the field declares (a custom field's dropdown, the sources).
    choices: tuple[str, ...] = ()
    # Where the value lives: a Contact column for built-ins, else the mapped data.
    column: str = ""
    # True when, with client_scope "any", the field is read from each linked client.
    per_client: bool = False
    # Other names people type for it (English, like the typed language).
    aliases: tuple[str, ...] = ()
    # The values offered for it (catalogue.offered_values); complete when nothing was cut.
    values: tuple[str, ...] = ()
    values_complete: bool = True

    @property
    def ops(self) -> tuple[str, ...]:
        return OPS_BY_TYPE.get(self.value_type, OPS_BY_TYPE["text"])

    @property
    def offered_ops(self) -> tuple[str, ...]:
        return OFFERED_OPS.get(self.value_type, OFFERED_OPS["text"])

    @property
    def type_name(self) -> str:
        return type_name(self.value_type)

    @property
    def known_values(self) -> tuple[str, ...]:
        """The values a typed value is spelled against (choice and list fields)."""
        return self.values or self.choices


# docs/contracts.md 4.3: built-in fields usable in rules besides the mapped keys.
BUILTIN_FIELDS: dict[str, FieldInfo] = {
    info.key: info
    for info in (
        FieldInfo("email", _("Email"), "text", builtin=True, column="email", aliases=("Email",)),
        FieldInfo("name", _("Name"), "text", builtin=True, column="name", aliases=("Name",)),
        FieldInfo(
            "client_name", _("XPM client name"), "text", builtin=True, column="client_name",
            per_client=True, aliases=("XPM client name", "Client Name", "client"),
        ),
        FieldInfo(
            "source", _("Source"), "choice", builtin=True, column="source",
            choices=("xpm", "form", "manual"), aliases=("Source",),
        ),
        FieldInfo(
            "subscribed", _("Subscribed"), "flag", builtin=True, column="subscribed",
            aliases=("Subscribed",),
        ),
        FieldInfo(
            "is_archived", _("Archived in XPM"), "flag", builtin=True, column="is_archived",
            aliases=("Archived in XPM", "archived"),
        ),
        FieldInfo(
            "is_prospect", _("Prospect"), "flag", builtin=True, column="is_prospect",
            aliases=("prospect",),
        ),
    )
}  # fmt: skip
BUILTIN_RULE_FIELDS = frozenset(BUILTIN_FIELDS)
ARCHIVED_FIELD = "is_archived"


def mapped_field(key: str, label: str, value_type: str, choices=()) -> FieldInfo:
    value_type = value_type if value_type in VALUE_TYPES else "text"
    return FieldInfo(
        key, label or key, value_type, choices=tuple(str(c) for c in choices or ()),
        per_client=True,
    )  # fmt: skip


def with_builtins(mapped: Iterable[FieldInfo]) -> list[FieldInfo]:
    """The mapped fields (the firm's own words, first) followed by the built-ins."""
    return [*(f for f in mapped if f.key not in BUILTIN_FIELDS), *BUILTIN_FIELDS.values()]


def is_group(rule: Mapping[str, Any]) -> bool:
    """A group of rules (``{"match", "rules"}``) rather than one rule."""
    return "rules" in rule or ("match" in rule and "field" not in rule)


# --- values ---------------------------------------------------------------------------------

MONTH_BY_NAME = {m.casefold(): m for m in MONTHS}
_TRUE = frozenset({"true", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})


def as_bool(value: Any) -> bool | None:
    """true/false, or the words people type for them; None when it is neither."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        folded = value.strip().casefold()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
    return None


def as_number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            number = float(value.strip().replace(",", ""))
        except ValueError:
            return None
        return int(number) if number.is_integer() else number
    return None


def as_date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def as_month(value: Any) -> str | None:
    """The English month name (as the sync stores Balance Month) for a name or 1-12."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 12:
        return MONTHS[value - 1]
    if isinstance(value, str):
        text = value.strip().casefold()
        if text.isdigit() and 1 <= int(text) <= 12:
            return MONTHS[int(text) - 1]
        if text in MONTH_BY_NAME:
            return MONTH_BY_NAME[text]
        for name in MONTHS:  # "Jun", "Sept"
            if len(text) >= 3 and name.casefold().startswith(text):
                return name
    return None


def is_blank(value: Any) -> bool:
    """No value: nothing, empty text, or a list of nothing."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple):
        return all(is_blank(item) for item in value)
    return False


def display(value: Any, *, blank: str = "—") -> str:
    """A stored value as people read it: Yes/No, lists joined, ``blank`` for no value."""
    if value is None or value == "" or value == []:
        return blank
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, list | tuple):
        return ", ".join(display(item, blank="") for item in value)
    return str(value)
