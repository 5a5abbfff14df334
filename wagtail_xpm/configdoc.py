"""The version-1 mapping and segment document (docs/contracts.md 4.3) that ``xpm_config`` reads and
writes.

Mappings are ``FieldMapping`` rows and segments are ``Segment`` rows (their rules are checked
by :mod:`wagtail_xpm.segments.rules`, the same validation the segment builder uses). The lead
owner and category are resolved by name or UUID against the practice's staff and lead
categories and stored in the site's ``XpmSiteSettings`` (:mod:`wagtail_xpm.leads.configsection`).

Import merges: mappings match by ``key`` and segments by ``name`` (case-insensitively) and are
updated in place; nothing missing from the document is deleted. A document with any error is
refused whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from . import audit, limits
from .leads import configsection as lead_section
from .models import FieldMapping, PracticeCustomField, Segment, XpmConnection
from .models.mapping import CUSTOM_PREFIX, key_problem, key_validator
from .segments.rules import (
    RuleValidator,
    mapped_field,
)
from .sync.mapping import STANDARD_BY_SOURCE, custom_value_type

VERSION = 1
TOP_LEVEL_KEYS = ("version", "mappings", "segments", "leads")
MAPPING_KEYS = ("source", "key", "label")
LEADS_KEYS = ("owner", "category")

MAX_TEXT = 255
ELEMENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# The unique (connection, source) rule holds after every statement, so sources that move
# between keys in one import are parked on a placeholder first.
PARKED_SOURCE = "__xpm_config_import__:{pk}"


class ConfigDocumentError(ValueError):
    """The document is invalid; nothing was imported. ``errors`` lists every problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


@dataclass
class ImportResult:
    """What an import did, by mapping key and segment name."""

    mappings_created: list[str] = field(default_factory=list)
    mappings_updated: list[str] = field(default_factory=list)
    mappings_unchanged: list[str] = field(default_factory=list)
    mappings_reordered: bool = False
    segments_created: list[str] = field(default_factory=list)
    segments_updated: list[str] = field(default_factory=list)
    segments_unchanged: list[str] = field(default_factory=list)
    leads_updated: bool = False

    @property
    def created(self) -> int:
        return len(self.mappings_created) + len(self.segments_created)

    @property
    def updated(self) -> int:
        return len(self.mappings_updated) + len(self.segments_updated) + int(self.leads_updated)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.mappings_reordered)

    def lines(self) -> list[str]:
        """A human summary, one line per section."""

        def names(items: list[str]) -> str:
            return f" ({', '.join(items)})" if items else ""

        lines = [
            f"Mappings: {len(self.mappings_created)} created{names(self.mappings_created)}, "
            f"{len(self.mappings_updated)} updated{names(self.mappings_updated)}, "
            f"{len(self.mappings_unchanged)} unchanged"
            + ("; order changed" if self.mappings_reordered else ""),
            f"Segments: {len(self.segments_created)} created{names(self.segments_created)}, "
            f"{len(self.segments_updated)} updated{names(self.segments_updated)}, "
            f"{len(self.segments_unchanged)} unchanged",
        ]
        if self.leads_updated:
            lines.append("Lead settings updated.")
        return lines


# --- export ---------------------------------------------------------------------------------


def export_document(connection: XpmConnection) -> dict[str, Any]:
    """The connection's mappings, segments and lead settings as a version-1 document."""
    mappings = FieldMapping.objects.filter(connection=connection).order_by("sort_order", "pk")
    # Read the extras from the database: the caller's instance may predate an import.
    extras = (
        XpmConnection.objects.filter(pk=connection.pk)
        .values_list("config_extras", flat=True)
        .first()
    ) or {}
    segments = Segment.objects.filter(connection=connection).order_by("pk")
    return {
        "version": VERSION,
        "mappings": [{"source": m.source, "key": m.key, "label": m.label} for m in mappings],
        "segments": [segment.as_document() for segment in segments],
        # Entries an import could not check yet (site not connected) wait in the extras.
        "leads": lead_section.export(connection, legacy=extras.get("leads")),
    }


# --- import ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """A mapping source resolved against the practice's custom field definitions."""

    source: str  # as stored: standard elements in XPM's spelling, custom refs as given
    identity: str  # two sources with the same identity read the same XPM field
    value_type: str
    choices: tuple[str, ...]
    default_label: str


@dataclass(frozen=True)
class _Mapping:
    key: str
    source: _Source
    label: str


class _CustomFields:
    """The connection's custom field definitions, found by UUID or by name."""

    def __init__(self, rows: Iterable[PracticeCustomField]) -> None:
        self.by_uuid: dict[str, PracticeCustomField] = {}
        self.by_name: dict[str, PracticeCustomField] = {}
        # Current definitions win over retired ones with the same name.
        for row in sorted(rows, key=lambda r: r.is_current):
            self.by_uuid[row.uuid.lower()] = row
            self.by_name[row.name.strip().casefold()] = row

    def find(self, ref: str) -> PracticeCustomField | None:
        return self.by_uuid.get(ref.lower()) or self.by_name.get(ref.casefold())


def resolve_source(raw: str, custom_fields: _CustomFields) -> _Source | None:
    """What a mapping ``source`` reads, or None when it names no XPM field."""
    raw = raw.strip()
    if raw[: len(CUSTOM_PREFIX)].lower() == CUSTOM_PREFIX:
        ref = raw[len(CUSTOM_PREFIX) :].strip()
        if not ref:
            return None
        definition = custom_fields.find(ref)
        if definition is None:
            # Allowed: the definitions may not have been read yet; typed as text for now.
            return _Source(f"{CUSTOM_PREFIX}{ref}", f"custom:{ref.casefold()}", "text", (), ref)
        return _Source(
            f"{CUSTOM_PREFIX}{ref}",
            f"custom:{definition.uuid.lower()}",
            custom_value_type(
                {"value_element": definition.value_element, "options": definition.options}
            ),
            tuple(str(o) for o in definition.options or ()),
            definition.name,
        )
    standard = STANDARD_BY_SOURCE.get(raw.lower())
    if standard is not None:
        return _Source(
            standard.source, standard.source.lower(), standard.value_type,
            tuple(standard.choices), standard.label,
        )  # fmt: skip
    if ELEMENT_NAME.match(raw):
        # Any other client element is read as text (the mapper can address every element).
        return _Source(raw, raw.lower(), "text", (), raw)
    return None


class _Validator:
    """Checks a whole document and normalises it; collects every error it finds."""

    def __init__(self, connection: XpmConnection) -> None:
        self.connection = connection
        self.errors: list[str] = []
        self.custom_fields = _CustomFields(
            PracticeCustomField.objects.filter(connection=connection)
        )
        self.mappings: list[_Mapping] = []
        self.segments: list[dict[str, Any]] | None = None
        self.leads: lead_section.LeadChoices | None = None

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}" if path else message)

    # -- the document ----------------------------------------------------------------------

    def validate(self, doc: Any) -> None:
        if not isinstance(doc, dict):
            self.error("", f"the document must be a JSON object, not {_kind(doc)}")
            return
        unknown = [k for k in doc if k not in TOP_LEVEL_KEYS]
        if unknown:
            self.error(
                str(unknown[0]),
                f"unknown section (expected {', '.join(TOP_LEVEL_KEYS)})",
            )
        version = doc.get("version")
        if "version" not in doc:
            self.error("version", f"missing (this is version {VERSION} of the format)")
        elif type(version) is not int or version != VERSION:
            self.error(
                "version",
                f"{version!r} is not supported (this importer reads version {VERSION})",
            )
        if "mappings" in doc:
            self._mappings(doc["mappings"])
        if "segments" in doc:
            self.segments = self._segments(doc["segments"])
        if "leads" in doc:
            self.leads = self._leads(doc["leads"])

    # -- mappings --------------------------------------------------------------------------

    def _mappings(self, entries: Any) -> None:
        if not isinstance(entries, list):
            self.error("mappings", f"must be a list, not {_kind(entries)}")
            return
        seen_keys: dict[str, int] = {}
        seen_sources: dict[str, int] = {}
        for index, entry in enumerate(entries):
            path = f"mappings[{index}]"
            if not isinstance(entry, dict):
                self.error(
                    path, f"must be an object with source, key and label, not {_kind(entry)}"
                )
                continue
            for name in entry:
                if name not in MAPPING_KEYS:
                    self.error(f"{path}.{name}", "unknown field (expected source, key, label)")
            key = self._mapping_key(entry.get("key"), f"{path}.key")
            source = self._mapping_source(entry.get("source"), f"{path}.source")
            label = entry.get("label")
            if label is not None and (not isinstance(label, str) or len(label) > MAX_TEXT):
                self.error(f"{path}.label", f"must be text of at most {MAX_TEXT} characters")
                label = None
            if key is not None:
                if key in seen_keys:
                    self.error(
                        f"{path}.key", f"{key!r} is used twice (also mappings[{seen_keys[key]}])"
                    )
                    key = None
                else:
                    seen_keys[key] = index
            if source is not None:
                if source.identity in seen_sources:
                    self.error(
                        f"{path}.source",
                        f"{source.source!r} is mapped twice "
                        f"(also mappings[{seen_sources[source.identity]}])",
                    )
                    source = None
                else:
                    seen_sources[source.identity] = index
            if key is not None and source is not None:
                self.mappings.append(
                    _Mapping(
                        key=key, source=source, label=(label or "").strip() or source.default_label
                    )
                )

    def _mapping_key(self, key: Any, path: str) -> str | None:
        if key is None:
            self.error(path, "missing")
            return None
        if not isinstance(key, str):
            self.error(path, f"must be text, not {_kind(key)}")
            return None
        try:
            key_validator(key)
        except ValidationError:
            if not re.fullmatch(r"[a-z0-9_]+", key):
                hint = "use lower-case letters, digits and underscores"
            elif not key[0].isalpha():
                hint = "start with a letter"
            else:
                hint = "at most 63 characters"
            self.error(path, f"{key!r} is not a valid key ({hint})")
            return None
        problem = key_problem(key)
        if problem == "reserved":
            self.error(path, f"{key!r} is reserved for a built-in contact field")
            return None
        if problem == "lookup":
            self.error(path, f"{key!r} is a database lookup name; choose another key")
            return None
        if problem == "double_underscore":
            self.error(path, f"{key!r} contains '__' (use single underscores)")
            return None
        return key

    def _mapping_source(self, source: Any, path: str) -> _Source | None:
        if source is None:
            self.error(path, "missing")
            return None
        if not isinstance(source, str) or len(source) > MAX_TEXT:
            self.error(path, f"must be text of at most {MAX_TEXT} characters")
            return None
        resolved = resolve_source(source, self.custom_fields)
        if resolved is None:
            self.error(
                path,
                f"{source!r} is not an XPM client element name (such as AccountManager) "
                "or custom:<custom field name>",
            )
        return resolved

    # -- segments --------------------------------------------------------------------------

    def _segments(self, entries: Any) -> list[dict[str, Any]] | None:
        if not isinstance(entries, list):
            self.error("segments", f"must be a list, not {_kind(entries)}")
            return None
        # Rules may name the built-in fields, the keys this site already maps and the
        # document's own keys (typed as the document maps them).
        fields = {
            row.key: mapped_field(row.key, row.label, row.value_type, row.choices)
            for row in FieldMapping.objects.filter(connection=self.connection)
        }
        for mapping in self.mappings:
            fields[mapping.key] = mapped_field(
                mapping.key, mapping.label, mapping.source.value_type, mapping.source.choices
            )
        rules = RuleValidator(fields)
        segments, names = [], {}
        for index, entry in enumerate(entries):
            path = f"segments[{index}]"
            segment = rules.segment(entry, path)
            if segment is None:
                continue
            name = segment["name"]
            if name is not None and len(name) <= MAX_TEXT:
                folded = name.casefold()
                if folded in names:
                    rules.error(
                        f"{path}.name", f"{name!r} is used twice (also segments[{names[folded]}])"
                    )
                names[folded] = index
            segments.append(segment)
        self.errors.extend(rules.errors)
        return segments

    # -- leads -----------------------------------------------------------------------------

    def _leads(self, leads: Any) -> lead_section.LeadChoices | None:
        if not isinstance(leads, dict):
            self.error("leads", f"must be an object with owner and category, not {_kind(leads)}")
            return None
        normalised = {}
        for name, value in leads.items():
            if name not in LEADS_KEYS:
                self.error(f"leads.{name}", "unknown field (expected owner, category)")
            elif not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
                self.error(
                    f"leads.{name}", "must be a staff/category name or UUID (non-empty text)"
                )
            else:
                normalised[name] = value.strip()
        choices, errors = lead_section.resolve(self.connection, normalised)
        for path, message in errors:
            self.error(path, message)
        return choices


def _kind(value: Any) -> str:
    return {
        dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null",
        int: "a number", float: "a number",
    }.get(type(value), type(value).__name__)  # fmt: skip


def _read_lead_references(
    connection: XpmConnection, doc: Any, client_factory: lead_section.ClientFactory | None
) -> None:
    """Staff and lead categories the ``leads`` section names, read from XPM if not known
    yet (before any transaction: it may call XPM)."""
    if isinstance(doc, dict) and isinstance(doc.get("leads"), dict):
        section = {k: v for k, v in doc["leads"].items() if isinstance(v, str) and v.strip()}
        if client_factory is not None:
            lead_section.refresh_if_unknown(connection, section, client_factory=client_factory)


def _check_conflicts(validator: _Validator, connection: XpmConnection) -> None:
    """A source already mapped to a key the document does not mention cannot move."""
    doc_keys = {m.key for m in validator.mappings}
    by_identity = {}
    for row in FieldMapping.objects.filter(connection=connection):
        resolved = resolve_source(row.source, validator.custom_fields)
        if resolved is not None:
            by_identity[resolved.identity] = row
    for index, mapping in enumerate(validator.mappings):
        holder = by_identity.get(mapping.source.identity)
        if holder is not None and holder.key != mapping.key and holder.key not in doc_keys:
            validator.error(
                f"mappings[{index}].source",
                f"{mapping.source.source!r} is already mapped to {holder.key!r} on this site "
                f"(use key {holder.key!r}, or also list {holder.key!r} with another source)",
            )


def import_document(
    connection: XpmConnection,
    doc: Any,
    *,
    client_factory: lead_section.ClientFactory | None = None,
    user: Any = None,
) -> ImportResult:
    """Merge a version-1 document into ``connection``: all of it, or nothing.

    A change is logged in Wagtail's audit log (``MAPPING_CHANGE`` on the connection, by
    ``user``: None from the ``xpm_config`` command).

    Raises ConfigDocumentError (naming every bad entry) without writing anything. With a
    ``client_factory``, staff and lead categories the ``leads`` section names but the local
    lists do not know are read from XPM first; without one, only the local lists are used.
    """
    try:
        # Sizes first (entries, rules, lists, values), without recursion (limits.py).
        limits.check_document(doc)
    except limits.LimitExceeded as exc:
        raise ConfigDocumentError([str(exc)]) from None
    _read_lead_references(connection, doc, client_factory)
    with transaction.atomic():
        # One import at a time per connection: the row lock serialises the merges.
        locked = XpmConnection.objects.select_for_update().get(pk=connection.pk)
        validator = _Validator(locked)
        validator.validate(doc)
        _check_conflicts(validator, locked)
        if validator.errors:
            raise ConfigDocumentError(validator.errors)
        result = ImportResult()
        if "mappings" in doc:
            _write_mappings(locked, validator.mappings, result)
        if validator.segments is not None:
            _write_segments(locked, validator.segments, result)
        _write_extras(locked, validator.leads, result)
        if result.changed:
            audit.record(
                locked,
                audit.MAPPING_CHANGE,
                user,
                what="imported a configuration document: " + "; ".join(result.lines()),
            )
    connection.config_extras = locked.config_extras
    return result


def _write_mappings(
    connection: XpmConnection, mappings: list[_Mapping], result: ImportResult
) -> None:
    existing = {m.key: m for m in FieldMapping.objects.filter(connection=connection)}
    changed: list[FieldMapping] = []
    created: list[FieldMapping] = []
    moving: list[int] = []
    for mapping in mappings:
        values = {
            "source": mapping.source.source,
            "label": mapping.label,
            "value_type": mapping.source.value_type,
            "choices": list(mapping.source.choices),
        }
        row = existing.get(mapping.key)
        if row is None:
            created.append(FieldMapping(connection=connection, key=mapping.key, **values))
            result.mappings_created.append(mapping.key)
            continue
        if any(getattr(row, name) != value for name, value in values.items()):
            if row.source != values["source"]:
                moving.append(row.pk)
            for name, value in values.items():
                setattr(row, name, value)
            changed.append(row)
            result.mappings_updated.append(mapping.key)
        else:
            result.mappings_unchanged.append(mapping.key)
    for pk in moving:
        FieldMapping.objects.filter(pk=pk).update(source=PARKED_SOURCE.format(pk=pk))
    for row in changed:
        row.save(update_fields=["source", "label", "value_type", "choices"])
    # The document's order first, then the site's other mappings in their current order.
    doc_order = [m.key for m in mappings]
    others = sorted(
        (row for key, row in existing.items() if key not in set(doc_order)),
        key=lambda row: (row.sort_order, row.pk),
    )
    position = {key: index for index, key in enumerate(doc_order)}
    position.update({row.key: len(doc_order) + i for i, row in enumerate(others)})
    for row in created:
        row.sort_order = position[row.key]
    FieldMapping.objects.bulk_create(created)
    for key, row in existing.items():
        if row.sort_order != position[key]:
            FieldMapping.objects.filter(pk=row.pk).update(sort_order=position[key])
            result.mappings_reordered = True


def _write_segments(
    connection: XpmConnection, segments: list[dict[str, Any]], result: ImportResult
) -> None:
    """Create or update Segment rows, matched by name whatever the case."""
    existing = {row.name.casefold(): row for row in Segment.objects.filter(connection=connection)}
    for entry in segments:
        name = entry["name"]
        row = existing.get(name.casefold())
        values = {
            "name": name,
            "client_scope": entry["client_scope"],
            "match": entry["match"],
            "rules": entry["rules"],
        }
        if "description" in entry:
            values["description"] = entry["description"]
        if row is None:
            Segment.objects.create(connection=connection, **values)
            result.segments_created.append(name)
        elif any(getattr(row, field) != value for field, value in values.items()):
            for field, value in values.items():
                setattr(row, field, value)
            row.save()
            result.segments_updated.append(name)
        else:
            result.segments_unchanged.append(name)


def _write_extras(
    connection: XpmConnection, leads: lead_section.LeadChoices | None, result: ImportResult
) -> None:
    if leads is None:
        return
    # Stored in the site settings; what cannot be checked yet waits in the extras.
    result.leads_updated = lead_section.apply(connection, leads)
