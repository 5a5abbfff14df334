"""Huey tasks for background contact exports: thin, id-based adapters around ``bulkexport``
(imported, and so registered, through ``wagtail_xpm/tasks.py``)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from .. import background
from . import bulkexport
from .admin import downloads  # the listing view chooses the rows, as for a streamed export


@db_task()
def write_contact_export(export_id: int) -> str:
    """Write one background contacts export (wagtail_xpm/contacts/bulkexport.py); a duplicate
    delivery finds it no longer queued and does nothing."""
    export = downloads.run(export_id)
    return export.status if export is not None else "skipped"


background.register(bulkexport.TASK, write_contact_export)


@db_periodic_task(crontab(minute="41"))
def expire_contact_exports() -> None:
    """Hourly: delete background exports (files and rows) past EXPORT_KEEP_FOR."""
    bulkexport.expire()
