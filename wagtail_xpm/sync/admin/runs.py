"""Admin views: the Sync page (Sync now, Full sync, Dry run, live progress) and sync history."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import TemplateView
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.models import Site

from ... import access, services
from ...adminkit.guards import requires
from ...models import Contact, FieldMapping, PracticeClient, SyncRun, XpmConnection, XpmSiteSettings
from ...wording import explain_xpm_error
from ...xpm.errors import XpmError
from .. import egress, freshness, runs
from ..describe import (
    format_age,
    format_duration,
    progress_payload,
    run_duration,
    run_headline,
    run_kind,
    status_tone,
    usage_rows,
)
from ..egress import format_bytes

logger = logging.getLogger(__name__)

MODES = {
    "sync": {"full": False, "dry_run": False},
    "full": {"full": True, "dry_run": False},
    # A dry run reads every client, so it can show archives too; it never reads custom
    # fields, so it costs only the client list.
    "dry_run": {"full": True, "dry_run": True},
    # The changed clients, and XPM's live client list in base fields: finds deleted clients.
    "reconcile": {"reconcile": True},
}
RECENT_RUNS = 5


def sync_page_url(site_id: int, run_id: int | None = None) -> str:
    url = reverse("wagtail_xpm_sync:site", args=[site_id])
    return f"{url}?run={run_id}" if run_id else url


def history_detail_url(run: SyncRun) -> str:
    return reverse("wagtail_xpm_syncrun:inspect", args=[run.pk])


class SyncSitesView(WagtailAdminTemplateMixin, TemplateView):
    """Which site to sync; skipped straight to the Sync page when there is only one."""

    template_name = "wagtail_xpm/admin/sync_sites.html"
    page_title = gettext_lazy("Sync with Xero Practice Manager")
    header_icon = "resubmit"

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # The sites where the user may run syncs (docs/permissions.md).
        connections = list(
            access.scope(XpmConnection.objects.select_related("site"), request.user, access.SYNC)
        )
        if len(connections) == 1:
            return redirect(sync_page_url(connections[0].site_id))
        return super().get(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        connections = {
            c.site_id: c for c in access.scope(XpmConnection.objects.all(), user, access.SYNC)
        }
        context["rows"] = [
            {"site": site, "connection": connections.get(site.pk)}
            for site in access.allowed_sites(user, access.SYNC).order_by(
                "-is_default_site", "hostname"
            )
        ]
        return context


class SyncView(WagtailAdminTemplateMixin, TemplateView):
    """One site's Sync page: the three buttons, the live progress and the latest runs."""

    template_name = "wagtail_xpm/admin/sync.html"
    page_title = gettext_lazy("Sync with Xero Practice Manager")
    header_icon = "resubmit"

    def setup(self, request: HttpRequest, *args, **kwargs) -> None:
        super().setup(request, *args, **kwargs)
        self.site = get_object_or_404(Site, pk=kwargs["site_id"])
        self.connection = XpmConnection.objects.filter(site=self.site).first()

    def get_page_subtitle(self):
        return self.site.site_name or self.site.hostname

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("wagtail_xpm:status"), "label": _("Xero Practice Manager")},
            {"url": "", "label": self.page_title, "sublabel": self.get_page_subtitle()},
        ]

    @cached_property
    def recent_runs(self) -> list[SyncRun]:
        """The latest runs, newest first (the short history; also where ``current_run``
        looks first, so the page reads the runs once)."""
        if self.connection is None:
            return []
        runs = SyncRun.objects.filter(connection=self.connection).select_related("triggered_by")
        return list(runs[:RECENT_RUNS])

    @cached_property
    def current_run(self) -> SyncRun | None:
        """The run the progress panel follows: the one asked for, else a live one, else the
        latest."""
        if self.connection is None:
            return None
        runs = SyncRun.objects.filter(connection=self.connection).select_related("triggered_by")
        recent = self.recent_runs
        requested = self.request.GET.get("run", "")
        if requested.isdigit():
            run = next((r for r in recent if r.pk == int(requested)), None)
            run = run or runs.filter(pk=int(requested)).first()
            if run is not None:
                return run
        unfinished = [SyncRun.Status.QUEUED, SyncRun.Status.RUNNING]
        live = next((r for r in recent if r.status in unfinished), None)
        if live is None and len(recent) == RECENT_RUNS:
            # An older run left unfinished (its worker died) is still the one to follow.
            live = runs.filter(status__in=unfinished).first()
        return live or (recent[0] if recent else None)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        connection = self.connection
        context["site"] = self.site
        context["connection"] = connection
        if connection is None:
            return context
        run = self.current_run
        context["run"] = run
        if run is not None:
            context["payload"] = progress_payload(run)
            context["progress_url"] = reverse("wagtail_xpm_sync:progress", args=[run.pk])
            context["run_detail_url"] = history_detail_url(run)
        context["recent_runs"] = [describe_run(r) for r in self.recent_runs]
        context["history_url"] = (
            reverse("wagtail_xpm_syncrun:index") + f"?connection={connection.pk}"
        )
        context["last_success"] = (
            SyncRun.objects.filter(
                connection=connection, status=SyncRun.Status.SUCCEEDED, dry_run=False
            )
            .order_by("-finished_at")
            .first()
        )
        mappings = FieldMapping.objects.filter(connection=connection).aggregate(
            total=Count("pk"), custom=Count("pk", filter=Q(source__startswith="custom:"))
        )
        context["mapping_counts"] = mappings
        context["mappings_url"] = reverse("wagtail_xpm_fieldmapping:index")
        context["contact_count"] = Contact.objects.filter(connection=connection).count()
        context["contacts_url"] = reverse("wagtail_xpm_contact:index")
        site_settings = context["site_settings"] = XpmSiteSettings.for_site(self.site)
        context["busy"] = run is not None and not run.is_finished
        now = timezone.now()
        connection.site = self.site  # read already: egress needs no second read
        context["egress"] = egress.egress_for(connection, now=now, site_settings=site_settings)
        context["freshness"] = freshness_facts(connection, now=now)
        context["last_check"] = services.last_reconciled(connection)
        return context


def freshness_facts(connection: XpmConnection, *, now) -> dict | None:
    """The age of the oldest mapped custom-field value, for the Sync page."""
    state = freshness.freshness(connection, now=now)
    if state is None:
        return None
    return {
        "state": state,
        "oldest": format_age(state.oldest) if state.oldest is not None else "",
        "max_age": format_age(state.max_age),
        "share_needed": f"{state.share_needed:.0%}",
    }


def describe_run(run: SyncRun) -> dict:
    """A run as the Sync page's short history table shows it."""
    return {
        "downloaded": format_bytes(run.bytes_downloaded) if run.is_finished else "",
        "run": run,
        "kind": run_kind(run),
        "tone": status_tone(run),
        "headline": run_headline(run),
        "duration": format_duration(run_duration(run)) if run.is_finished else "",
        "url": history_detail_url(run),
    }


# Run syncs or manage the connection; the site's own permission is checked by the URLs
# (sync/admin/viewsets.py).
sync_sites = requires(access.SYNC)(SyncSitesView.as_view())
sync_site = requires(access.SYNC)(SyncView.as_view())


@require_POST
@requires(access.SYNC)
def start_sync(request: HttpRequest, site_id: int) -> HttpResponse:
    """Queue a sync (or a full sync, or a dry run) and go back to the Sync page to watch it."""
    site = get_object_or_404(Site, pk=site_id)
    connection = XpmConnection.objects.filter(site=site).first()
    mode = MODES.get(request.POST.get("mode", "sync"))
    if mode is None:
        messages.error(request, _("Unknown kind of sync."))
        return redirect(sync_page_url(site.pk))
    if connection is None or not connection.is_usable:
        messages.error(
            request,
            _(
                "%(site)s is not connected to Xero Practice Manager, so there is nothing to sync. "
                "Connect it on the Xero Practice Manager page first."
            )
            % {"site": site},
        )
        return redirect("wagtail_xpm:status")
    unfinished = SyncRun.objects.filter(
        connection=connection, status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING]
    )
    # A run whose worker died (no heartbeat for a while) must not block "Sync now" for ever.
    live = next((run for run in unfinished if runs.is_live(run)), None)
    if live is not None:
        messages.warning(
            request,
            _("A sync of this practice is already under way; its progress is shown below."),
        )
        return redirect(sync_page_url(site.pk, live.pk))
    try:
        run = services.enqueue_sync(connection, trigger="admin", user=request.user, **mode)
    except XpmError as exc:
        messages.error(request, explain_xpm_error(exc))
        return redirect(sync_page_url(site.pk))
    except Exception:
        # The task queue itself (e.g. Redis) being down must not show a server error page.
        logger.exception("Could not queue a sync of connection %s", connection.pk)
        messages.error(
            request,
            _(
                "The sync could not be started. If this keeps happening, ask whoever runs the "
                "site to check the background task queue and worker."
            ),
        )
        return redirect(sync_page_url(site.pk))
    return redirect(sync_page_url(site.pk, run.pk))


@require_GET
@requires(access.SYNC)
def run_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """The polled JSON behind the progress bar."""
    run = get_object_or_404(SyncRun, pk=pk)
    response = JsonResponse(progress_payload(run))
    response["Cache-Control"] = "no-store"
    return response


# --- Sync history (SyncRun viewset views) -------------------------------------------------------


class RunStatusColumn(Column):
    """The status as a coloured badge."""

    cell_template_name = "wagtail_xpm/admin/cells/run_status.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["tone"] = status_tone(instance)
        context["label"] = instance.get_status_display()
        return context


class RunCountsColumn(Column):
    """Created / updated / unchanged / skipped / archived in one cell."""

    cell_template_name = "wagtail_xpm/admin/cells/run_counts.html"


class SyncRunIndexView(generic.IndexView):
    """The sync history: one row per run, newest first."""

    template_name = "wagtail_xpm/admin/index.html"
    default_ordering = "-created_at"
    page_title = gettext_lazy("Sync history")

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("triggered_by", "connection__site")

    @cached_property
    def columns(self):
        return [
            TitleColumn(
                "created_at",
                label=_("When"),
                accessor=lambda run: run_when(run),
                sort_key="created_at",
                get_url=lambda run: reverse(self.inspect_url_name, args=[run.pk]),
            ),
            Column("kind", label=_("Kind"), accessor=run_kind),
            Column("who", label=_("Started by"), accessor=run_starter),
            RunStatusColumn("status", label=_("Status"), sort_key="status"),
            RunCountsColumn("counts", label=_("Contacts")),
            Column("api_calls", label=_("API calls"), sort_key="api_calls"),
            Column(
                "bytes_downloaded",
                label=_("Downloaded"),
                accessor=lambda run: format_bytes(run.bytes_downloaded),
                sort_key="bytes_downloaded",
            ),
            Column(
                "duration",
                label=_("Duration"),
                accessor=lambda run: format_duration(run_duration(run)),
            ),
            Column("message", label=_("Message"), accessor=short_message),
        ]


def run_when(run: SyncRun) -> str:
    when = localtime(run.created_at)
    same_year = when.year == localtime().year
    return date_format(when, "j M, H:i:s" if same_year else "j M Y, H:i")


def run_starter(run: SyncRun) -> str:
    """The person who pressed the button, else where the run came from (Schedule, Slack...)."""
    user = run.triggered_by
    if user is not None:
        return (user.get_full_name() or "").strip() or user.get_username()
    return str(run.get_trigger_display())


def short_message(run: SyncRun) -> str:
    text = run.message or (run.errors[0] if run.errors else "")
    return text if len(text) <= 120 else text[:117] + "…"


class SyncRunInspectView(generic.InspectView):
    """Everything about one run: summary, errors, skipped duplicates, dry-run samples."""

    template_name = "wagtail_xpm/admin/sync_run.html"

    def get_object(self, queryset=None):
        return get_object_or_404(
            SyncRun.objects.select_related("connection__site", "triggered_by"), pk=self.pk
        )

    def get_page_subtitle(self):
        return f"{run_kind(self.object)} · {run_when(self.object)}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        run = self.object
        report = run.report or {}
        context["payload"] = progress_payload(run)
        context["kind"] = run_kind(run)
        context["duration"] = format_duration(run_duration(run))
        context["sync_page_url"] = sync_page_url(run.connection.site_id)
        context["skipped"] = self._skipped_duplicates(report.get("skipped_duplicates") or [])
        context["dry"] = self._dry_run(report.get("dry_run")) if run.dry_run else None
        context["usage"] = usage_rows(run)
        context["downloaded"] = format_bytes(run.bytes_downloaded)
        context["missing"] = report.get("clients_missing") or []
        context["custom_fields"] = report.get("custom_fields") or {}
        context["opt_outs"] = report.get("opt_outs") or {}
        return context

    def _clients_by_uuid(self, uuids: set[str]) -> dict[str, PracticeClient]:
        clients = PracticeClient.objects.filter(connection=self.object.connection, uuid__in=uuids)
        return {c.uuid: c for c in clients}

    def _skipped_duplicates(self, rows: list[dict]) -> list[dict]:
        """Name the people and clients behind the ids the engine recorded."""
        clients = self._clients_by_uuid({r.get("client_id", "") for r in rows})
        kept = {
            c.xpm_contact_id: c
            for c in Contact.objects.filter(
                connection=self.object.connection,
                xpm_contact_id__in={r.get("kept_contact_id", "") for r in rows},
            )
        }
        return [
            {
                **row,
                "client": clients.get(row.get("client_id", "")),
                "kept": kept.get(row.get("kept_contact_id", "")),
            }
            for row in rows
        ]

    def _dry_run(self, dry: dict | None) -> dict | None:
        if not dry:
            return None
        missing = dry.get("clients_missing") or []
        clients = self._clients_by_uuid(set(missing))
        return {
            "create": dry.get("create") or [],
            "update": dry.get("update") or [],
            "clients_missing": [{"uuid": u, "client": clients.get(u)} for u in missing],
            "custom_fields_to_fetch": dry.get("custom_fields_to_fetch") or 0,
        }
