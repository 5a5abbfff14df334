"""The version-1 segment rule format (docs/contracts.md 4.3): walking and validating rule trees.

A segment is ``{"name", "client_scope", "match", "rules"}``; ``rules`` holds rules
``{"field", "op", "value"}`` and groups ``{"match": "all"|"any", "rules": [...]}`` nested to
any depth (up to :data:`MAX_RULE_DEPTH`). The words (operators, types, built-in fields) are
:mod:`.vocabulary`'s, re-exported here.

Validation collects every problem. For a document (the ``xpm_config`` importer) each is
``"<path>: <message>"`` (``segments[0].rules[1].rules[2].op: ...``) followed by the rule as it
reads; for an editor (``editor=True``: the admin builder, the Slack bot) it names the rule as
the editor sees it: ``Rule 2.3, “Account Manager is more than June”: ...``, and an unfinished
rule is ``Rule 2: “Account Manager is …” needs a value.``
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.translation import gettext, pgettext

from . import describe
from .catalogue import fields_for  # noqa: F401 - importable from here as before
from .vocabulary import (  # noqa: F401 - the names other modules import from here
    ARCHIVED_FIELD,
    BUILTIN_FIELDS,
    BUILTIN_RULE_FIELDS,
    CLIENT_SCOPES,
    DATE_OPS,
    DAYS_OPS,
    LIST_OPS,
    MATCHES,
    MAX_DAYS,
    MAX_RULE_DEPTH,
    MONTH_BY_NAME,
    MONTHS,
    NO_VALUE_OPS,
    OFFERED_OPS,
    OP_LABELS,
    OP_LABELS_BY_TYPE,
    OPS,
    OPS_BY_TYPE,
    ORDER_OPS,
    TEXT_OPS,
    VALUE_TYPES,
    FieldInfo,
    as_bool,
    as_date,
    as_month,
    as_number,
    is_blank,
    is_group,
    mapped_field,
    op_label,
    type_name,
)

SEGMENT_KEYS = ("name", "description", "client_scope", "match", "rules")
MAX_TEXT = 255


# --- walking a rule tree --------------------------------------------------------------------


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


_RULE_INDEX = re.compile(r"rules\[(\d+)\]")


def rule_number(path: str) -> str:
    """``rules[1].rules[2].value`` -> ``2.3``: the rule's place as an editor counts it."""
    return ".".join(str(int(index) + 1) for index in _RULE_INDEX.findall(path))


# --- values ---------------------------------------------------------------------------------


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def kind(value: Any) -> str:
    """How a JSON value is described in messages."""
    return {
        dict: gettext("an object"), list: gettext("a list"),
        str: pgettext("kind of value", "text"), bool: gettext("true/false"),
        type(None): gettext("null"), int: gettext("a number"), float: gettext("a number"),
    }.get(type(value), type(value).__name__)  # fmt: skip


def value_problem(op: str, value: Any, *, name: str = "") -> str | None:
    """Why ``value`` does not suit ``op`` whatever the field, or None (``name``: how the
    operator is named in the message, its code by default)."""
    shown = name or op
    if op in LIST_OPS:
        if not isinstance(value, list) or not value:
            return gettext("'%(op)s' needs a non-empty list of values") % {"op": shown}
        if not all(_is_scalar(v) for v in value):
            return gettext("'%(op)s' values must be text, numbers or true/false") % {"op": shown}
        return None
    if op in DAYS_OPS:
        if type(value) is not int or value < 0:
            return gettext("'%(op)s' needs a whole number of days (0 or more)") % {"op": shown}
        if value > MAX_DAYS:
            return gettext("'%(op)s' takes at most %(days)s days") % {"op": shown, "days": MAX_DAYS}
        return None
    if op in DATE_OPS:
        try:
            date.fromisoformat(value if isinstance(value, str) else "")
        except ValueError:
            return gettext("'%(op)s' needs a date as YYYY-MM-DD, not %(value)s") % {
                "op": shown,
                "value": repr(value),
            }
        return None
    if op in TEXT_OPS:
        if isinstance(value, str):
            return None
        return gettext("'%(op)s' needs text, not %(kind)s") % {"op": shown, "kind": kind(value)}
    if op in ORDER_OPS:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return gettext("'%(op)s' needs a number or a date, not %(kind)s") % {
                "op": shown,
                "kind": kind(value),
            }
        return None
    if not _is_scalar(value):  # eq, ne
        if value is None:
            return gettext(
                "'%(op)s' needs one text, number or true/false value (use 'blank' for an empty "
                "field)"
            ) % {"op": shown}
        return gettext("'%(op)s' needs one text, number or true/false value") % {"op": shown}
    return None


def typed_value_problem(info: FieldInfo, op: str, value: Any, *, name: str = "") -> str | None:
    """Why ``value`` does not suit ``op`` on this field's type (after value_problem)."""
    shown = name or op
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
            "op": shown,
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
    """A rule tree is invalid. ``errors`` lists every problem (see :class:`RuleValidator`)."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


@dataclass
class RuleValidator:
    """Checks rule trees and segment entries and normalises them; collects every error.

    ``fields`` maps each nameable key to its :class:`FieldInfo` (or just its value type);
    built-in fields are always nameable. ``editor``: word the problems for the person editing
    the rules (numbered rules as they read, operators by their labels) rather than for the
    author of a document (paths and operator codes).
    """

    fields: Mapping[str, FieldInfo | str]
    errors: list[str] = field(default_factory=list)
    editor: bool = False

    def __post_init__(self) -> None:
        known: dict[str, FieldInfo] = dict(BUILTIN_FIELDS)
        for key, info in self.fields.items():
            if key in BUILTIN_FIELDS:
                continue
            known[key] = info if isinstance(info, FieldInfo) else mapped_field(key, key, info)
        self.known = known

    def error(self, path: str, message: str, rule: Mapping[str, Any] | None = None) -> None:
        """Record a problem at ``path``; ``rule``: the (leaf) rule it is about."""
        number = rule_number(path)
        words = describe.rule_words(rule, self.known) if rule is not None else ""
        if not self.editor:
            text = f"{path}: {message}" if path else message
            if number and words:
                text = gettext("%(problem)s (rule %(number)s: “%(rule)s”)") % {
                    "problem": text,
                    "number": number,
                    "rule": words,
                }
        elif not number:
            text = message
        elif words:
            text = gettext("Rule %(number)s, “%(rule)s”: %(problem)s") % {
                "number": number,
                "rule": words,
                "problem": message,
            }
        elif rule is None and not path.endswith("]"):
            text = gettext("Group %(number)s: %(problem)s") % {"number": number, "problem": message}
        else:
            text = gettext("Rule %(number)s: %(problem)s") % {"number": number, "problem": message}
        self.errors.append(text)

    def op_name(self, op: str, info: FieldInfo | None) -> str:
        """An operator in a message: its code in a document, its label for an editor."""
        if not self.editor:
            return op
        return op_label(op, info.value_type if info is not None else "text")

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
                rule,
            )
        name, op = rule.get("field"), rule.get("op")
        info = None
        if not isinstance(name, str) or not name:
            self.error(f"{path}.field", gettext("missing (a mapped key or built-in field)"), rule)
        elif name not in self.known:
            self.error(
                f"{path}.field",
                gettext("%(name)s is not a mapped key or built-in field (%(fields)s)")
                % {"name": repr(name), "fields": ", ".join(sorted(BUILTIN_RULE_FIELDS))},
                rule,
            )
        else:
            info = self.known[name]
        if op not in OPS:
            self.error(
                f"{path}.op",
                gettext("%(op)s is not an operator (%(ops)s)")
                % {"op": repr(op), "ops": " ".join(OPS)},
                rule,
            )
            return dict(rule)
        shown = self.op_name(op, info)
        if info is not None and op not in info.ops:
            ops = (
                [op_label(o, info.value_type) for o in info.offered_ops]
                if self.editor
                else list(info.ops)
            )
            self.error(
                f"{path}.op",
                gettext("'%(op)s' does not apply to %(field)s (a %(type)s field; use %(ops)s)")
                % {
                    "op": shown,
                    "field": info.label,
                    "type": type_name(info.value_type),
                    "ops": ", ".join(ops),
                },
                rule,
            )
            info = None  # the value checks below would only repeat the mismatch
        normalised: dict[str, Any] = {"field": name, "op": op}
        if op in NO_VALUE_OPS:
            if rule.get("value") is not None:
                self.error(
                    f"{path}.value", gettext("'%(op)s' takes no value") % {"op": shown}, rule
                )
            return normalised
        # An unfinished rule ("Account Manager is [Choose…]") is refused, never read as blank.
        unfinished = op not in DAYS_OPS and is_blank(rule.get("value"))
        if unfinished and self.editor:
            self.errors.append(
                gettext("Rule %(number)s: “%(rule)s” needs a value.")
                % {"number": rule_number(path), "rule": describe.rule_words(rule, self.known)}
            )
            if "value" in rule:
                normalised["value"] = rule["value"]
            return normalised
        if "value" not in rule:
            self.error(
                f"{path}.value", gettext("missing (needed by '%(op)s')") % {"op": shown}, rule
            )
            return normalised
        value = rule["value"]
        problem = value_problem(op, value, name=shown)
        if problem is None and unfinished:
            if op in LIST_OPS:
                problem = gettext("'%(op)s' needs a non-empty list of values") % {"op": shown}
            else:
                problem = gettext("'%(op)s' needs a value (use 'blank' for an empty field)") % {
                    "op": shown
                }
        if problem is None and info is not None:
            problem = typed_value_problem(info, op, value, name=shown)
            if problem is None:
                value = normalise_value(info, op, value)
        if problem:
            self.error(f"{path}.value", problem, rule)
        normalised["value"] = value
        return normalised


def validate_rules(
    rules: Any,
    fields: Mapping[str, FieldInfo | str],
    *,
    match: Any = "all",
    path: str = "rules",
    editor: bool = False,
) -> list[dict[str, Any]]:
    """Check a segment's top-level rule list; returns it normalised or raises RuleError."""
    validator = RuleValidator(fields, editor=editor)
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
