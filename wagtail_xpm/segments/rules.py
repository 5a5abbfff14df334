"""The version-1 segment rule format (docs/contracts.md 4.3): fields, operators and validation.

A segment is ``{"name", "client_scope", "match", "rules"}``; ``rules`` holds rules
``{"field", "op", "value"}`` and groups ``{"match": "all"|"any", "rules": [...]}`` nested to
any depth (up to :data:`MAX_RULE_DEPTH`). Validation collects every problem as
``"<path>: <message>"`` (``segments[0].rules[1].rules[2].op: ...``), the wording the
``xpm_config`` importer uses, so an editor and a file author read the same messages.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from ..sync.mapping import MONTHS  # Balance Month as the sync stores it

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
SEGMENT_KEYS = ("name", "description", "client_scope", "match", "rules")
# Deeper nesting than this is a mistake in a hand-written file, not a real segment.
MAX_RULE_DEPTH = 8
MAX_TEXT = 255
# A "days" window longer than this is a typo (and would overflow date arithmetic).
MAX_DAYS = 36_500

MONTH_BY_NAME = {m.casefold(): m for m in MONTHS}

# Which operators make sense for each mapping value type (FieldMapping.ValueType).
_TEXTUAL = ("eq", "ne", "contains", "not_contains", "starts_with", "ends_with", "in", "not_in",
            "blank", "not_blank")  # fmt: skip
OPS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "text": (*_TEXTUAL, "gt", "gte", "lt", "lte"),
    "choice": (*_TEXTUAL, "gt", "gte", "lt", "lte"),
    "month": (
        "eq",
        "ne",
        "in",
        "not_in",
        "blank",
        "not_blank",
        "within_next_days",
        "within_last_days",
    ),  # fmt: skip
    "boolean": ("eq", "ne", "blank", "not_blank"),
    "number": ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "blank", "not_blank"),
    "date": (
        "eq",
        "ne",
        "before",
        "after",
        "gt",
        "gte",
        "lt",
        "lte",
        "within_next_days",
        "within_last_days",
        "blank",
        "not_blank",
    ),  # fmt: skip
    "list": ("contains", "not_contains", "eq", "ne", "in", "not_in", "blank", "not_blank"),
}
# What the builder offers first (the rest stay valid in files).
OFFERED_OPS: dict[str, tuple[str, ...]] = {
    **OPS_BY_TYPE,
    "text": _TEXTUAL,
    "choice": (
        "eq",
        "ne",
        "in",
        "not_in",
        "contains",
        "not_contains",
        "starts_with",
        "ends_with",
        "blank",
        "not_blank",
    ),  # fmt: skip
    "list": ("contains", "not_contains", "in", "not_in", "blank", "not_blank"),
    "flag": ("eq",),
}
OPS_BY_TYPE["flag"] = ("eq", "ne")

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
# Wording that reads better for some types ("has", "balance date within...").
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
    },  # fmt: skip
}


def op_label(op: str, value_type: str) -> str:
    return str(OP_LABELS_BY_TYPE.get(value_type, {}).get(op) or OP_LABELS.get(op, op))


@dataclass(frozen=True)
class FieldInfo:
    """A field a rule may name: a built-in contact field or a mapped key."""

    key: str
    label: str
    value_type: str
    builtin: bool = False
    choices: tuple[str, ...] = ()
    # Where the value lives: a Contact column for built-ins, else the mapped data.
    column: str = ""
    # True when, with client_scope "any", the field is read from each linked client.
    per_client: bool = False

    @property
    def ops(self) -> tuple[str, ...]:
        return OPS_BY_TYPE.get(self.value_type, OPS_BY_TYPE["text"])

    @property
    def offered_ops(self) -> tuple[str, ...]:
        return OFFERED_OPS.get(self.value_type, OFFERED_OPS["text"])


# docs/contracts.md 4.3: built-in fields usable in rules besides the mapped keys.
BUILTIN_FIELDS: dict[str, FieldInfo] = {
    info.key: info
    for info in (
        FieldInfo("email", _("Email"), "text", builtin=True, column="email"),
        FieldInfo("name", _("Name"), "text", builtin=True, column="name"),
        FieldInfo(
            "client_name", _("XPM client name"), "text", builtin=True,
            column="client_name", per_client=True,
        ),
        FieldInfo(
            "source", _("Source"), "choice", builtin=True, column="source",
            choices=("xpm", "form", "manual"),
        ),
        FieldInfo("subscribed", _("Subscribed"), "flag", builtin=True, column="subscribed"),
        FieldInfo(
            "is_archived", _("Archived in XPM"), "flag", builtin=True, column="is_archived"
        ),
        FieldInfo("is_prospect", _("Prospect"), "flag", builtin=True, column="is_prospect"),
    )
}  # fmt: skip
BUILTIN_RULE_FIELDS = frozenset(BUILTIN_FIELDS)
ARCHIVED_FIELD = "is_archived"
VALUE_TYPES = frozenset(OPS_BY_TYPE)


def mapped_field(key: str, label: str, value_type: str, choices=()) -> FieldInfo:
    value_type = value_type if value_type in VALUE_TYPES else "text"
    return FieldInfo(
        key, label or key, value_type, choices=tuple(str(c) for c in choices or ()),
        per_client=True,
    )  # fmt: skip


def fields_for(connection) -> dict[str, FieldInfo]:
    """The built-in fields and the connection's mapped keys, in the editor's order."""
    from ..models import FieldMapping

    fields = dict(BUILTIN_FIELDS)
    mappings = FieldMapping.objects.filter(connection=connection).order_by("sort_order", "pk")
    for mapping in mappings:
        if mapping.key not in fields:
            fields[mapping.key] = mapped_field(
                mapping.key, mapping.label, mapping.value_type, mapping.choices
            )
    return fields


# --- walking a rule tree --------------------------------------------------------------------


def is_group(rule: Mapping[str, Any]) -> bool:
    return "rules" in rule or ("match" in rule and "field" not in rule)


def iter_rules(rules: Any) -> Iterator[dict[str, Any]]:
    """Every leaf rule of a (possibly nested) rule list, depth first."""
    for rule in rules or ():
        if not isinstance(rule, dict):
            continue
        if is_group(rule):
            yield from iter_rules(rule.get("rules"))
        else:
            yield rule


def names_field(rules: Any, key: str) -> bool:
    return any(rule.get("field") == key for rule in iter_rules(rules))


# --- values ---------------------------------------------------------------------------------

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


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def kind(value: Any) -> str:
    """How a JSON value is described in messages."""
    return {
        dict: gettext("an object"), list: gettext("a list"),
        str: pgettext("kind of value", "text"), bool: gettext("true/false"),
        type(None): gettext("null"), int: gettext("a number"), float: gettext("a number"),
    }.get(type(value), type(value).__name__)  # fmt: skip


def value_problem(op: str, value: Any) -> str | None:
    """Why ``value`` does not suit ``op`` whatever the field, or None."""
    if op in LIST_OPS:
        if not isinstance(value, list) or not value:
            return gettext("'%(op)s' needs a non-empty list of values") % {"op": op}
        if not all(_is_scalar(v) for v in value):
            return gettext("'%(op)s' values must be text, numbers or true/false") % {"op": op}
        return None
    if op in DAYS_OPS:
        if type(value) is not int or value < 0:
            return gettext("'%(op)s' needs a whole number of days (0 or more)") % {"op": op}
        if value > MAX_DAYS:
            return gettext("'%(op)s' takes at most %(days)s days") % {"op": op, "days": MAX_DAYS}
        return None
    if op in DATE_OPS:
        try:
            date.fromisoformat(value if isinstance(value, str) else "")
        except ValueError:
            return gettext("'%(op)s' needs a date as YYYY-MM-DD, not %(value)s") % {
                "op": op,
                "value": repr(value),
            }
        return None
    if op in TEXT_OPS:
        if isinstance(value, str):
            return None
        return gettext("'%(op)s' needs text, not %(kind)s") % {"op": op, "kind": kind(value)}
    if op in ORDER_OPS:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return gettext("'%(op)s' needs a number or a date, not %(kind)s") % {
                "op": op,
                "kind": kind(value),
            }
        return None
    if not _is_scalar(value):  # eq, ne
        if value is None:
            return gettext(
                "'%(op)s' needs one text, number or true/false value (use 'blank' for an empty "
                "field)"
            ) % {"op": op}
        return gettext("'%(op)s' needs one text, number or true/false value") % {"op": op}
    return None


def typed_value_problem(info: FieldInfo, op: str, value: Any) -> str | None:
    """Why ``value`` does not suit ``op`` on this field's type (after value_problem)."""
    values = value if op in LIST_OPS else [value]
    value_type = info.value_type
    if value_type in ("boolean", "flag") and op in ("eq", "ne"):
        if as_bool(value) is None:
            return gettext("%(field)s is a yes/no field: use true or false, not %(value)s") % {
                "field": info.label,
                "value": repr(value),
            }
    elif value_type == "month" and op in ("eq", "ne", "in", "not_in"):
        for item in values:
            if as_month(item) is None:
                return gettext("%(value)s is not a month (January to December)") % {
                    "value": repr(item)
                }
    elif value_type == "number" and (op in ORDER_OPS or op in ("eq", "ne", "in", "not_in")):
        for item in values:
            if as_number(item) is None:
                return gettext("%(field)s is a number field: %(value)s is not a number") % {
                    "field": info.label,
                    "value": repr(item),
                }
    elif value_type == "date" and (op in ORDER_OPS or op in ("eq", "ne")):
        if as_date(value) is None:
            return gettext("%(field)s is a date field: use a date as YYYY-MM-DD, not %(value)s") % {
                "field": info.label,
                "value": repr(value),
            }
    elif op in ORDER_OPS and as_number(value) is None and as_date(value) is None:
        return gettext("'%(op)s' needs a number or a date as YYYY-MM-DD, not %(value)s") % {
            "op": op,
            "value": repr(value),
        }
    return None


def normalise_value(info: FieldInfo, op: str, value: Any) -> Any:
    """The value as stored: typed for the field (month names spelled as synced, etc.)."""
    if op in NO_VALUE_OPS or op in DAYS_OPS or op in DATE_OPS:
        return value
    if op in LIST_OPS:
        return [normalise_value(info, "eq", item) for item in value]
    value_type = info.value_type
    if value_type in ("boolean", "flag") and op in ("eq", "ne"):
        return as_bool(value)
    if value_type == "month":
        return as_month(value) or value
    if value_type == "number":
        number = as_number(value)
        return value if number is None else number
    if isinstance(value, str):
        return value.strip()
    return value


# --- validation -----------------------------------------------------------------------------


class RuleError(ValueError):
    """A rule tree is invalid. ``errors`` lists every problem as ``"<path>: <message>"``."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


@dataclass
class RuleValidator:
    """Checks rule trees and segment entries and normalises them; collects every error.

    ``fields`` maps each nameable key to its :class:`FieldInfo` (or just its value type);
    built-in fields are always nameable.
    """

    fields: Mapping[str, FieldInfo | str]
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        known: dict[str, FieldInfo] = dict(BUILTIN_FIELDS)
        for key, info in self.fields.items():
            if key in BUILTIN_FIELDS:
                continue
            known[key] = info if isinstance(info, FieldInfo) else mapped_field(key, key, info)
        self.known = known

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}" if path else message)

    def choice(
        self, entry: Mapping[str, Any], name: str, allowed: tuple[str, ...], path: str,
        *, default: str,
    ) -> str:  # fmt: skip
        value = entry.get(name, default)
        if value not in allowed:
            self.error(
                f"{path}.{name}",
                gettext("%(value)s is not one of %(allowed)s")
                % {"value": repr(value), "allowed": ", ".join(allowed)},
            )
        return value

    def segment(self, entry: Any, path: str) -> dict[str, Any] | None:
        """A document's segment entry (name, description, client_scope, match, rules)."""
        if not isinstance(entry, dict):
            self.error(path, gettext("must be an object, not %(kind)s") % {"kind": kind(entry)})
            return None
        for name in entry:
            if name not in SEGMENT_KEYS:
                self.error(
                    f"{path}.{name}",
                    gettext("unknown field (expected %(fields)s)")
                    % {"fields": ", ".join(SEGMENT_KEYS)},
                )
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            self.error(f"{path}.name", gettext("a segment needs a name"))
            name = None
        elif len(name.strip()) > MAX_TEXT:
            self.error(
                f"{path}.name", gettext("longer than %(max)s characters") % {"max": MAX_TEXT}
            )
        else:
            name = name.strip()
        segment: dict[str, Any] = {"name": name}
        if "description" in entry:
            if not isinstance(entry["description"], str):
                self.error(f"{path}.description", gettext("must be text"))
            segment["description"] = entry["description"]
        segment["client_scope"] = self.choice(
            entry, "client_scope", CLIENT_SCOPES, path, default="primary"
        )
        segment["match"] = self.choice(entry, "match", MATCHES, path, default="all")
        if "rules" not in entry:
            self.error(f"{path}.rules", gettext("missing (a list of rules)"))
            segment["rules"] = []
        else:
            segment["rules"] = self.rules(entry["rules"], f"{path}.rules", allow_empty=True)
        return segment

    def rules(self, rules: Any, path: str, *, depth: int = 1, allow_empty: bool) -> list:
        if not isinstance(rules, list):
            self.error(
                path, gettext("must be a list of rules, not %(kind)s") % {"kind": kind(rules)}
            )
            return []
        if not rules and not allow_empty:
            self.error(path, gettext("a group needs at least one rule"))
        if depth > MAX_RULE_DEPTH:
            self.error(
                path,
                gettext("rule groups are nested more than %(depth)s deep")
                % {"depth": MAX_RULE_DEPTH},
            )
            return []
        return [self.rule(rule, f"{path}[{i}]", depth) for i, rule in enumerate(rules)]

    def rule(self, rule: Any, path: str, depth: int) -> dict[str, Any]:
        if not isinstance(rule, dict):
            self.error(path, gettext("must be an object, not %(kind)s") % {"kind": kind(rule)})
            return {}
        if is_group(rule):
            extra = [k for k in rule if k not in ("match", "rules")]
            if extra:
                self.error(
                    f"{path}.{extra[0]}",
                    gettext("unknown field in a rule group (expected match, rules)"),
                )
            return {
                "match": self.choice(rule, "match", MATCHES, path, default="all"),
                "rules": self.rules(
                    rule.get("rules"), f"{path}.rules", depth=depth + 1, allow_empty=False
                ),
            }
        extra = [k for k in rule if k not in ("field", "op", "value")]
        if extra:
            self.error(
                f"{path}.{extra[0]}",
                gettext("unknown field in a rule (expected field, op, value)"),
            )
        name, op = rule.get("field"), rule.get("op")
        info = None
        if not isinstance(name, str) or not name:
            self.error(f"{path}.field", gettext("missing (a mapped key or built-in field)"))
        elif name not in self.known:
            self.error(
                f"{path}.field",
                gettext("%(name)s is not a mapped key or built-in field (%(fields)s)")
                % {"name": repr(name), "fields": ", ".join(sorted(BUILTIN_RULE_FIELDS))},
            )
        else:
            info = self.known[name]
        if op not in OPS:
            self.error(
                f"{path}.op",
                gettext("%(op)s is not an operator (%(ops)s)")
                % {"op": repr(op), "ops": " ".join(OPS)},
            )
            return dict(rule)
        if info is not None and op not in info.ops:
            self.error(
                f"{path}.op",
                gettext("'%(op)s' does not apply to %(field)s (a %(type)s field; use %(ops)s)")
                % {
                    "op": op,
                    "field": info.label,
                    "type": _type_name(info.value_type),
                    "ops": ", ".join(info.ops),
                },
            )
            info = None  # the value checks below would only repeat the mismatch
        normalised: dict[str, Any] = {"field": name, "op": op}
        if op in NO_VALUE_OPS:
            if rule.get("value") is not None:
                self.error(f"{path}.value", gettext("'%(op)s' takes no value") % {"op": op})
            return normalised
        if "value" not in rule:
            self.error(f"{path}.value", gettext("missing (needed by '%(op)s')") % {"op": op})
            return normalised
        value = rule["value"]
        problem = value_problem(op, value)
        if problem is None and info is not None:
            problem = typed_value_problem(info, op, value)
            if problem is None:
                value = normalise_value(info, op, value)
        if problem:
            self.error(f"{path}.value", problem)
        normalised["value"] = value
        return normalised


def _type_name(value_type: str) -> str:
    return {"flag": gettext("yes/no"), "boolean": gettext("yes/no")}.get(value_type, value_type)


def validate_rules(
    rules: Any,
    fields: Mapping[str, FieldInfo | str],
    *,
    match: Any = "all",
    path: str = "rules",
) -> list[dict[str, Any]]:
    """Check a segment's top-level rule list; returns it normalised or raises RuleError."""
    validator = RuleValidator(fields)
    if match not in MATCHES:
        validator.error(
            "match",
            gettext("%(value)s is not one of %(allowed)s")
            % {"value": repr(match), "allowed": ", ".join(MATCHES)},
        )
    normalised = validator.rules(rules, path, allow_empty=True)
    if validator.errors:
        raise RuleError(validator.errors)
    return normalised
