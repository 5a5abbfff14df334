"""The fields of one practice that rules may name: the built-ins and its mapped keys, each with
its type and label (:func:`fields_for`), and with the values offered for it (:func:`catalogue`):
a custom field's dropdown, the months, the staff list for staff fields, the values synced.

The admin builder's field list and the Slack bot's parser read the same catalogue.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from django.db.models.functions import Lower

from .. import fieldvalues
from ..models import FieldMapping, PracticeClient, PracticeStaff
from .vocabulary import BUILTIN_FIELDS, MONTHS, FieldInfo, mapped_field

if TYPE_CHECKING:
    from ..models import XpmConnection

# XPM elements whose values are staff names: "Account Manager = John" means a staff member.
STAFF_SOURCES = frozenset({"AccountManager", "JobManager"})
_STAFF_SOURCES_FOLDED = frozenset(s.casefold() for s in STAFF_SOURCES)
# Beyond this many distinct values a dropdown stops helping; the builder offers a text box
# with suggestions instead, and the parser no longer says "no such value".
MAX_OFFERED_VALUES = 200


def is_staff_source(source: str) -> bool:
    return (source or "").casefold() in _STAFF_SOURCES_FOLDED


def _mappings(connection: XpmConnection) -> list[FieldMapping]:
    return list(FieldMapping.objects.filter(connection=connection).order_by("sort_order", "pk"))


def _fields(mappings: list[FieldMapping]) -> dict[str, FieldInfo]:
    fields = dict(BUILTIN_FIELDS)
    for mapping in mappings:
        if mapping.key not in fields:
            fields[mapping.key] = mapped_field(
                mapping.key, mapping.label, mapping.value_type, mapping.choices
            )
    return fields


def fields_for(connection: XpmConnection) -> dict[str, FieldInfo]:
    """The built-in fields and the connection's mapped keys, in the editor's order (one
    query; no values: what validation and the segment query need)."""
    return _fields(_mappings(connection))


def distinct_values(
    connection: XpmConnection, key: str, mapping: FieldMapping | None = None
) -> list[str]:
    """The values synced for mapped ``key``, as text, list items apart (from the clients, so
    "any client" values are there too, and the contacts), sorted case-insensitively.

    Read from the values kept on the mapping (wagtail_xpm/fieldvalues.py: refreshed by each
    sync), not from a scan of the practice on every request."""
    if mapping is None:
        mapping = FieldMapping.objects.filter(connection=connection, key=key).first()
        if mapping is None:
            return []
    kept = fieldvalues.values_of(mapping)
    found = {*(kept.get("clients") or ()), *(kept.get("contacts") or ())}
    return sorted(found, key=str.casefold)


def offered_values(
    connection: XpmConnection,
    info: FieldInfo,
    source: str = "",
    mapping: FieldMapping | None = None,
) -> tuple[list[str], bool]:
    """(values, complete) offered for a field: the mapping's choices (a custom field's
    dropdown, the months), the staff list for staff fields, then the values synced."""
    if info.value_type in ("boolean", "flag"):
        return [], True
    if info.value_type == "month":
        return list(MONTHS), True
    if info.builtin:
        if info.key == "source":
            return [str(label) for label in info.choices], True
        if info.key == "client_name":
            names = list(
                PracticeClient.objects.filter(connection=connection)
                .exclude(name="")
                .order_by(Lower("name"))
                .values_list("name", flat=True)
                .distinct()[: MAX_OFFERED_VALUES + 1]
            )
            return names[:MAX_OFFERED_VALUES], len(names) <= MAX_OFFERED_VALUES
        return [], False
    values = {str(c) for c in info.choices}
    if is_staff_source(source):
        # The staff list (once read) plus names synced before someone left the practice.
        values.update(
            PracticeStaff.objects.filter(connection=connection, is_current=True)
            .exclude(name="")
            .values_list("name", flat=True)
        )
    values.update(distinct_values(connection, info.key, mapping))
    ordered = sorted(values, key=str.casefold)
    if info.choices:
        order = {c: i for i, c in enumerate(info.choices)}
        ordered.sort(key=lambda v: (order.get(v, len(order)), v.casefold()))
    complete = len(ordered) <= MAX_OFFERED_VALUES
    return ordered[:MAX_OFFERED_VALUES], complete


def catalogue(connection: XpmConnection) -> list[FieldInfo]:
    """Every field of the connection (built-ins first, then the mappings in their order) with
    ``values`` and ``values_complete`` filled in."""
    mappings = _mappings(connection)
    by_key = {m.key: m for m in mappings}
    entries = []
    for info in _fields(mappings).values():
        mapping = by_key.get(info.key) if not info.builtin else None
        source = mapping.source if mapping is not None else ""
        values, complete = offered_values(connection, info, source, mapping)
        entries.append(dataclasses.replace(info, values=tuple(values), values_complete=complete))
    return entries
