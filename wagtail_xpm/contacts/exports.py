"""Contact rows for CSV/JSON/Excel export (xpm_export and the admin's downloads), and the
writers every export goes through: no cell of any of them can run as a spreadsheet formula
(:func:`safe_text`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Count, QuerySet

from .. import audit, privacy
from ..models import Contact, FieldMapping, XpmConnection

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


# --- A filtered listing as an export (the admin's downloads, streamed or in the background) ---


def listing_counts(contacts: QuerySet[Contact]) -> list[tuple[XpmConnection, int]]:
    """The practices of ``contacts`` with how many rows each has (two queries, nothing of
    the contacts themselves read into memory)."""
    counts = dict(
        contacts.order_by().values("connection_id").annotate(rows=Count("pk"))
        .values_list("connection_id", "rows")
    )  # fmt: skip
    connections = XpmConnection.objects.filter(pk__in=list(counts)).order_by("pk")
    return [(connection, counts[connection.pk]) for connection in connections]


def listing_columns(
    connections: Iterable[XpmConnection], fallback: Iterable[XpmConnection] = ()
) -> list[str]:
    """The base columns, then every mapped key of ``connections`` (of ``fallback`` when there
    are none: an empty listing still has the documented header, docs/contracts.md 4.2)."""
    columns = list(BASE_COLUMNS)
    for connection in list(connections) or fallback:
        for column in export_columns(connection)[len(BASE_COLUMNS) :]:
            if column not in columns:
                columns.append(column)
    return columns


def listing_rows(
    contacts: QuerySet[Contact], connections: Iterable[XpmConnection], user: Any
) -> Iterator[dict[str, Any]]:
    """The rows of ``contacts``, practice by practice, read in chunks (flat memory), with
    tax numbers masked unless ``user`` may see them (docs/privacy.md, "Tax numbers")."""
    for connection in connections:
        # The permission may be granted on some sites only: asked per practice.
        hidden = privacy.hidden_keys(connection.pk, user, connection.site_id)
        for row in contact_rows(connection, contacts.filter(connection=connection)):
            yield privacy.masked_data(row, hidden) if hidden else row


def record_listing_export(
    counts: Iterable[tuple[XpmConnection, int]], user: Any, what: str, **data: Any
) -> None:
    """One audit entry per practice exported from (wagtail_xpm/audit.py)."""
    for connection, rows in counts:
        audit.record(connection, audit.EXPORT, user, what=what, rows=rows, **data)


# A spreadsheet runs a cell that starts with one of these as a formula (or a DDE command):
# CSV and Excel alike (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    """``text`` that no spreadsheet runs: prefixed with ``'`` when it starts like a formula.

    The one escaping function of every export (CSV, Excel, JSON): whatever a client's
    name, group or custom field holds, opening the file runs nothing."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_cell(value: Any) -> str:
    """A value as the text of one export cell: Yes/No as ``yes``/``no``, lists joined with
    ``; ``, and formula-escaped (:func:`safe_text`) whatever it is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        # Escaped item by item (a later item could start a formula after a separator some
        # spreadsheet splits on) and as a whole.
        return safe_text("; ".join(safe_text(str(v)) for v in value))
    return safe_text(str(value))


def json_value(value: Any) -> Any:
    """A value for a JSON export read into spreadsheets: text and list items escaped, other
    JSON types (numbers, booleans, null) kept."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {key: json_value(v) for key, v in value.items()}
    if value is None or isinstance(value, bool | int | float):
        return value
    return safe_text(str(value))


def csv_lines(columns: list[str], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """CSV text in chunks (a header line, then one line per row) for streaming responses.
    Every cell, the header included, goes through :func:`csv_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(c) for c in columns])
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([csv_cell(row.get(c)) for c in columns])
        yield buffer.getvalue()


def write_xlsx(output: Any, title: str, columns: list[str], rows: Iterable[dict[str, Any]]) -> None:
    """An Excel workbook with one sheet: every cell is text (never a formula, never a
    number Excel reformats) and formula-escaped like the CSV."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title)

    def text_cells(values: Iterable[Any]) -> list:
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=csv_cell(value))
            cell.data_type = "s"
            cells.append(cell)
        return cells

    sheet.append(text_cells(columns))
    for row in rows:
        sheet.append(text_cells(row.get(c) for c in columns))
    workbook.save(output)
