"""Export the site's contacts as CSV or JSON (docs/contracts.md 4.2)."""

from __future__ import annotations

import json

from django.core.management.base import CommandError
from django.db.models import QuerySet

from ... import audit, privacy, services
from ...contacts.exports import contact_rows, csv_lines, export_columns, json_value
from ...models import Contact, Segment, XpmConnection
from ...segments.compile import segment_queryset
from ..base import XpmCommand


class Command(XpmCommand):
    help = (
        "Write the site's contacts to stdout: email, name, phone, client_id, contact_id, "
        "subscribed, then every mapped field key."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--segment", metavar="NAME", help="Only this segment's members (name, any case)."
        )
        parser.add_argument(
            "--format", choices=("csv", "json"), default="csv", help="Output format (csv)."
        )
        parser.add_argument(
            "--unmask-tax-numbers",
            action="store_true",
            help="Write tax numbers (IRD, TFN, ABN...) in full; they are masked by default "
            "(docs/privacy.md).",
        )

    def handle(self, *args, **options):
        site = self.get_site(options["site"])
        connection = services.get_connection(site)
        if connection is None:
            raise CommandError(
                f"{site} has no Xero Practice Manager connection: nothing to export."
            )
        contacts = None
        if options["segment"] is not None:
            contacts = self.segment_members(connection, options["segment"])
        columns = export_columns(connection)
        rows = contact_rows(connection, contacts)
        # Wagtail's audit log: who ran it is not known here (user None), what was taken is.
        if options["segment"] is not None:
            what = f"the members of segment '{options['segment']}' as {options['format']}"
        else:
            what = f"every contact of {site} as {options['format']}"
        audit.record(connection, audit.EXPORT, None, what=f"{what} (xpm_export command)")
        if not options["unmask_tax_numbers"]:
            # No Wagtail user here: masked unless the operator asks (docs/contracts.md 4.2).
            hidden = privacy.tax_keys(connection.pk)
            rows = (privacy.masked_data(row, hidden) for row in rows)
        # Written piece by piece, so a large practice never sits in memory as one string.
        if options["format"] == "csv":
            for chunk in csv_lines(columns, rows):
                self.stdout.write(chunk, ending="")
            return
        self.stdout.write("[", ending="")
        separator = "\n"
        for row in rows:
            # Text formula-escaped like the CSV: JSON exports end up in spreadsheets too.
            self.stdout.write(
                separator + json.dumps(json_value(row), ensure_ascii=False, default=str),
                ending="",
            )
            separator = ",\n"
        self.stdout.write("\n]" if separator == ",\n" else "]")

    def segment_members(self, connection: XpmConnection, name: str) -> QuerySet[Contact]:
        """The members of the segment named ``name`` (any case), now: one query."""
        segment = Segment.objects.filter(connection=connection, name__iexact=name.strip()).first()
        if segment is None:
            raise CommandError(f"There is no segment named {name!r}.")
        return segment_queryset(segment)
