"""The Sync page: Sync now / Full sync / Dry run, live progress JSON and the sync history."""

from __future__ import annotations

import html

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from wagtail_xpm import services
from wagtail_xpm.models import Contact, FieldMapping, Segment, SyncRun

pytestmark = pytest.mark.django_db


def assert_denied(response) -> None:
    """Wagtail's admin answers a missing permission by sending the user to the dashboard."""
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def start_url(connection) -> str:
    return reverse("wagtail_xpm_sync:start", args=[connection.site_id])


def page_text(response) -> str:
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def press(client, connection, mode, capture):
    """Press a Sync page button; the queued task runs when the request's transaction commits."""
    with capture(execute=True):
        response = client.post(start_url(connection), {"mode": mode})
    return response


def test_sync_page_offers_the_three_buttons(admin_client, connected_site):
    page = page_text(
        admin_client.get(reverse("wagtail_xpm_sync:site", args=[connected_site.site_id]))
    )
    for action in ('data-xpm-action="sync"', 'data-xpm-action="full"', 'data-xpm-action="dry-run"'):
        assert action in page
    assert "No syncs yet." in page
    # One connected site: the menu's Sync entry goes straight to it.
    response = admin_client.get(reverse("wagtail_xpm_sync:index"))
    assert response["Location"] == reverse("wagtail_xpm_sync:site", args=[connected_site.site_id])
    # The connection card links here.
    assert reverse("wagtail_xpm_sync:site", args=[connected_site.site_id]) in page_text(
        admin_client.get(reverse("wagtail_xpm:status"))
    )


def test_sync_now_runs_a_sync_and_reports_progress(
    admin_client, admin_user, connected_site, django_capture_on_commit_callbacks
):
    response = press(admin_client, connected_site, "sync", django_capture_on_commit_callbacks)
    run = SyncRun.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"?run={run.pk}")
    assert run.status == "succeeded" and run.trigger == "admin"
    assert run.triggered_by == admin_user and not run.dry_run
    assert run.created == Contact.objects.count() > 0

    data = admin_client.get(reverse("wagtail_xpm_sync:progress", args=[run.pk])).json()
    assert data["status"] == "succeeded" and data["finished"] is True
    assert data["percent"] == 100
    assert data["counts"]["created"] == run.created
    assert data["counts"]["skipped_duplicates"] == run.skipped_duplicates
    assert data["clients_seen"] == run.clients_seen > 0
    assert data["summary"]["created"] == run.created
    assert data["headline"].startswith("Sync finished.")
    assert f"{run.created} created" in data["headline"]

    page = page_text(admin_client.get(response["Location"]))
    assert f'data-xpm-progress-url="{reverse("wagtail_xpm_sync:progress", args=[run.pk])}"' in page
    assert 'data-xpm-finished="true"' in page
    assert data["headline"] in page


def test_full_sync_is_a_full_run(admin_client, connected_site, django_capture_on_commit_callbacks):
    press(admin_client, connected_site, "sync", django_capture_on_commit_callbacks)
    press(admin_client, connected_site, "full", django_capture_on_commit_callbacks)
    latest = SyncRun.objects.first()
    assert latest.full and latest.status == "succeeded"
    assert latest.unchanged == Contact.objects.count()


def test_dry_run_changes_nothing_and_shows_samples(
    admin_client, connected_site, django_capture_on_commit_callbacks
):
    press(admin_client, connected_site, "dry_run", django_capture_on_commit_callbacks)
    run = SyncRun.objects.get()
    assert run.dry_run and run.status == "succeeded"
    assert not Contact.objects.exists()
    assert run.created > 0
    samples = run.report["dry_run"]["create"]
    assert samples

    data = admin_client.get(reverse("wagtail_xpm_sync:progress", args=[run.pk])).json()
    assert data["headline"].startswith("Dry run finished, nothing was changed.")

    page = page_text(admin_client.get(reverse("wagtail_xpm_syncrun:inspect", args=[run.pk])))
    assert "What a sync would do" in page
    assert f"Would create {run.created} contacts" in page
    for sample in samples[:5]:
        assert sample["name"] in page


def test_history_lists_runs_and_the_detail_names_skipped_duplicates(admin_client, synced):
    page = page_text(admin_client.get(reverse("wagtail_xpm_syncrun:index")))
    assert "Command line" in page and "Succeeded" in page
    assert reverse("wagtail_xpm_syncrun:inspect", args=[synced.pk]) in page

    skipped = synced.report["skipped_duplicates"]
    assert skipped
    kept = Contact.objects.get(xpm_contact_id=skipped[0]["kept_contact_id"])
    page = page_text(admin_client.get(reverse("wagtail_xpm_syncrun:inspect", args=[synced.pk])))
    assert f"{synced.skipped_duplicates} duplicate email" in page
    assert kept.name in page and skipped[0]["contact_id"] in page
    # History is read-only.
    assert "/edit/" not in reverse("wagtail_xpm_syncrun:inspect", args=[synced.pk])


def test_a_queued_run_polls_as_waiting(admin_client, connected_site):
    run = services.new_sync_run(connected_site, trigger="admin")
    data = admin_client.get(reverse("wagtail_xpm_sync:progress", args=[run.pk])).json()
    assert data["status"] == "queued" and data["finished"] is False
    assert data["percent"] is None and data["summary"] is None
    assert "Waiting for the background worker" in data["headline"]

    # While it is queued, the buttons do not queue a second one.
    response = admin_client.post(start_url(connected_site), {"mode": "sync"})
    assert response["Location"].endswith(f"?run={run.pk}")
    assert SyncRun.objects.count() == 1
    page = page_text(admin_client.get(response["Location"]))
    assert "already under way" in page
    assert 'data-xpm-finished="false"' in page


def test_a_stopped_run_is_explained_in_words(admin_client, connected_site):
    message = (
        "Stopped reading custom fields with 100 XPM calls left today (the reserve for website "
        "leads is 100); 40 clients are queued for the next sync."
    )
    run = SyncRun.objects.create(
        connection=connected_site,
        trigger="schedule",
        status=SyncRun.Status.PARTIAL,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        created=5,
        message=message,
    )
    data = admin_client.get(reverse("wagtail_xpm_sync:progress", args=[run.pk])).json()
    assert data["status_label"] == "Stopped early"
    assert data["message"] == message
    assert data["headline"].startswith("Stopped early.")
    page = page_text(
        admin_client.get(reverse("wagtail_xpm_sync:site", args=[connected_site.site_id]))
    )
    assert "Stopped early" in page and message in page


def test_a_disconnected_site_cannot_sync(admin_client, connected_site):
    services.disconnect(connected_site)
    response = admin_client.post(start_url(connected_site), {"mode": "sync"}, follow=True)
    assert "not connected to Xero Practice Manager" in page_text(response)
    assert not SyncRun.objects.exists()


def test_a_failed_sync_says_why(
    admin_client, connected_site, running_sandbox, django_capture_on_commit_callbacks
):
    running_sandbox.sandbox.faults.throttle(5, problem="day", path="client.api/list")
    press(admin_client, connected_site, "sync", django_capture_on_commit_callbacks)
    run = SyncRun.objects.get()
    assert run.status == "failed"
    data = admin_client.get(reverse("wagtail_xpm_sync:progress", args=[run.pk])).json()
    assert data["tone"] == "error"
    assert "daily call limit" in data["message"] and "try again tomorrow" in data["message"]
    assert data["errors"] == []  # already said by the message
    assert data["headline"] == "The sync failed; no contacts were changed."
    assert not Contact.objects.exists()


def test_syncing_needs_the_manage_permission(
    viewer_client, manager_client, connected_site, django_capture_on_commit_callbacks
):
    run = services.new_sync_run(connected_site, trigger="cli")
    page = reverse("wagtail_xpm_sync:site", args=[connected_site.site_id])
    progress = reverse("wagtail_xpm_sync:progress", args=[run.pk])
    for url in (page, progress, reverse("wagtail_xpm_syncrun:index")):
        assert_denied(viewer_client.get(url))
    with django_capture_on_commit_callbacks(execute=True):
        assert_denied(viewer_client.post(start_url(connected_site), {"mode": "sync"}))
    assert SyncRun.objects.count() == 1

    run.status = SyncRun.Status.SUCCEEDED
    run.save()
    assert manager_client.get(page).status_code == 200
    assert manager_client.get(progress).json()["status"] == "succeeded"
    press(manager_client, connected_site, "sync", django_capture_on_commit_callbacks)
    assert SyncRun.objects.count() == 2
    assert SyncRun.objects.first().status == "succeeded"


def test_menu_shows_the_sync_screens_to_managers_and_contacts_to_viewers(
    admin_client, viewer_client, connected_site
):
    admin_menu = admin_client.get("/admin/").content.decode()
    for label in ("Xero Practice Manager", "Sync history", "Field mappings", "Contacts"):
        assert label in admin_menu
    viewer_menu = viewer_client.get("/admin/").content.decode()
    assert "Contacts" in viewer_menu
    assert "Sync history" not in viewer_menu and "Field mappings" not in viewer_menu


def sync_page_queries(client, connection) -> int:
    url = reverse("wagtail_xpm_sync:site", args=[connection.site_id])
    client.get(url)  # warm: the session, Wagtail's menus
    with CaptureQueriesContext(db_connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def add_runs(connection, count: int, **fields) -> list[SyncRun]:
    return [
        SyncRun.objects.create(connection=connection, trigger="schedule", **fields)
        for _ in range(count)
    ]


def test_the_sync_page_makes_a_bounded_number_of_queries(admin_client, connected_site):
    # Custom fields mapped and a segment on one, so the freshness panel is worked out.
    FieldMapping.objects.create(
        connection=connected_site, source="custom:Plan Level", key="plan_level", label="Plan"
    )
    Segment.objects.create(
        connection=connected_site,
        name="Gold",
        rules=[{"field": "plan_level", "op": "eq", "value": "Gold"}],
    )
    add_runs(connected_site, 2, status="succeeded", list_completed=True)
    few = sync_page_queries(admin_client, connected_site)

    # More history, checks for deleted clients and mapped fields: not one query more.
    add_runs(connected_site, 12, status="succeeded", list_completed=True, bytes_downloaded=9)
    add_runs(connected_site, 3, status="succeeded", reconcile=True, reconcile_completed=True)
    FieldMapping.objects.bulk_create(
        FieldMapping(connection=connected_site, source=f"custom:Field {i}", key=f"f{i}", label="F")
        for i in range(8)
    )
    many = sync_page_queries(admin_client, connected_site)
    assert many == few <= 25, (few, many)  # issue 17: every admin page makes at most 25 queries


def test_the_sync_page_follows_an_unfinished_run_older_than_the_short_history(
    admin_client, connected_site
):
    (stuck,) = add_runs(connected_site, 1, status="running")
    later = add_runs(connected_site, 6, status="succeeded")
    page = page_text(
        admin_client.get(reverse("wagtail_xpm_sync:site", args=[connected_site.site_id]))
    )
    assert reverse("wagtail_xpm_sync:progress", args=[stuck.pk]) in page
    # The short history still lists the five newest.
    for run in later[1:]:
        assert reverse("wagtail_xpm_syncrun:inspect", args=[run.pk]) in page
    assert reverse("wagtail_xpm_syncrun:inspect", args=[later[0].pk]) not in page
