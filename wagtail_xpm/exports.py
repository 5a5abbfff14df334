"""Contact rows for CSV/JSON export (xpm_export and the admin's CSV download)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet

from .models import Contact, FieldMapping, XpmConnection

BASE_COLUMNS = ("email", "name", "phone", "client_id", "contact_id", "subscribed")


def export_columns(connection: XpmConnection) -> list[str]:
    """``email, name, phone, client_id, contact_id, subscribed`` then every mapped key."""
    keys = FieldMapping.objects.filter(connection=connection).values_list("key", flat=True)
    return [*BASE_COLUMNS, *keys]


def contact_rows(
    connection: XpmConnection, contacts: QuerySet[Contact] | None = None
) -> Iterator[dict[str, Any]]:
    """One dict per contact, in export column order; values stay typed (bool, list...)."""
    columns = export_columns(connection)
    mapped = columns[len(BASE_COLUMNS) :]
    if contacts is None:
        contacts = Contact.objects.filter(connection=connection)
    fields = ("email", "name", "phone", "mobile", "xpm_client_id", "xpm_contact_id",
              "subscribed", "data")  # fmt: skip
    for row in contacts.order_by("pk").values(*fields).iterator(chunk_size=2000):
        data = row["data"] or {}
        yield {
            "email": row["email"],
            "name": row["name"],
            "phone": row["phone"] or row["mobile"],
            "client_id": row["xpm_client_id"],
            "contact_id": row["xpm_contact_id"],
            "subscribed": row["subscribed"],
            **{key: data.get(key) for key in mapped},
        }


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    text = str(value)
    # Spreadsheet formula injection: a cell starting with these would run as a formula.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def csv_lines(columns: list[str], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """CSV text in chunks (a header line, then one line per row) for streaming responses."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([csv_cell(row.get(c)) for c in columns])
        yield buffer.getvalue()
