"""What syncing costs, shown in the admin: bytes per run in the Sync page and the history,
this month's downloads and forecast per site and for all sites on the connection page, a
warning before an allowance is reached, the custom fields' freshness, the check for
deleted clients, and a Sync page that stays true after a live run."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Site

from wagtail_xpm import services
from wagtail_xpm.models import FieldMapping, PracticeClient, SyncRun, XpmConnection, XpmSiteSettings
from wagtail_xpm.sync import egress

pytestmark = pytest.mark.django_db


def page_text(response) -> str:
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def sync_page(client, connection) -> str:
    return page_text(client.get(reverse("wagtail_xpm_sync:site", args=[connection.site_id])))


def region(page: str, name: str) -> str:
    """The part of a page the Sync page's script refreshes after a live run."""
    match = re.search(rf'data-xpm-refresh="{name}".*?</(dl|section)>', page, re.S)
    assert match, name
    return match.group(0)


def test_each_run_shows_what_it_downloaded(admin_client, connected_site, sync):
    first = sync()
    page = sync_page(admin_client, connected_site)
    shown = egress.format_bytes(first.bytes_downloaded)
    assert shown in region(page, "recent")
    assert f"{first.api_calls} call" in region(page, "recent")
    history = page_text(admin_client.get(reverse("wagtail_xpm_syncrun:index")))
    assert "Downloaded" in history and shown in history
    detail = page_text(admin_client.get(reverse("wagtail_xpm_syncrun:inspect", args=[first.pk])))
    assert "Downloaded from XPM" in detail and shown in detail
    assert "Changed clients (client list)" in detail
    data = admin_client.get(reverse("wagtail_xpm_sync:progress", args=[first.pk])).json()
    assert data["bytes_downloaded"] == first.bytes_downloaded and data["downloaded"] == shown


def test_the_month_and_its_forecast_per_site_and_for_all_sites(admin_client, connected_site, sync):
    runs = [sync() for _ in range(3)]
    used = sum(r.bytes_downloaded for r in runs)
    figures = egress.egress_for(connected_site)
    assert figures.used == used and figures.runs == 3
    assert figures.calls == sum(r.api_calls for r in runs)
    # The pace: the two ordinary runs' average at the hourly interval, plus a weekly check
    # estimated from the first (full) list until one is made.
    per_run = sum(r.bytes_downloaded for r in runs[1:]) / 2
    check = round(egress.PAGED_LIST_SHARE * runs[0].usage["list"]["bytes"])
    assert egress.daily_pace(connected_site, now=timezone.now()) == round(24 * per_run + check / 7)
    assert figures.forecast >= used
    page = sync_page(admin_client, connected_site)
    assert egress.format_bytes(used) in region(page, "facts")
    assert "by the month's end" in region(page, "facts")

    status = page_text(admin_client.get(reverse("wagtail_xpm:status")))
    assert "Downloaded this month" in status and egress.format_bytes(used) in status
    assert "all sites" not in status  # one site: no agency total

    # A second firm on the same installation: the agency's total adds both up.
    other_site = Site.objects.create(
        hostname="firm2.example.test", root_page=connected_site.site.root_page
    )
    other = XpmConnection.objects.create(site=other_site, status="connected", tenant_id="t2")
    SyncRun.objects.create(
        connection=other, trigger="cli", status="succeeded", bytes_downloaded=5_000_000
    )
    total = egress.total_egress([connected_site, other])
    assert total.used == used + 5_000_000
    status = page_text(admin_client.get(reverse("wagtail_xpm:status")))
    assert "Downloaded from XPM this month, all sites" in status
    assert egress.format_bytes(used + 5_000_000) in status


def test_a_warning_comes_before_the_allowance_is_reached(admin_client, connected_site, sync):
    sync()
    sync()
    used = egress.egress_for(connected_site).used
    site_settings = XpmSiteSettings.for_site(connected_site.site)
    site_settings.egress_allowance_gb = Decimal("0.1")  # the smallest: 100 MB
    site_settings.save()
    figures = egress.egress_for(connected_site)
    assert figures.allowance == 100_000_000
    assert used < 1_000_000 and not figures.near_allowance  # far from 100 MB
    # Pretend this month downloaded 90 MB: past 80% of the allowance.
    SyncRun.objects.filter(pk=SyncRun.objects.first().pk).update(bytes_downloaded=90_000_000)
    figures = egress.egress_for(connected_site)
    assert figures.near_allowance
    warning = figures.warning()
    assert "against an allowance of 100 MB" in warning
    assert warning in sync_page(admin_client, connected_site)
    assert warning in page_text(admin_client.get(reverse("wagtail_xpm:status")))
    # Past the allowance, the words change.
    SyncRun.objects.filter(pk=SyncRun.objects.first().pk).update(bytes_downloaded=120_000_000)
    assert "have passed the allowance" in egress.egress_for(connected_site).warning()


def test_an_agencys_shared_allowance_is_held_against_every_sites_total(connected_site, sync):
    sync()
    site_settings = XpmSiteSettings.for_site(connected_site.site)
    site_settings.egress_allowance_gb = Decimal("250")  # the agency's, for every site
    site_settings.egress_allowance_shared = True
    site_settings.save()
    assert egress.egress_for(connected_site).allowance is None  # not this site's alone
    total = egress.total_egress([connected_site])
    assert total.allowance == 250 * egress.GB


def test_the_month_starts_on_the_first_in_the_sites_time_zone(settings):
    settings.TIME_ZONE = "Pacific/Auckland"
    now = timezone.make_aware(timezone.datetime(2026, 3, 1, 0, 30))  # NZ time
    start, end = egress.month_bounds(now)
    assert (start.day, start.month, start.hour) == (1, 3, 0)
    assert (end.day, end.month) == (1, 4)
    assert end - start == timedelta(days=31)
    assert egress.format_bytes(250 * egress.GB) == "250 GB"
    assert egress.format_bytes(1_234) == "1.2 kB"


def test_custom_field_freshness_is_shown_with_what_it_needs(
    admin_client, connected_site, sync, settings
):
    FieldMapping.objects.create(
        connection=connected_site, source="custom:Plan Level", key="plan_level", label="Plan"
    )
    sync()
    PracticeClient.objects.update(custom_fields_fetched_at=timezone.now() - timedelta(days=3))
    facts = region(sync_page(admin_client, connected_site), "facts")
    assert "Oldest value read 3 days ago" in facts and "kept under 7 days" in facts
    assert "CUSTOM_FIELD_REFRESH_SHARE" not in facts
    # A share too small to keep every value under the maximum age: said, with the fix.
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, "CUSTOM_FIELD_REFRESH_SHARE": 0.0001}
    facts = region(sync_page(admin_client, connected_site), "facts")
    assert "Raise CUSTOM_FIELD_REFRESH_SHARE to" in facts


def test_check_for_deleted_clients_button(
    admin_client, connected_site, sync, django_capture_on_commit_callbacks
):
    sync()
    page = sync_page(admin_client, connected_site)
    assert 'data-xpm-action="reconcile"' in page
    assert "a full sync also runs daily" not in page
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("wagtail_xpm_sync:start", args=[connected_site.site_id]),
            {"mode": "reconcile"},
        )
    run = SyncRun.objects.first()
    assert run.reconcile and run.reconcile_completed and not run.full
    detail = page_text(admin_client.get(reverse("wagtail_xpm_syncrun:inspect", args=[run.pk])))
    assert "Sync + check for deleted clients" in detail
    assert "Check for deleted clients" in detail  # its calls in the usage table
    assert "0 found" in detail


def test_deleted_clients_and_skipped_duplicates_are_named(
    admin_client, connected_site, running_sandbox, sync
):
    sandbox = running_sandbox.sandbox
    first = sync()
    gone = next(c for c in sandbox.state.clients.values() if not (c.is_archived or c.is_deleted))
    del sandbox.state.clients[gone.uuid]
    sandbox.state.reindex()
    run = sync(reconcile=True)
    detail = page_text(admin_client.get(reverse("wagtail_xpm_syncrun:inspect", args=[run.pk])))
    assert "Clients no longer in XPM" in detail and gone.name in detail
    # A skipped duplicate shows the person's name; its UUID is only a tooltip.
    skipped = first.report["skipped_duplicates"][0]
    detail = page_text(admin_client.get(reverse("wagtail_xpm_syncrun:inspect", args=[first.pk])))
    assert f'<span title="{skipped["contact_id"]}">{skipped["name"]}</span>' in detail
    assert f'<code class="xpm-mono">{skipped["contact_id"]}</code>' not in detail


def test_the_parts_a_live_run_changes_are_marked_for_refreshing(admin_client, connected_site, sync):
    """sync.js swaps these parts for the server's new ones when a watched run finishes:
    the recent runs (no more "Queued"), calls left, last sync, this month's downloads."""
    run = services.new_sync_run(connected_site, trigger="admin")
    page = sync_page(admin_client, connected_site)
    assert "Queued" in region(page, "recent")
    assert "Never" in region(page, "facts")
    services.execute_sync_run(run.pk)
    page = sync_page(admin_client, connected_site)
    assert "Queued" not in region(page, "recent") and "Succeeded" in region(page, "recent")
    run.refresh_from_db()
    assert f"{run.day_calls_remaining} API calls left today" in region(page, "facts")
    assert "Never" not in region(page, "facts")


def test_the_site_settings_offer_the_check_interval_and_the_allowance(admin_client, connected_site):
    url = reverse(
        "wagtailsettings:edit", args=["wagtail_xpm", "xpmsitesettings", connected_site.site_id]
    )
    page = page_text(admin_client.get(url))
    assert "Check for clients deleted in XPM every (days)" in page
    assert "Monthly XPM download allowance (GB)" in page
    assert "Allowance shared by all sites" in page
