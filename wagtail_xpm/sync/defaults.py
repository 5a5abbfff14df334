"""The mappings a new connection starts with: the standard targeting fields
(``STANDARD_FIELDS`` marked ``default`` in wagtail_xpm/sync/mapping.py)."""

from __future__ import annotations

from ..models import FieldMapping, XpmConnection
from .mapping import STANDARD_FIELDS, default_key


def ensure_default_mappings(connection: XpmConnection) -> int:
    """Map the standard targeting fields (Account Manager, Balance Month...) once, on connect.

    Custom fields are opt-in: each costs one API call per changed client.
    """
    if FieldMapping.objects.filter(connection=connection).exists():
        return 0
    rows = [
        FieldMapping(
            connection=connection,
            source=field.source,
            key=default_key(field.label),
            label=field.label,
            value_type=field.value_type,
            choices=list(field.choices),
            sort_order=index,
        )
        for index, field in enumerate(f for f in STANDARD_FIELDS if f.default)
    ]
    FieldMapping.objects.bulk_create(rows)
    return len(rows)
