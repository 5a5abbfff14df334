"""The one place the bot touches ``wagtail_xpm.segments`` (and the Segment model).

Fields for the expression parser come from the connection's field mappings (always there);
counting, sampling, validating and saving go through the segments package's public
functions. If the segments feature is not installed, :func:`available` is False and every
segment call raises :class:`SegmentsUnavailable`, which the commands turn into a sentence.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from wagtail_xpm.models import FieldMapping, PracticeClient, PracticeStaff

from .data import ContactEntry, SegmentEntry
from .expressions import MONTHS, Field, with_builtins

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from wagtail_xpm.models import Contact, XpmConnection

logger = logging.getLogger(__name__)

# XPM fields whose values are staff names: "Account Manager = John" means a staff member.
STAFF_SOURCES = frozenset({"accountmanager", "jobmanager"})
# Known values offered for a field without its own choices (distinct synced values).
MAX_KNOWN_VALUES = 200
FIELDS_CACHE_SECONDS = 60


class SegmentsUnavailable(RuntimeError):
    """The segments feature is not installed in this project."""


class SegmentRuleError(ValueError):
    """The segments package refused the rules; ``errors`` are its messages."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


class DuplicateSegmentName(ValueError):
    """A segment of this connection already has that name (names are case-insensitive)."""


def _segments() -> tuple[Any, Any, Any]:
    """(compile module, rules module, Segment model), or SegmentsUnavailable."""
    try:
        from wagtail_xpm.models import Segment
        from wagtail_xpm.segments import compile as compile_
        from wagtail_xpm.segments import rules
    except ImportError as exc:  # the feature is optional for the bot
        raise SegmentsUnavailable(
            _("Segments are not available on this site yet, so I can't count contacts.")
        ) from exc
    return compile_, rules, Segment


def available() -> bool:
    try:
        _segments()
    except SegmentsUnavailable:
        return False
    return True


# --- fields for the parser ------------------------------------------------------------------


def _synced_values(connection: XpmConnection, key: str) -> tuple[str, ...]:
    """The distinct text values a sync stored for ``key`` (what people will type)."""
    values = (
        PracticeClient.objects.filter(connection=connection)
        .exclude(**{f"data__{key}__isnull": True})
        .values_list(f"data__{key}", flat=True)
        .distinct()[:MAX_KNOWN_VALUES]
    )
    return tuple(sorted({str(v) for v in values if isinstance(v, str) and v.strip()}))


def _known_values(connection: XpmConnection, mapping: FieldMapping) -> tuple[str, ...]:
    if mapping.choices:
        return tuple(str(c) for c in mapping.choices if str(c).strip())
    if mapping.value_type == "month":
        return MONTHS
    if mapping.source.casefold() in STAFF_SOURCES:
        # The staff list (once read) plus names synced before someone left the practice.
        names = PracticeStaff.objects.filter(connection=connection, is_current=True)
        staff = {n for n in names.values_list("name", flat=True) if n}
        return tuple(sorted(staff | set(_synced_values(connection, mapping.key))))
    if mapping.value_type == "choice":
        return _synced_values(connection, mapping.key)
    return ()


def fields_for(connection: XpmConnection) -> list[Field]:
    """The connection's mapped fields (with the values people pick from) and the built-ins."""
    key = f"slackbot:fields:{connection.pk}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    mapped = [
        Field(
            key=mapping.key,
            label=mapping.label or mapping.key,
            value_type=mapping.value_type or "text",
            choices=_known_values(connection, mapping),
        )
        for mapping in FieldMapping.objects.filter(connection=connection).order_by(
            "sort_order", "pk"
        )
    ]
    fields = with_builtins(mapped)
    # Short: the builder asks on every keystroke, and a new mapping shows up within a minute.
    cache.set(key, fields, FIELDS_CACHE_SECONDS)
    return fields


# --- counting and saving --------------------------------------------------------------------


@dataclass(frozen=True)
class Counted:
    count: int
    sample: tuple[ContactEntry, ...]
    rules: list[dict[str, Any]]


def validate(
    connection: XpmConnection, match: str, rules: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rules as the segments package normalises them; SegmentRuleError if it refuses."""
    _, rules_module, _ = _segments()
    try:
        return rules_module.validate_rules(
            list(rules), rules_module.fields_for(connection), match=match
        )
    except rules_module.RuleError as exc:
        raise SegmentRuleError(list(exc.errors)) from exc


def count(
    connection: XpmConnection,
    match: str,
    rules: Sequence[dict[str, Any]],
    *,
    client_scope: str = "primary",
    sample: int = 5,
) -> Counted:
    """How many contacts match now, and the first few (by name)."""
    compile_, _, _ = _segments()
    normalised = validate(connection, match, rules)
    definition = compile_.Definition(rules=normalised, match=match, client_scope=client_scope)
    queryset = compile_.members(connection, definition)
    total = queryset.count()
    rows = queryset.order_by("name", "pk").values("name", "email", "client_name")[:sample]
    entries = tuple(
        ContactEntry(name=r["name"] or "", email=r["email"] or "", client_name=r["client_name"])
        for r in rows
    )
    return Counted(total, entries, normalised)


def name_taken(connection: XpmConnection, name: str) -> bool:
    _, _, segment_model = _segments()
    return segment_model.objects.filter(connection=connection, name__iexact=name.strip()).exists()


def save(
    connection: XpmConnection,
    *,
    name: str,
    match: str,
    rules: Sequence[dict[str, Any]],
    client_scope: str,
    user: AbstractBaseUser | None,
    description: str = "",
) -> int:
    """Create the segment; returns its id. DuplicateSegmentName / SegmentRuleError."""
    _, _, segment_model = _segments()
    normalised = validate(connection, match, rules)
    name = name.strip()
    if name_taken(connection, name):
        raise DuplicateSegmentName(name)
    try:
        with transaction.atomic():
            segment = segment_model.objects.create(
                connection=connection,
                name=name,
                description=description,
                client_scope=client_scope,
                match=match,
                rules=normalised,
                created_by=user if user is not None and user.pk else None,
            )
    except IntegrityError as exc:  # saved by someone else a moment ago
        raise DuplicateSegmentName(name) from exc
    return segment.pk


def saved_segments(connection: XpmConnection, *, limit: int = 50) -> list[SegmentEntry]:
    """Saved segments with their member counts now."""
    compile_, _, segment_model = _segments()
    entries = []
    for segment in segment_model.objects.filter(connection=connection).order_by("name")[:limit]:
        try:
            total: int | None = compile_.segment_queryset(segment).count()
        except Exception:  # noqa: BLE001 - one broken segment must not hide the others
            logger.exception("Segment %s could not be counted", segment.pk)
            total = None
        entries.append(SegmentEntry(segment.name, total, segment.description))
    return entries


def segments_of(contact: Contact) -> tuple[str, ...] | None:
    """Names of the saved segments the contact is in now (None without segments)."""
    try:
        compile_, _, segment_model = _segments()
    except SegmentsUnavailable:
        return None
    names = []
    for segment in segment_model.objects.filter(connection_id=contact.connection_id).order_by(
        "name"
    ):
        try:
            member = compile_.segment_queryset(segment).filter(pk=contact.pk).exists()
        except Exception:  # noqa: BLE001 - a broken segment is left out, not fatal
            logger.exception("Segment %s could not be evaluated", segment.pk)
            member = False
        if member:
            names.append(segment.name)
    return tuple(names)
