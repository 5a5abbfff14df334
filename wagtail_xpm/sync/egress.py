"""What syncing costs in data downloaded from XPM: this month, and the month's forecast.

Since 2 March 2026 Xero prices API access by tier and by data egress (the Advanced tier,
which XPM needs, includes 250 GB a month), so every byte a sync downloads counts. Each
``SyncRun`` records its ``bytes_downloaded``; this module adds them up for a site and for
all sites together (an agency hosting several firms pays for all of them), forecasts the
month from the schedule, and says when an allowance set in the site settings is near.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import SyncRun, XpmConnection, XpmSiteSettings

DAY = timedelta(days=1)
# Runs of the last week set the pace of the forecast.
PACE_WINDOW = timedelta(days=7)
# An allowance is "near" once the month has used this share of it.
WARN_AT = 0.8
# Until a site has made one check, a reconciliation is taken to cost this share of a
# detailed list (paged-list has base fields only: about two thirds of the size of a detailed
# client record in the sandbox, which follows XPM's documented shapes).
PAGED_LIST_SHARE = 0.65
GB = 1000**3


def format_bytes(size: int | float | None) -> str:
    """Bytes in decimal units, as Xero prices egress: "950 B", "12.3 kB", "4.1 MB", "1.2 GB"."""
    if size is None:
        return ""
    size = float(size)
    units = [_("%(n)s B"), _("%(n)s kB"), _("%(n)s MB"), _("%(n)s GB"), _("%(n)s TB")]
    unit = 0
    while size >= 1000 and unit < len(units) - 1:
        size /= 1000
        unit += 1
    text = f"{size:,.0f}" if unit == 0 or size >= 99.95 else f"{size:,.1f}"
    return units[unit] % {"n": text}


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The calendar month around ``now`` in the site's time zone (aware datetimes)."""
    start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if start.month == 12:
        end = start.replace(year=start.year + 1, month=1)
    else:
        end = start.replace(month=start.month + 1)
    return start, end


@dataclass(frozen=True)
class Egress:
    """One site's (or all sites') data downloaded from XPM this month."""

    used: int  # bytes so far this month
    calls: int  # API calls so far this month
    runs: int
    forecast: int | None  # bytes by the month's end at the schedule's pace (None: no pace yet)
    allowance: int | None  # bytes, when one is set
    month_start: datetime
    month_end: datetime

    @property
    def near_allowance(self) -> bool:
        """The month's downloads will reach the allowance, or have used most of it."""
        if not self.allowance:
            return False
        projected = self.forecast if self.forecast is not None else self.used
        return projected >= self.allowance or self.used >= WARN_AT * self.allowance

    @property
    def forecast_share(self) -> float | None:
        if not self.allowance or self.forecast is None:
            return None
        return self.forecast / self.allowance

    def warning(self) -> str:
        """A sentence for the admin when the allowance is near, else ""."""
        if not self.near_allowance:
            return ""
        if self.used >= self.allowance:
            return _(
                "This month's XPM downloads (%(used)s) have passed the allowance of "
                "%(allowance)s; every further byte is charged."
            ) % {"used": format_bytes(self.used), "allowance": format_bytes(self.allowance)}
        return _(
            "At this pace this month's XPM downloads reach %(forecast)s, against an allowance "
            "of %(allowance)s (%(used)s used so far). Sync less often, check for deleted "
            "clients less often, or map fewer custom fields."
        ) % {
            "forecast": format_bytes(self.forecast if self.forecast is not None else self.used),
            "allowance": format_bytes(self.allowance),
            "used": format_bytes(self.used),
        }


def allowance_bytes(site_settings: XpmSiteSettings) -> int | None:
    gb = site_settings.egress_allowance_gb
    return int(gb * GB) if gb else None


def _month_runs(connections: Iterable[XpmConnection], start: datetime, end: datetime):
    return SyncRun.objects.filter(
        connection__in=list(connections), created_at__gte=start, created_at__lt=end
    )


def daily_pace(
    connection: XpmConnection, *, now: datetime, site_settings: XpmSiteSettings | None = None
) -> int | None:
    """Bytes a day the site's schedule downloads, from its last week of runs: the ordinary
    runs at the sync interval, and the checks for deleted clients at theirs. None when the
    site has no ordinary run to go by yet. ``site_settings``: the site's, when the caller
    has them already (the Sync page: one query fewer)."""
    if site_settings is None:
        site_settings = XpmSiteSettings.for_site(connection.site)
    if not site_settings.sync_enabled:
        return 0
    recent = SyncRun.objects.filter(
        connection=connection,
        created_at__gte=now - PACE_WINDOW,
        full=False,
        dry_run=False,
        list_completed=True,
    )
    ordinary = recent.filter(reconcile_completed=False).aggregate(
        n=Count("pk"), size=Sum("bytes_downloaded")
    )
    if not ordinary["n"]:
        return None
    per_run = ordinary["size"] / ordinary["n"]
    runs_a_day = DAY / timedelta(minutes=site_settings.sync_interval_minutes)
    check = _last_check_bytes(connection)
    return round(runs_a_day * per_run + check / site_settings.reconcile_every_days)


def _last_check_bytes(connection: XpmConnection) -> int:
    """What a check for deleted clients costs: the last one's, else an estimate from the
    last full list."""
    for usage in (
        SyncRun.objects.filter(connection=connection, reconcile_completed=True)
        .order_by("-created_at")
        .values_list("usage", flat=True)[:1]
    ):
        return (usage or {}).get("reconcile", {}).get("bytes", 0)
    for usage in (
        SyncRun.objects.filter(connection=connection, full=True, list_completed=True)
        .order_by("-created_at")
        .values_list("usage", flat=True)[:1]
    ):
        return round(PAGED_LIST_SHARE * (usage or {}).get("list", {}).get("bytes", 0))
    return 0


def egress_for(
    connection: XpmConnection,
    *,
    now: datetime | None = None,
    site_settings: XpmSiteSettings | None = None,
) -> Egress:
    """This month's downloads for one site, the forecast and its allowance.
    ``site_settings``: the site's, when the caller has them already (read once, not twice)."""
    now = now or timezone.now()
    start, end = month_bounds(now)
    totals = _month_runs([connection], start, end).aggregate(
        size=Sum("bytes_downloaded"), calls=Sum("api_calls"), n=Count("pk")
    )
    used = totals["size"] or 0
    if site_settings is None:
        site_settings = XpmSiteSettings.for_site(connection.site)
    pace = daily_pace(connection, now=now, site_settings=site_settings)
    return Egress(
        used=used,
        calls=totals["calls"] or 0,
        runs=totals["n"],
        forecast=None if pace is None else round(used + pace * ((end - now) / DAY)),
        allowance=None if site_settings.egress_allowance_shared else allowance_bytes(site_settings),
        month_start=start,
        month_end=end,
    )


def total_egress(connections: Iterable[XpmConnection], *, now: datetime | None = None) -> Egress:
    """The month's downloads summed over several sites (an agency's), against the
    allowance their settings say they share (the smallest, if they differ)."""
    now = now or timezone.now()
    start, end = month_bounds(now)
    connections = list(connections)
    per_site = [egress_for(connection, now=now) for connection in connections]
    shared = [
        allowance_bytes(s)
        for s in XpmSiteSettings.objects.filter(
            Q(egress_allowance_shared=True) & ~Q(egress_allowance_gb=None),
            site__in=[c.site_id for c in connections],
        )
    ]
    forecasts = [e.forecast for e in per_site]
    return Egress(
        used=sum(e.used for e in per_site),
        calls=sum(e.calls for e in per_site),
        runs=sum(e.runs for e in per_site),
        forecast=None
        if per_site and all(f is None for f in forecasts)
        else sum(f if f is not None else e.used for f, e in zip(forecasts, per_site, strict=True)),
        allowance=min((a for a in shared if a), default=None),
        month_start=start,
        month_end=end,
    )
