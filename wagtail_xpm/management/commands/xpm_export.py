"""Export the site's contacts as CSV or JSON (design.md 4.2)."""

from __future__ import annotations

import json

from django.core.management.base import CommandError

from ... import services
from ...exports import contact_rows, csv_lines, export_columns
from ...models import XpmConnection
from ..base import XpmCommand


class Command(XpmCommand):
    help = (
        "Write the site's contacts to stdout: email, name, phone, client_id, contact_id, "
        "subscribed, then every mapped field key."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--segment", metavar="NAME", help="Only this segment's members.")
        parser.add_argument(
            "--format", choices=("csv", "json"), default="csv", help="Output format (csv)."
        )

    def handle(self, *args, **options):
        site = self.get_site(options["site"])
        connection = services.get_connection(site)
        if connection is None:
            raise CommandError(
                f"{site} has no Xero Practice Manager connection: nothing to export."
            )
        if options["segment"] is not None:
            raise CommandError(self.segment_problem(connection, options["segment"]))
        columns = export_columns(connection)
        rows = contact_rows(connection)
        # Written piece by piece, so a large practice never sits in memory as one string.
        if options["format"] == "csv":
            for chunk in csv_lines(columns, rows):
                self.stdout.write(chunk, ending="")
            return
        self.stdout.write("[", ending="")
        separator = "\n"
        for row in rows:
            self.stdout.write(
                separator + json.dumps(row, ensure_ascii=False, default=str), ending=""
            )
            separator = ",\n"
        self.stdout.write("\n]" if separator == ",\n" else "]")

    def segment_problem(self, connection: XpmConnection, name: str) -> str:
        """Why --segment cannot be used yet (segments are kept, not yet evaluated)."""
        segments = (connection.config_extras or {}).get("segments") or []
        wanted = name.strip().casefold()
        for segment in segments:
            if isinstance(segment, dict) and str(segment.get("name", "")).casefold() == wanted:
                return (
                    f"Segment {segment['name']!r} is saved, but segment filtering arrives with "
                    "the segments feature; export all contacts without --segment for now."
                )
        return f"There is no segment named {name!r}."
