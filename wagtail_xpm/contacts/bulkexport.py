"""Contact downloads written in the background: too large to stream within a web request
(an Excel file of 100,000 rows takes over 30 s, past gunicorn's default timeout).

The admin queues one (:func:`start`); a Huey task writes the file (:func:`write`) with
openpyxl's write-only mode or the CSV writer, row by row, to Django's default storage under
a random name that is never handed out as a URL: the file is served only through the
admin's permission-checked download view. Files are deleted after ``EXPORT_KEEP_FOR``
(:func:`expire`, hourly). See docs/operations.md, "Contact exports".
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import background
from ..conf import get_setting
from ..models import Contact, ContactExport, XpmConnection
from . import exports

logger = logging.getLogger(__name__)

TASK = "write_contact_export"
# Progress is saved every this many rows (one small UPDATE each).
PROGRESS_EVERY = 2000
FOLDER = "wagtail_xpm/exports"


def is_background(fmt: str, rows: int) -> bool:
    """Whether a download of ``rows`` rows in ``fmt`` is written in the background."""
    if fmt == ContactExport.Format.XLSX:
        return rows > int(get_setting("EXPORT_XLSX_INLINE_MAX_ROWS"))
    return rows > int(get_setting("EXPORT_STREAM_MAX_ROWS"))


def start(user: Any, fmt: str, query: dict[str, list[str]], connection_ids: Iterable[int],
          rows: int) -> ContactExport:  # fmt: skip
    """Queue a background export of the listing ``query`` describes, for ``user``."""
    export = ContactExport.objects.create(
        user=user,
        format=fmt,
        params={"query": query, "connections": sorted(connection_ids)},
        rows_total=rows,
        expires_at=timezone.now() + get_setting("EXPORT_KEEP_FOR"),
    )
    background.enqueue_on_commit(TASK, export.pk)
    return export


def claim(export_id: int) -> ContactExport | None:
    """The queued export, now marked as being written; None when it is not queued (a
    duplicate delivery of the task, or an export already expired)."""
    claimed = ContactExport.objects.filter(pk=export_id, status=ContactExport.Status.QUEUED).update(
        status=ContactExport.Status.RUNNING
    )
    if not claimed:
        return None
    return ContactExport.objects.select_related("user").get(pk=export_id)


def _counted(export: ContactExport, rows: Iterable[dict]) -> Iterator[dict]:
    done = 0
    for row in rows:
        yield row
        done += 1
        if done % PROGRESS_EVERY == 0:
            ContactExport.objects.filter(pk=export.pk).update(rows_done=done)
    export.rows_done = done


def write(export: ContactExport, contacts: QuerySet[Contact],
          fallback: Iterable[XpmConnection] = ()) -> ContactExport:  # fmt: skip
    """Write ``contacts`` (the listing as the export's user sees it) to storage."""
    user = export.user
    try:
        counts = exports.listing_counts(contacts)
        connections = [connection for connection, _rows in counts]
        columns = exports.listing_columns(connections, fallback)
        rows = _counted(export, exports.listing_rows(contacts, connections, user))
        ContactExport.objects.filter(pk=export.pk).update(rows_total=sum(n for _c, n in counts))
        with tempfile.TemporaryFile() as output:
            if export.format == ContactExport.Format.XLSX:
                exports.write_xlsx(output, _("Contacts"), columns, rows)
            else:
                for chunk in exports.csv_lines(columns, rows):
                    output.write(chunk.encode("utf-8"))
            output.seek(0)
            name = f"{FOLDER}/{secrets.token_urlsafe(32)}.{export.format}"
            export.file_name = default_storage.save(name, File(output, name=name))
        what = _("contacts as %(format)s (background export)") % {
            "format": export.get_format_display()
        }
        exports.record_listing_export(counts, user, what)
        export.status = ContactExport.Status.DONE
    except Exception as exc:
        logger.exception("Contact export %s failed", export.pk)
        export.status = ContactExport.Status.FAILED
        export.message = _("The export could not be written: %(error)s") % {"error": exc}
    export.finished_at = timezone.now()
    export.expires_at = export.finished_at + get_setting("EXPORT_KEEP_FOR")
    export.save(
        update_fields=["status", "message", "file_name", "rows_done", "finished_at", "expires_at"]
    )
    return export


def expire(now: datetime | None = None) -> int:
    """Delete the exports (files and rows) whose time is up; returns how many."""
    now = now or timezone.now()
    gone = 0
    for export in ContactExport.objects.filter(expires_at__lte=now):
        if export.file_name:
            default_storage.delete(export.file_name)
        export.delete()
        gone += 1
    return gone
