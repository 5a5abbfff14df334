"""Where the bot counts, validates and saves segments (and touches the Segment model).

The segment language itself (:mod:`wagtail_xpm.segments.parse`, ``describe``, ``vocabulary``)
the bot uses directly. Fields for the parser are the language's catalogue of the connection
(the same fields, types and offered values as the admin builder's); counting, sampling,
validating and saving go through the segments package's public functions. If the segments
feature is not installed, :func:`available` is False and every segment call raises
:class:`SegmentsUnavailable`, which the commands turn into a sentence.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from wagtail_xpm import privacy
from wagtail_xpm.segments.catalogue import catalogue
from wagtail_xpm.segments.vocabulary import FieldInfo

from .data import ContactEntry, SegmentEntry

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from wagtail_xpm.models import Contact, XpmConnection

logger = logging.getLogger(__name__)

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


def fields_for(connection: XpmConnection) -> list[FieldInfo]:
    """The connection's mapped fields (the firm's words, first) and the built-ins, with the
    values offered for each."""
    key = f"slackbot:fields:{connection.pk}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    # The firm's own fields first: menus and hints lead with them.
    fields = sorted(catalogue(connection), key=lambda info: info.builtin)
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
    connection: XpmConnection,
    match: str,
    rules: Sequence[dict[str, Any]],
    *,
    user: AbstractBaseUser | None = None,
) -> list[dict[str, Any]]:
    """The rules as the segments package normalises them; SegmentRuleError if it refuses
    (its messages name the rules as they read), or if ``user`` may not compare tax numbers
    with values (docs/privacy.md, "Tax numbers")."""
    _, rules_module, _ = _segments()
    fields = rules_module.fields_for(connection)
    try:
        normalised = rules_module.validate_rules(list(rules), fields, match=match, editor=True)
    except rules_module.RuleError as exc:
        raise SegmentRuleError(list(exc.errors)) from exc
    if user is not None:
        hidden = privacy.hidden_keys(connection.pk, user, connection.site_id)
        labels = {key: info.label for key, info in fields.items()}
        errors = privacy.tax_rule_errors(normalised, hidden, labels)
        if errors:
            raise SegmentRuleError(errors)
    return normalised


def count(
    connection: XpmConnection,
    match: str,
    rules: Sequence[dict[str, Any]],
    *,
    client_scope: str = "primary",
    sample: int = 5,
    user: AbstractBaseUser | None = None,
) -> Counted:
    """How many contacts match now, and the first few (by name)."""
    compile_, _, _ = _segments()
    normalised = validate(connection, match, rules, user=user)
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
    normalised = validate(connection, match, rules, user=user)
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
