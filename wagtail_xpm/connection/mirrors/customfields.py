"""The mirror of XPM's custom-field definitions (``PracticeCustomField``): the mapping
editor, the config document and the consent settings pick fields from it
(docs/field-mapping.md)."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from ...models import PracticeCustomField, XpmConnection
from ...xpm.client import XpmClient
from .. import budget
from ..factory import client_for


def refresh(
    connection: XpmConnection,
    client_factory: Callable[[XpmConnection], XpmClient] = client_for,
) -> list[PracticeCustomField]:
    """Read ``customfield.api/definition`` live and mirror the client-level definitions;
    returns the current ones. Raises XpmError."""
    client = client_factory(connection)
    try:
        definitions = client.custom_field_definitions()
    finally:
        client.close()
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
    budget.record(connection.pk, client.day_remaining)
    return list(PracticeCustomField.objects.filter(connection=connection, is_current=True))
