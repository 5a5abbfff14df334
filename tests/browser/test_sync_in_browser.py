"""A site admin maps a custom field, syncs and browses the contacts in a real browser."""

from __future__ import annotations

import re
import time

import pytest
from django.db import OperationalError
from django.utils import timezone

from wagtail_xpm import services
from wagtail_xpm.models import Contact, FieldMapping, SyncRun, XpmConnection

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_map_a_custom_field_sync_now_and_browse_contacts(
    logged_in, screenshot, live_server, connected_site
):
    page = logged_in

    # The mapping editor reads XPM's custom fields live and suggests a label and key.
    page.goto(f"{live_server.url}/admin/xpm/field-mappings/new/")
    assert page.locator("[data-xpm-definitions=live]").count() == 1
    page.select_option("select[name=source]", "custom:Plan Level")
    assert page.input_value("input[name=label]") == "Plan Level"
    assert page.input_value("input[name=key]") == "plan_level"
    assert "Costs one API call per changed client" in page.inner_text("[data-xpm-mapping-type]")
    fit(page)
    screenshot("field-mapping-form")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(f"{live_server.url}/admin/xpm/field-mappings/")
    assert page.get_by_text("'Plan Level' is mapped").count() == 1
    assert FieldMapping.objects.get(key="plan_level").value_type == "choice"
    fit(page)
    screenshot("field-mappings")

    # Sync now: the run happens (Huey runs tasks immediately in tests) and the page shows
    # its progress bar at the end, with the summary.
    page.goto(f"{live_server.url}/admin/xpm/sync/{connected_site.site_id}/")
    page.click("[data-xpm-action=sync]")
    page.wait_for_url(re.compile(r".*/admin/xpm/sync/\d+/\?run=\d+$"))
    card = page.locator("[data-xpm-run]")
    card.locator("xpath=self::*[@data-xpm-finished='true']").wait_for()
    run = SyncRun.objects.get()
    assert run.status == "succeeded" and run.trigger == "admin"
    assert card.get_attribute("data-xpm-run-status") == "succeeded"
    assert page.locator("[data-xpm-progress]").get_attribute("aria-valuenow") == "100"
    headline = page.inner_text("[data-xpm-field=headline]")
    assert headline.startswith("Sync finished.")
    assert f"{run.created} created" in headline
    assert page.inner_text("[data-xpm-count=created]") == str(run.created)
    assert run.custom_fields_fetched > 0
    fit(page)
    shot = screenshot("sync-progress")
    assert shot.stat().st_size > 10_000

    # A dry run next to it: nothing changes, the report says what would.
    contacts_before = Contact.objects.count()
    page.click("[data-xpm-action=dry-run]")
    page.locator(
        "[data-xpm-run][data-xpm-finished='true'][data-xpm-run-status='succeeded']"
    ).wait_for()
    assert page.inner_text("[data-xpm-field=headline]").startswith("Dry run finished")
    assert Contact.objects.count() == contacts_before
    page.click("[data-xpm-detail] a")
    page.locator("[data-xpm-dry-run-report]").wait_for()
    fit(page)
    screenshot("sync-dry-run")

    page.goto(f"{live_server.url}/admin/xpm/sync-history/")
    assert page.locator("table.listing tbody tr").count() == 2
    fit(page)
    screenshot("sync-history")

    # The contacts listing has the synced people, filterable on a mapped field.
    page.goto(f"{live_server.url}/admin/contacts/")
    contact = Contact.objects.exclude(email="").exclude(data__plan_level=None).first()
    assert page.get_by_text(contact.email).count() == 1
    manager = contact.data["account_manager"]
    page.goto(f"{live_server.url}/admin/contacts/?data__account_manager={manager}")
    expected = Contact.objects.filter(data__account_manager=manager).count()
    assert page.locator("table.listing tbody tr").count() == expected
    fit(page)
    screenshot("contacts")

    page.goto(f"{live_server.url}/admin/contacts/inspect/{contact.pk}/")
    assert page.inner_text("[data-xpm-key=plan_level]") == contact.data["plan_level"]
    fit(page)
    screenshot("contact-detail")


def fit(page) -> None:
    """Grow the viewport to the page: Wagtail's admin scrolls inside its layout, so a
    full-page screenshot alone would stop at the first screen."""
    page.set_viewport_size({"width": 1280, "height": 900})
    height = page.evaluate(
        """() => Math.max(...[document.documentElement, document.body,
            document.querySelector('main'), document.querySelector('.content-wrapper')]
            .filter(Boolean).map((e) => e.scrollHeight))"""
    )
    page.set_viewport_size({"width": 1280, "height": max(900, min(height + 24, 2600))})


def _update_run(run_id: int, **fields) -> None:
    """Write to the run the way a worker would (retrying SQLite's in-memory table locks)."""
    for attempt in range(20):
        try:
            SyncRun.objects.filter(pk=run_id).update(**fields)
            return
        except OperationalError:
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("could not update the run")


def test_the_progress_bar_follows_a_running_sync(
    logged_in, screenshot, live_server, connected_site
):
    """The page polls the run once a second and turns into the summary when it ends."""
    page = logged_in
    run = services.new_sync_run(connected_site, trigger="schedule", full=True)
    page.goto(f"{live_server.url}/admin/xpm/sync/{connected_site.site_id}/")
    assert "Waiting for the background worker" in page.inner_text("[data-xpm-field=headline]")
    assert page.locator("[data-xpm-action=sync]").is_disabled()

    now = timezone.now()
    _update_run(
        run.pk, status="running", started_at=now, heartbeat_at=now,
        phase="Reading custom fields", progress_done=10, progress_total=25, clients_seen=25,
        api_calls=11, bytes_downloaded=61_500,
    )  # fmt: skip
    page.locator("[data-xpm-progress][aria-valuenow='40']").wait_for(timeout=10_000)
    assert page.inner_text("[data-xpm-field=headline]") == "Reading custom fields"
    assert (
        page.inner_text("[data-xpm-field=phase_line]")
        == "10 of 25 done · 11 API calls, 61.5 kB so far"
    )
    assert "Queued" in page.inner_text("[data-xpm-refresh=recent]")
    assert page.inner_text("[data-xpm-field=status_label]") == "Running"
    fit(page)
    screenshot("sync-running")

    XpmConnection.objects.filter(pk=connected_site.pk).update(day_calls_remaining=4970)
    _update_run(
        run.pk, status="succeeded", finished_at=timezone.now(), phase="Updating contacts",
        progress_done=25, created=31, updated=2, unchanged=4, skipped_duplicates=1,
        archived=3, api_calls=27, day_calls_remaining=4970, bytes_downloaded=98_000,
    )  # fmt: skip
    page.locator("[data-xpm-run][data-xpm-finished='true']").wait_for(timeout=10_000)
    assert page.inner_text("[data-xpm-field=status_label]") == "Succeeded"
    assert page.inner_text("[data-xpm-count=created]") == "31"
    assert page.inner_text("[data-xpm-count=archived]") == "3"
    assert page.inner_text("[data-xpm-field=headline]").startswith(
        "Sync finished. Contacts: 31 created, 2 updated"
    )
    assert "27 API calls · 98.0 kB downloaded" in page.inner_text("[data-xpm-field=phase_line]")
    assert page.locator("[data-xpm-detail]").is_visible()
    assert page.locator("[data-xpm-action=sync]").is_enabled()
    # The rest of the page catches up with the finished run: the recent runs no longer say
    # "Queued", the calls left today, the last sync and this month's downloads are new.
    recent = page.locator("[data-xpm-refresh=recent]")
    recent.get_by_text("Succeeded").wait_for(timeout=10_000)
    assert "Queued" not in recent.inner_text() and "98.0 kB" in recent.inner_text()
    facts = page.inner_text("[data-xpm-refresh=facts]")
    assert "4970 API calls left today" in facts and "Never" not in facts
    assert "98.0 kB" in facts
