"""Rule tree -> one database query over Contact (correct on SQLite and PostgreSQL).

Where a field is read:

* built-in fields (``email``, ``name``, ``source``, ``subscribed``...) are Contact columns;
* mapped keys with ``client_scope`` ``primary`` are read from ``Contact.data`` (the sync
  copies the primary client's mapped values there);
* mapped keys (and ``client_name``) with ``client_scope`` ``any`` are read from the linked
  clients: each rule becomes its own subquery (the contacts linked to a matching client), so
  "some linked client matches each rule" is spelled out in SQL rather than left to how joins
  happen to combine. Only active clients count (not archived, deleted or gone from XPM)
  unless the segment names ``is_archived``.

Values in the JSON ``data`` are read with small backend-specific functions (below) so that
text, numbers, booleans and lists behave the same on both backends; each compiled rule is
two-valued (never SQL NULL) where it matters, i.e. under a negation.

Text comparisons trim and lower-case both sides with the database's own ``LOWER`` (so the two
sides always fold alike; SQLite's folds ASCII letters only). Negative operators (``ne``,
``not_contains``, ``not_in``) include contacts whose value is blank.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import (
    F,
    Q,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.functions import Coalesce, Lower, NullIf, Substr, Trim
from django.db.models.lookups import (
    Contains,
    EndsWith,
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
    StartsWith,
)
from django.utils import timezone

from ..models import ContactClientLink, PracticeClient
from . import dates
from .catalogue import fields_for
from .jsonsql import JsonBoolean, JsonListHas, JsonNumber, JsonText
from .rules import is_group, names_field
from .vocabulary import (
    ARCHIVED_FIELD,
    FieldInfo,
    as_bool,
    as_date,
    as_month,
    as_number,
    mapped_field,
)

if TYPE_CHECKING:
    from ..models import Contact, Segment, XpmConnection

NEVER = Q(pk__in=[])


# --- compiling ------------------------------------------------------------------------------


def _folded(expression: Any) -> Any:
    return Lower(Trim(expression))


_EMPTY = Value("", output_field=TextField())


def _day(raw: Any) -> Any:
    """The first ten characters (an ISO date) of a value; NULL when blank."""
    return NullIf(
        Substr(Trim(raw, output_field=TextField()), 1, 10, output_field=TextField()),
        _EMPTY,
        output_field=TextField(),
    )


def _literal(value: Any) -> Any:
    """A comparison value folded by the database, exactly as the column side is."""
    return Lower(Value(str(value).strip(), output_field=TextField()))


@dataclass
class Target:
    """Where a rule reads a field: a model's JSON column for mapped keys, its columns else."""

    json_field: str = "data"
    # Built-in field name -> column on this model (client side: only client_name -> name).
    columns: dict[str, str] | None = None

    def column(self, info: FieldInfo) -> str | None:
        if not info.builtin:
            return None
        if self.columns is None:
            return info.column
        return self.columns.get(info.key)


CONTACT = Target()
CLIENT = Target(columns={"client_name": "name"})


class SegmentCompiler:
    """Turns a rule tree into a ``Q`` over Contact (see the module docstring).

    ``today`` fixes the date for date windows (tests); it defaults to the local date.
    """

    def __init__(
        self,
        *,
        fields: dict[str, FieldInfo],
        client_scope: str = "primary",
        include_archived_clients: bool = False,
        today: date | None = None,
    ) -> None:
        self.fields = fields
        self.client_scope = client_scope
        self.include_archived_clients = include_archived_clients
        self.today = today or timezone.localdate()

    # -- structure ---------------------------------------------------------------------------

    def tree(self, rules: Sequence[dict], match: str = "all", *, top: bool = True) -> Q:
        parts = [self.node(rule) for rule in rules or () if isinstance(rule, dict)]
        if not parts:
            # A segment without rules is everyone; an empty nested "any" group matches no one
            # (validation refuses empty groups; this only meets hand-edited data).
            return Q() if top or match == "all" else NEVER
        combined = parts[0]
        for part in parts[1:]:
            combined = (combined & part) if match == "all" else (combined | part)
        return combined

    def node(self, rule: dict) -> Q:
        if is_group(rule):
            return self.tree(rule.get("rules") or [], rule.get("match", "all"), top=False)
        return self.leaf(rule)

    def info(self, key: str) -> FieldInfo:
        # A key whose mapping was removed since the rule was saved is read as text.
        return self.fields.get(key) or mapped_field(key, key, "text")

    def reads_clients(self, info: FieldInfo) -> bool:
        return self.client_scope == "any" and info.per_client

    def leaf(self, rule: dict) -> Q:
        """One rule as a condition on Contact."""
        info = self.info(rule.get("field", ""))
        if self.reads_clients(info):
            return Q(pk__in=self.contacts_of_matching_clients(rule))
        return self.condition(info, rule.get("op", ""), rule.get("value"), CONTACT)

    def active_clients_q(self) -> Q:
        if self.include_archived_clients:
            return Q()
        return Q(is_archived=False, is_deleted=False, is_missing=False)

    def contacts_of_matching_clients(self, rule: dict) -> QuerySet:
        """The ids of contacts linked to a client (that counts) matching one rule.

        Not correlated with the contact: the matching clients are found by one scan of the
        practice's clients and their contacts read off the (client, contact) link index. Both
        databases may still run it as a nested loop (PostgreSQL flattens it into the same
        semi-join as an ``EXISTS`` and cannot estimate a JSON condition's selectivity); at
        100,000 contacts the count takes 180-260 ms (docs/benchmarks.md, "Admin at scale").
        Never NULL, so it stays two-valued under a negation."""

        info = self.info(rule.get("field", ""))
        matching = PracticeClient.objects.filter(
            self.active_clients_q(),
            self.condition(info, rule.get("op", ""), rule.get("value"), CLIENT),
        ).values("pk")
        return ContactClientLink.objects.filter(client__in=matching).values("contact_id")

    def client_condition(self, rule: dict) -> Q:
        """One rule as a condition on PracticeClient (explain shows it per client)."""
        info = self.info(rule.get("field", ""))
        return self.condition(info, rule.get("op", ""), rule.get("value"), CLIENT)

    # -- one rule ----------------------------------------------------------------------------

    def condition(self, info: FieldInfo, op: str, value: Any, target: Target) -> Q:
        column = target.column(info)
        if info.builtin and column is None:
            raise ValueError(f"{info.key} is not a field of linked clients")
        if info.value_type == "flag":
            return self._flag(column, op, value)
        if column is not None:
            text = _folded(F(column))
            raw: Any = F(column)
            return self._textual(info, op, value, text=text, raw=raw, json=None, target=target)
        json = JsonText(target.json_field, info.key)
        text = _folded(Coalesce(json, _EMPTY))
        if info.value_type == "list":
            return self._list(op, value, text=text, target=target, key=info.key)
        if info.value_type == "boolean" and op in ("eq", "ne"):
            return self._boolean(op, value, target, info.key)
        return self._textual(info, op, value, text=text, raw=json, json=info.key, target=target)

    def _flag(self, column: str, op: str, value: Any) -> Q:
        wanted = bool(as_bool(value))
        return Q(**{column: wanted if op == "eq" else not wanted})

    def _boolean(self, op: str, value: Any, target: Target, key: str) -> Q:
        wanted = bool(as_bool(value))
        equal = Q(Exact(JsonBoolean(target.json_field, key), wanted))
        if op == "eq":
            return equal
        # "is not Yes" includes blanks (NULL) explicitly: NOT NULL would drop them.
        return Q(IsNull(JsonBoolean(target.json_field, key), True)) | ~equal

    def _list(self, op: str, value: Any, *, text: Any, target: Target, key: str) -> Q:
        if op in ("blank", "not_blank"):
            blank = Q(Exact(text, "")) | Q(Exact(text, "[]"))
            return blank if op == "blank" else ~blank
        values = value if isinstance(value, list) else [value]
        has = Q(JsonListHas(target.json_field, key, values))
        if op in ("contains", "eq", "in"):
            return has
        if op in ("not_contains", "ne", "not_in"):
            return ~has
        raise ValueError(f"'{op}' does not apply to lists")

    def _textual(
        self, info: FieldInfo, op: str, value: Any, *, text: Any, raw: Any, json: str | None,
        target: Target,
    ) -> Q:  # fmt: skip
        """Text, choice, month, number and date fields (and built-in text columns)."""
        value_type = info.value_type
        if op in ("blank", "not_blank"):
            blank = Q(Exact(text, ""))
            if json is not None:
                blank |= Q(Exact(text, "[]"))
            return blank if op == "blank" else ~blank
        if value_type == "number" and json is not None:
            return self._number(op, value, JsonNumber(target.json_field, json))
        if value_type == "month":
            if op == "within_next_days":
                return self._text_in(text, dates.months_due_within_next(int(value), self.today))
            if op == "within_last_days":
                return self._text_in(text, dates.months_due_within_last(int(value), self.today))
            if op in ("eq", "ne", "in", "not_in"):
                items = value if isinstance(value, list) else [value]
                value = [as_month(v) or v for v in items] if op in ("in", "not_in") else (
                    as_month(value) or value
                )  # fmt: skip
        if value_type == "date" or op in ("before", "after", "within_next_days",
                                          "within_last_days"):  # fmt: skip
            day = _day(raw)
            dated = self._date(op, value, day)
            if dated is not None:
                return dated
        if op in ("gt", "gte", "lt", "lte"):
            number = as_number(value)
            if number is not None and json is not None:
                return self._number(op, number, JsonNumber(target.json_field, json))
            if as_date(value) is not None:
                day = _day(raw)
                return self._compare(op, day, Value(as_date(value).isoformat()))
            return self._compare(
                op, NullIf(text, _EMPTY, output_field=TextField()), _literal(value)
            )
        if op == "eq":
            return Q(Exact(text, _literal(value)))
        if op == "ne":
            return ~Q(Exact(text, _literal(value)))
        if op == "in":
            return self._text_in(text, value)
        if op == "not_in":
            return ~self._text_in(text, value)
        if op in ("contains", "not_contains"):
            found = Q(Contains(text, _literal(value)))
            return found if op == "contains" else ~found
        if op == "starts_with":
            return Q(StartsWith(text, _literal(value)))
        if op == "ends_with":
            return Q(EndsWith(text, _literal(value)))
        raise ValueError(f"'{op}' does not apply to {info.label}")

    def _text_in(self, text: Any, values: Sequence[Any]) -> Q:
        # One IN list: the value is extracted once per row, not once per item.
        items = list(dict.fromkeys(str(v).strip() for v in values or ()))
        if not items:
            return NEVER
        return Q(In(text, [_literal(item) for item in items]))

    def _number(self, op: str, value: Any, number: Any) -> Q:
        if op in ("in", "not_in"):
            found = NEVER
            for item in value or ():
                parsed = as_number(item)
                if parsed is not None:
                    found |= Q(Exact(number, float(parsed)))
            return found if op == "in" else Q(IsNull(number, True)) | ~found
        parsed = as_number(value)
        if parsed is None:
            return NEVER if op != "ne" else Q()
        if op == "eq":
            return Q(Exact(number, float(parsed)))
        if op == "ne":
            return Q(IsNull(number, True)) | ~Q(Exact(number, float(parsed)))
        return self._compare(op, number, Value(float(parsed)))

    def _date(self, op: str, value: Any, day: Any) -> Q | None:
        today = self.today
        if op == "within_next_days":
            end = today + timedelta(days=int(value))
            return self._between(day, today, end)
        if op == "within_last_days":
            start = today - timedelta(days=int(value))
            return self._between(day, start, today)
        parsed = as_date(value)
        if parsed is None:
            return None
        if op == "before":
            return Q(LessThan(day, Value(parsed.isoformat())))
        if op == "after":
            return Q(GreaterThan(day, Value(parsed.isoformat())))
        if op in ("gt", "gte", "lt", "lte"):
            return self._compare(op, day, Value(parsed.isoformat()))
        return None  # eq / ne compare the text

    @staticmethod
    def _between(day: Any, start: date, end: date) -> Q:
        return Q(GreaterThanOrEqual(day, Value(start.isoformat()))) & Q(
            LessThanOrEqual(day, Value(end.isoformat()))
        )

    @staticmethod
    def _compare(op: str, lhs: Any, rhs: Any) -> Q:
        lookup = {
            "gt": GreaterThan, "gte": GreaterThanOrEqual, "lt": LessThan, "lte": LessThanOrEqual,
        }[op]  # fmt: skip
        return Q(lookup(lhs, rhs))


# --- the public entry points ----------------------------------------------------------------


@dataclass(frozen=True)
class Definition:
    """A segment's rule tree, saved or being edited."""

    rules: list
    match: str = "all"
    client_scope: str = "primary"

    @classmethod
    def of(cls, segment: Segment) -> Definition:
        return cls(
            rules=list(segment.rules or []),
            match=segment.match or "all",
            client_scope=segment.client_scope or "primary",
        )

    @property
    def names_archived(self) -> bool:
        return names_field(self.rules, ARCHIVED_FIELD)


def compiler_for(
    connection: XpmConnection, definition: Definition, *, today: date | None = None
) -> SegmentCompiler:
    return SegmentCompiler(
        fields=fields_for(connection),
        client_scope=definition.client_scope,
        include_archived_clients=definition.names_archived,
        today=today,
    )


def members(
    connection: XpmConnection,
    definition: Definition,
    *,
    include_archived: bool = False,
    today: date | None = None,
) -> QuerySet[Contact]:
    """The contacts matching ``definition``: one query, nothing evaluated yet.

    Contacts flagged ``is_archived`` (all their XPM clients archived) are left out unless a
    rule names ``is_archived`` or ``include_archived`` asks for them (the campaign snapshot
    does, to report them as left out).
    """
    from ..models import Contact

    condition = compiler_for(connection, definition, today=today).tree(
        definition.rules, definition.match
    )
    queryset = Contact.objects.filter(connection=connection).filter(condition)
    if not (definition.names_archived or include_archived):
        queryset = queryset.filter(is_archived=False)
    return queryset


def segment_queryset(
    segment: Segment, *, include_archived: bool = False, today: date | None = None
) -> QuerySet[Contact]:
    """A saved segment's members (see :func:`members`)."""
    return members(
        segment.connection, Definition.of(segment), include_archived=include_archived, today=today
    )
