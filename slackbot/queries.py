"""Reading the website's state into the plain snapshots the Block Kit builders take."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.models import Site

from wagtail_xpm import notifications, privacy, services
from wagtail_xpm.models import (
    Contact,
    FieldMapping,
    PracticeStaff,
    SyncRun,
    XpmConnection,
    XpmSiteSettings,
    email_key,
)
from wagtail_xpm.segments.vocabulary import display

from . import leads_adapter, segments_adapter
from .conf import SlackConfig
from .data import ClientEntry, ContactEntry, RunSnapshot, StaffEntry, StatusSnapshot, WhoSnapshot

# A running sync whose heartbeat is older than this has lost its worker (as the sync sees it).
STALE_RUN = timedelta(minutes=10)


def current_site(config: SlackConfig) -> Site | None:
    """The site the bot works on: SLACK_SITE_HOSTNAME, else Wagtail's default site."""
    if config.site_hostname:
        return Site.objects.filter(hostname__iexact=config.site_hostname).first()
    return Site.objects.filter(is_default_site=True).first() or Site.objects.first()


def connection_for(site: Site | None) -> XpmConnection | None:
    return services.get_connection(site) if site is not None else None


def admin_url(name: str, *args: object) -> str:
    """Absolute admin URL (WAGTAILADMIN_BASE_URL), or "" when it cannot be built."""
    return notifications.absolute_admin_url(name, *args)


def _user_label(user: object | None) -> str:
    if user is None:
        return ""
    full = getattr(user, "get_full_name", lambda: "")()
    return full or getattr(user, "get_username", lambda: "")()


def run_snapshot(run: SyncRun) -> RunSnapshot:
    summary = run.summary()
    return RunSnapshot(
        id=run.pk,
        status=str(run.status),
        status_label=str(run.get_status_display()),
        phase=run.phase,
        progress_done=run.progress_done,
        progress_total=run.progress_total,
        percent=run.percent,
        clients_seen=run.clients_seen,
        full=run.full,
        dry_run=run.dry_run,
        trigger=str(run.trigger),
        started_by=_user_label(run.triggered_by),
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        counts={k: summary[k] for k in summary if k not in ("message", "errors", "run")},
        message=run.message,
        errors=tuple(str(e) for e in (run.errors or [])[:5]),
        admin_url=admin_url("wagtail_xpm_syncrun:inspect", run.pk),
    )


def running_run(connection: XpmConnection) -> SyncRun | None:
    """A sync of this connection running now (fresh heartbeat) or queued a moment ago."""
    fresh = timezone.now() - STALE_RUN
    running = Q(status=SyncRun.Status.RUNNING) & (
        Q(heartbeat_at__gte=fresh) | Q(heartbeat_at__isnull=True, started_at__gte=fresh)
    )
    # A queued run is about to start: a second one would only be skipped.
    queued = Q(status=SyncRun.Status.QUEUED, created_at__gte=fresh)
    return (
        SyncRun.objects.filter(connection=connection)
        .filter(running | queued)
        .select_related("triggered_by")
        .order_by("-created_at")
        .first()
    )


def status_snapshot(site: Site, connection: XpmConnection | None) -> StatusSnapshot:
    site_name = site.site_name or site.hostname
    if connection is None:
        return StatusSnapshot(
            site_name=site_name,
            status="disconnected",
            status_label=_("Not connected to Xero Practice Manager"),
            admin_url=admin_url("wagtail_xpm:status"),
        )
    last = (
        SyncRun.objects.filter(connection=connection)
        .exclude(status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING])
        .select_related("triggered_by")
        .order_by("-created_at", "-pk")
        .first()
    )
    running = running_run(connection)
    leads = leads_adapter.counts(site, connection)
    reserve = XpmSiteSettings.for_site(site).daily_call_reserve
    return StatusSnapshot(
        site_name=site_name,
        status=str(connection.status),
        status_label=str(connection.get_status_display()),
        tenant_name=connection.tenant_name,
        last_error=connection.last_error,
        day_calls_remaining=connection.day_calls_remaining,
        day_calls_checked_at=connection.day_calls_checked_at,
        daily_reserve=reserve,
        contacts=Contact.objects.filter(connection=connection).count(),
        last_run=run_snapshot(last) if last else None,
        running=run_snapshot(running) if running else None,
        leads_pending=leads.waiting if leads else None,
        leads_failed=leads.failed if leads else None,
        lead_owner=leads_adapter.owner_name(site, connection) if leads else "",
        admin_url=admin_url("wagtail_xpm:status"),
    )


def staff_matches(
    site: Site, connection: XpmConnection, query: str, *, limit: int = 10
) -> tuple[list[StaffEntry], int]:
    """Current XPM staff whose name or email contains ``query``; and how many more."""
    words = query.split()
    rows = PracticeStaff.objects.filter(connection=connection, is_current=True)
    for word in words:
        rows = rows.filter(Q(name__icontains=word) | Q(email__icontains=word))
    total = rows.count()
    owner = leads_adapter.owner_uuid(site).casefold()
    entries = [
        StaffEntry(
            uuid=s.uuid,
            name=s.name,
            email=s.email,
            is_lead_owner=bool(owner) and s.uuid.casefold() == owner,
        )
        for s in rows.order_by("name")[:limit]
    ]
    return entries, max(0, total - len(entries))


def who(connection: XpmConnection, email: str, user=None) -> WhoSnapshot | None:
    contact = (
        Contact.objects.filter(connection=connection, email_key=email_key(email))
        .select_related("primary_client")
        .first()
    )
    if contact is None:
        return None
    labels = dict(
        FieldMapping.objects.filter(connection=connection)
        .order_by("sort_order", "pk")
        .values_list("key", "label")
    )
    # Tax numbers masked unless the Slack user's Wagtail user may see them (docs/privacy.md).
    data = privacy.visible_data(
        contact.data or {}, privacy.tax_keys(connection.pk), user, connection.site_id
    )
    fields = tuple(
        (label or key, display(data[key]))
        for key, label in labels.items()
        if data.get(key) not in (None, "", [])
    )
    links = contact.client_links.select_related("client").order_by("-is_primary", "client__name")
    clients = tuple(
        ClientEntry(
            name=link.client.name or link.client.uuid,
            uuid=link.client.uuid,
            position=link.position,
            is_primary=link.is_primary or link.client_id == contact.primary_client_id,
            archived=not link.client.is_active,
            web_url=link.client.web_url,
        )
        for link in links[:20]
    )
    return WhoSnapshot(
        contact=ContactEntry(contact.name, contact.email, contact.client_name),
        source=str(contact.get_source_display()),
        subscribed=contact.subscribed,
        archived=contact.is_archived,
        fields=fields[:10],
        clients=clients,
        segments=segments_adapter.segments_of(contact),
        admin_url=admin_url("wagtail_xpm_contact:inspect", contact.pk),
    )
