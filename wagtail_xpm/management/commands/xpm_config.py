"""Export or import field mappings and segments as one JSON document (docs/contracts.md 4.3)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from django.core.management.base import CommandError

from ... import limits, services
from ...configdoc import ConfigDocumentError, export_document, import_document
from ...models import XpmConnection
from ..base import XpmCommand


class Command(XpmCommand):
    help = (
        "Export or import the site's XPM field mappings, segments and lead settings as a "
        "version-1 JSON document. FILE may be '-' for stdout/stdin. An invalid document is "
        "refused whole."
    )
    # call_command(..., stdin=StringIO(...)) reads the document from there (tests, scripts).
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("action", choices=("export", "import"))
        parser.add_argument("file", metavar="FILE", help="JSON file, or '-' for stdout/stdin.")

    def handle(self, *args, **options):
        site = self.get_site(options["site"])
        connection = services.get_connection(site)
        if connection is None:
            raise CommandError(
                f"{site} has no Xero Practice Manager connection; connect it first (xpm_connect)."
            )
        if options["action"] == "export":
            self.export(connection, options["file"])
        else:
            self.import_(connection, options["file"], options.get("stdin") or sys.stdin)

    def export(self, connection: XpmConnection, path: str) -> None:
        document = export_document(connection)
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        if path == "-":
            self.stdout.write(text, ending="")
            return
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Could not write {path}: {exc.strerror or exc}") from exc
        self.stdout.write(
            f"Wrote {len(document['mappings'])} mappings and {len(document['segments'])} "
            f"segments to {path}."
        )

    def import_(self, connection: XpmConnection, path: str, stdin: TextIO) -> None:
        # Read one byte past the limit at most: a larger file is refused, never loaded whole.
        cap = limits.MAX_DOCUMENT_BYTES + 1
        try:
            if path == "-":
                text = stdin.read(cap)
            else:
                with Path(path).open(encoding="utf-8") as file:
                    text = file.read(cap)
        except OSError as exc:
            raise CommandError(f"Could not read {path}: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path} is not UTF-8 text: {exc.reason}") from exc
        try:
            document = limits.load_json(
                text, max_bytes=limits.MAX_DOCUMENT_BYTES, what="The document"
            )
            limits.check_document(document)
        except limits.LimitExceeded as exc:
            raise CommandError(f"Nothing imported: {exc}") from exc
        try:
            result = import_document(connection, document, client_factory=services.client_for)
        except ConfigDocumentError as exc:
            raise CommandError(f"Nothing imported: {exc}") from exc
        for line in result.lines():
            self.stdout.write(line)
        if not result.changed:
            self.stdout.write("Nothing changed.")
