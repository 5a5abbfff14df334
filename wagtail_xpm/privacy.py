"""Tax numbers (IRD, TFN, ABN...) are shown only to users allowed to see them.

A mapped field holds a tax number when it is XPM's ``TaxNumber`` or a custom field whose name
says so; every admin view and export passes the contact's ``data`` through
:func:`visible_data` (docs/privacy.md). Without ``wagtail_xpm.view_tax_number`` a value keeps
its last three characters only.

The permission is a capability of the group editor (``access.CAPABILITIES``), so it can be
given on every site or on some: pass ``site`` (a Site, a site id or a record of this app)
where the data shown belongs to one site. Without ``site`` only a grant on every site counts
(a listing that spans sites never unmasks one site's numbers for another site's grant).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext as _

from . import access
from .models import FieldMapping

CODENAME = "view_tax_number"
PERMISSION = f"{access.APP_LABEL}.{CODENAME}"

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


def can_see_tax_numbers(user, site: Any = None) -> bool:
    """Whether ``user`` sees tax numbers in full: on ``site``, or on every site."""
    if user is None:
        return False
    if site is None:
        return bool(user.has_perm(PERMISSION))
    return access.holds(user, CODENAME, site)


def hidden_keys(connection_id: int, user, site: Any = None) -> frozenset[str]:
    """The tax-number keys of a connection that ``user`` must not see in full (none when
    the user may see them)."""
    if can_see_tax_numbers(user, site):
        return frozenset()
    return tax_keys(connection_id)


def mask(value: Any) -> Any:
    """``"123-456-789"`` -> ``"•••789"``; empty values stay empty."""
    if value in (None, ""):
        return value
    text = str(value)
    return MASK + text[-3:] if len(text) > 4 else MASK


def visible_data(
    data: Mapping[str, Any], keys: Iterable[str], user, site: Any = None
) -> dict[str, Any]:
    """``data`` as ``user`` may see it: tax-number ``keys`` masked unless permitted (on
    ``site`` when given)."""
    result = dict(data or {})
    if can_see_tax_numbers(user, site):
        return result
    return masked_data(result, keys)


def masked_data(data: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """``data`` with the values of ``keys`` masked (the caller decided they are hidden)."""
    result = dict(data or {})
    for key in keys:
        if key in result:
            result[key] = mask(result[key])
    return result


# Rules that only ask whether a field is filled in reveal no tax number.
PRESENCE_OPS = frozenset({"blank", "not_blank"})


def tax_rule_errors(
    rules: Any, hidden: Iterable[str], labels: Mapping[str, Any] | None = None
) -> list[str]:
    """Segment rules comparing a hidden tax-number key with a value, as errors: for a user
    who may not see the numbers, counts and previews would reveal them digit by digit.
    ``labels``: key -> the field's label, for the message."""
    hidden = frozenset(hidden)
    found: set[str] = set()

    def walk(items: Any) -> None:
        for rule in items if isinstance(items, list) else ():
            if not isinstance(rule, Mapping):
                continue
            if isinstance(rule.get("rules"), list):
                walk(rule["rules"])
            elif rule.get("field") in hidden and rule.get("op") not in PRESENCE_OPS:
                found.add(str((labels or {}).get(rule["field"]) or rule["field"]))

    if hidden:
        walk(rules)
    return [
        _(
            "Rules comparing %(field)s with a value need the “See tax numbers” permission "
            "(“is blank” and “is not blank” do not)."
        )
        % {"field": label}
        for label in sorted(found)
    ]
