"""The mirror of XPM's custom-field definitions (``PracticeCustomField``): the mapping
editor, the config document and the consent settings pick fields from it
(docs/field-mapping.md)."""

from __future__ import annotations

from collections.abc import Callable
from operator import methodcaller

from django.db import transaction

from ...models import PracticeCustomField, XpmConnection
from ...xpm.client import XpmClient
from ..factory import client_for
from .reading import read_from_xpm


def refresh(
    connection: XpmConnection,
    client_factory: Callable[[XpmConnection], XpmClient] = client_for,
) -> list[PracticeCustomField]:
    """Read ``customfield.api/definition`` live and mirror the client-level definitions;
    returns the current ones. Raises XpmError."""
    definitions = read_from_xpm(
        connection, client_factory, methodcaller("custom_field_definitions")
    )
    with transaction.atomic():
        seen = []
        for definition in definitions:
            row, _ = PracticeCustomField.objects.update_or_create(
                connection=connection,
                uuid=definition.uuid,
                defaults={
                    "name": definition.name or definition.uuid,
                    "type": definition.type or "",
                    "value_element": definition.value_element or "",
                    "options": list(definition.options),
                    "use_client": bool(definition.use_client),
                    "use_contact": bool(definition.use_contact),
                    "is_current": True,
                },
            )
            seen.append(row.pk)
        PracticeCustomField.objects.filter(connection=connection).exclude(pk__in=seen).update(
            is_current=False
        )
    return list(PracticeCustomField.objects.filter(connection=connection, is_current=True))
