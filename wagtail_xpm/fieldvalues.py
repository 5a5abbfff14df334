"""The distinct values synced for each mapped field, kept on the mapping (``synced_values``).

The contacts listing offers them as filter choices and the segment builder as suggestions
(segments/catalogue.py). Reading them from the contacts on every request costs one scan of
the practice per mapped field (half a second at 100,000 contacts, docs/benchmarks.md), so
they are computed once and kept: refreshed at the end of every sync run (sync/runs.py),
forgotten when a mapping changes or a contact or client is saved outside a sync, and
recomputed by the first reader after that.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db.models import Model, QuerySet
from django.db.models.signals import post_delete, post_save

from .models import Contact, FieldMapping, PracticeClient
from .segments.jsonsql import JsonText

# Raw distinct values read per key and table: well past what a dropdown offers (60 in the
# listing, 200 in the builder), so whether a field has "too many" values is still known.
RAW_LIMIT = 400


def _distinct(queryset: QuerySet, key: str) -> list[str]:
    """The distinct values of ``data[key]`` as text, list items apart, sorted."""
    rows = (
        queryset.annotate(xpm_value=JsonText("data", key))
        .exclude(xpm_value__isnull=True)
        .order_by()
        .values_list("xpm_value", flat=True)
        .distinct()[:RAW_LIMIT]
    )
    found: set[str] = set()
    for raw in rows:
        text = str(raw).strip()
        if text.startswith("["):
            try:
                found.update(str(v).strip() for v in json.loads(text) if str(v).strip())
            except ValueError:
                found.add(text)
        elif text:
            found.add(text)
    return sorted(found, key=str.casefold)


def compute(mapping: FieldMapping) -> dict[str, list[str]]:
    """What ``synced_values`` holds for ``mapping``: its key's values among the practice's
    contacts (the listing's filters) and its clients ("any client" segments)."""
    return {
        "contacts": _distinct(
            Contact.objects.filter(connection_id=mapping.connection_id), mapping.key
        ),
        "clients": _distinct(
            PracticeClient.objects.filter(connection_id=mapping.connection_id), mapping.key
        ),
    }


def values_of(mapping: FieldMapping) -> dict[str, list[str]]:
    """``mapping``'s synced values, computed and kept now when they are not (yet) kept."""
    if mapping.synced_values is None:
        mapping.synced_values = compute(mapping)
        # update(), not save(): saving a mapping is a change that forgets its values.
        FieldMapping.objects.filter(pk=mapping.pk).update(synced_values=mapping.synced_values)
    return mapping.synced_values


def contact_values(mappings: Iterable[FieldMapping]) -> list[str]:
    """The values among the contacts of every mapping given (one key, several practices)."""
    found: set[str] = set()
    for mapping in mappings:
        found.update(values_of(mapping).get("contacts") or ())
    return sorted(found, key=str.casefold)


def refresh(connection_id: int) -> None:
    """Recompute every mapping of a practice (the end of a sync run); only changed values
    are written, so an unchanged re-run writes nothing (tests/sync/test_sync_rules.py)."""
    for mapping in FieldMapping.objects.filter(connection_id=connection_id):
        values = compute(mapping)
        if values != mapping.synced_values:
            FieldMapping.objects.filter(pk=mapping.pk).update(synced_values=values)


def forget(connection_id: int) -> None:
    """Drop a practice's kept values; the next reader recomputes them."""
    FieldMapping.objects.filter(connection_id=connection_id, synced_values__isnull=False).update(
        synced_values=None
    )


def _mapping_changed(sender, instance: FieldMapping, **kwargs) -> None:
    if kwargs.get("raw"):
        return
    FieldMapping.objects.filter(pk=instance.pk).update(synced_values=None)


def _row_changed(sender, instance: Model, **kwargs) -> None:
    # A contact edited in the admin or a lead's contact: its values may be new (or gone).
    if kwargs.get("raw"):
        return
    forget(instance.connection_id)


def connect() -> None:
    """Forget kept values on the changes no sync run sees (``WagtailXpmConfig.ready``)."""
    post_save.connect(_mapping_changed, sender=FieldMapping, dispatch_uid="xpm_values_mapping")
    for model in (Contact, PracticeClient):
        post_save.connect(_row_changed, sender=model, dispatch_uid=f"xpm_values_{model.__name__}")
        post_delete.connect(
            _row_changed, sender=model, dispatch_uid=f"xpm_values_del_{model.__name__}"
        )
