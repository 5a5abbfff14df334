"""Run a sync now, in the foreground (docs/contracts.md 4.2)."""

from __future__ import annotations

import json

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from wagtail.models import Site

from ... import services
from ...models import SyncRun, XpmConnection
from ...sync.egress import format_bytes
from ...sync.runs import SyncAlreadyRunning
from ..base import XpmCommand


class Command(XpmCommand):
    help = (
        "Sync the site's Xero Practice Manager clients and contacts now, in this process, and "
        "print what changed (--json: one JSON object)."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument(
            "--full",
            action="store_true",
            help="Read every client in detail, not only those changed since the last sync.",
        )
        scope.add_argument(
            "--reconcile",
            action="store_true",
            help=_(
                "Also find clients deleted in XPM now, with a light check of XPM's client "
                "list (base fields only; the schedule does this weekly)."
            ),
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Work out what would change; write nothing."
        )
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object with the counts."
        )

    def handle(self, *args, **options):
        site = self.get_site(options["site"])
        connection = services.get_connection(site)
        if connection is None or not connection.is_usable:
            raise CommandError(not_connected_reason(site, connection))
        # stderr, so --json's stdout stays one JSON object.
        self.stderr.write(
            f"Syncing {site} with {connection.tenant_name or connection.tenant_id}"
            f"{' (full)' if options['full'] else ''}"
            f"{' (reconcile)' if options['reconcile'] else ''}"
            f"{' (dry run)' if options['dry_run'] else ''}"
            "...",
            style_func=lambda text: text,
        )
        try:
            run = services.run_sync(
                connection,
                trigger="cli",
                full=options["full"],
                dry_run=options["dry_run"],
                reconcile=options["reconcile"],
            )
        except SyncAlreadyRunning as exc:
            raise CommandError(str(exc)) from exc
        summary = run.summary()
        if options["json"]:
            self.stdout.write(json.dumps(summary, default=str))
        else:
            self.stdout.write(self.describe(run))
        if run.status in (SyncRun.Status.FAILED, SyncRun.Status.ABANDONED):
            raise CommandError(f"Sync {run.pk} failed: {one_line(run.message) or 'no reason'}")
        if run.status == SyncRun.Status.PARTIAL:
            self.stderr.write(
                f"Sync {run.pk} stopped early: {one_line(run.message)}",
                style_func=self.style.WARNING,
            )

    def describe(self, run: SyncRun) -> str:
        """The human summary (an extension point for sites that want other wording)."""
        kind = "Dry run" if run.dry_run else "Sync"
        scope = "full" if run.full else "changes only"
        verb = "would be " if run.dry_run else ""
        lines = [
            f"{kind} {run.pk} {run.get_status_display().lower()} ({scope}): "
            f"{run.clients_seen} XPM clients read, {run.api_calls} API calls, "
            + _("%(size)s downloaded.")
            % {"size": format_bytes(run.bytes_downloaded)},
            f"  {run.created} contacts {verb}created, {run.updated} {verb}updated, "
            f"{run.unchanged} unchanged, {run.skipped_duplicates} skipped as duplicate emails, "
            f"{run.archived} {verb}archived.",
        ]
        if run.custom_fields_fetched or run.custom_fields_pending:
            lines.append(
                f"  Custom fields read for {run.custom_fields_fetched} clients"
                + (
                    f"; {run.custom_fields_pending} still to read."
                    if run.custom_fields_pending
                    else "."
                )
            )
        if run.reconcile_completed:
            lines.append(
                "  "
                + ngettext(
                    "Checked XPM's client list for deleted clients: %(count)s flagged.",
                    "Checked XPM's client list for deleted clients: %(count)s flagged.",
                    run.clients_missing,
                )
                % {"count": run.clients_missing}
            )
        elif run.full and run.clients_missing:
            lines.append(
                "  "
                + ngettext(
                    "%(count)s client no longer in XPM flagged.",
                    "%(count)s clients no longer in XPM flagged.",
                    run.clients_missing,
                )
                % {"count": run.clients_missing}
            )
        if run.dry_run:
            lines.append("  Nothing was written.")
        for error in run.errors or ():
            lines.append(f"  ! {one_line(str(error))}")
        return "\n".join(lines)


def not_connected_reason(site: Site, connection: XpmConnection | None) -> str:
    if connection is None or connection.status == XpmConnection.Status.DISCONNECTED:
        return f"{site} is not connected to Xero Practice Manager (run xpm_connect)."
    if connection.status == XpmConnection.Status.NEEDS_REAUTH:
        return f"{site}'s Xero connection needs re-authorisation (reconnect in the admin)."
    if connection.status == XpmConnection.Status.CHOOSE_TENANT:
        return f"{site} has not chosen which Practice Manager practice to use."
    return f"{site} has no usable Xero Practice Manager connection."


def one_line(text: str) -> str:
    return " ".join((text or "").split())
