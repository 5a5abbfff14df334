"""Tax numbers (IRD, TFN, ABN...) are shown only to users allowed to see them.

A mapped field holds a tax number when it is XPM's ``TaxNumber`` or a custom field whose name
says so; every admin view and export passes the contact's ``data`` through
:func:`visible_data` (docs/privacy.md). Without ``wagtail_xpm.view_tax_number`` a value keeps
its last three characters only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .models import FieldMapping

PERMISSION = "wagtail_xpm.view_tax_number"

# Standard XPM client fields that are tax numbers (wagtail_xpm/sync/mapping.py).
TAX_SOURCES = frozenset({"TaxNumber"})
# Custom fields the firm named like a tax number ("IRD Number", "TFN", "ABN", "GST number").
_TAX_WORDS = re.compile(r"\b(tax\s*(file\s*)?number|ird|tfn|abn|gst\s*number)\b", re.I)

MASK = "•••"


def is_tax_mapping(source: str, label: str = "") -> bool:
    """Whether a mapping with this XPM ``source`` and ``label`` holds a tax number."""
    if source in TAX_SOURCES:
        return True
    name = source.split(":", 1)[1] if source.startswith("custom:") else ""
    return bool(_TAX_WORDS.search(name) or _TAX_WORDS.search(label or ""))


def tax_keys(connection_id: int) -> frozenset[str]:
    """The ``data`` keys of ``connection``'s mappings that hold tax numbers."""
    rows = FieldMapping.objects.filter(connection_id=connection_id).values_list(
        "source", "label", "key"
    )
    return frozenset(key for source, label, key in rows if is_tax_mapping(source, label))


def can_see_tax_numbers(user) -> bool:
    return bool(user is not None and user.has_perm(PERMISSION))


def mask(value: Any) -> Any:
    """``"123-456-789"`` -> ``"•••789"``; empty values stay empty."""
    if value in (None, ""):
        return value
    text = str(value)
    return MASK + text[-3:] if len(text) > 4 else MASK


def visible_data(data: Mapping[str, Any], keys: Iterable[str], user) -> dict[str, Any]:
    """``data`` as ``user`` may see it: tax-number ``keys`` masked unless permitted."""
    result = dict(data or {})
    if can_see_tax_numbers(user):
        return result
    for key in keys:
        if key in result:
            result[key] = mask(result[key])
    return result
