"""Custom fields that stay fresh inside the budget: XPM does not mark a client changed when
only a custom field changes, so a rolling refresh re-reads the oldest values, paced to keep
every one under CUSTOM_FIELD_MAX_AGE, from a share of the daily budget, and the clients
someone can be emailed at come first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import F
from django.utils import timezone
from sandbox_edits import (
    active_clients,
    linked_contacts,
    new_contact,
    now,
    set_custom_value_only,
)

from wagtail_xpm.models import (
    Contact,
    FieldMapping,
    PracticeClient,
    Segment,
    SyncRun,
    XpmSiteSettings,
)
from wagtail_xpm.sandbox.models import Client
from wagtail_xpm.sync import freshness

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)


@pytest.fixture
def plan_level(connected_site):
    return FieldMapping.objects.create(
        connection=connected_site, source="custom:Plan Level", key="plan_level", label="Plan"
    )


def age_every_value(by: timedelta) -> None:
    """As if the values had been read ``by`` earlier (time passes for the database only)."""
    PracticeClient.objects.exclude(custom_fields_fetched_at=None).update(
        custom_fields_fetched_at=F("custom_fields_fetched_at") - by
    )


def emailed_client(sandbox) -> Client:
    return next(
        c
        for c in active_clients(sandbox)
        if not c.is_archived and any(p.email for p in linked_contacts(sandbox, c))
    )


def test_a_custom_field_changed_alone_reaches_the_website_within_the_maximum_age(
    sync, running_sandbox, plan_level
):
    sandbox = running_sandbox.sandbox
    sync()
    client = emailed_client(sandbox)
    row = PracticeClient.objects.get(uuid=client.uuid)
    new = "Gold" if row.data.get("plan_level") != "Gold" else "Bronze"
    set_custom_value_only(sandbox, client, "Plan Level", new)

    # XPM does not list the client as changed, and the values are fresh: nothing to read.
    quiet = sync()
    assert quiet.api_calls == 1 and quiet.clients_seen == 0
    assert PracticeClient.objects.get(uuid=client.uuid).data.get("plan_level") != new

    # Six days later the values are not due yet (a paced handful at most)...
    age_every_value(timedelta(days=6))
    early = sync()
    assert early.custom_fields_fetched < 5
    # ...a day later every one would pass the maximum age before the next run: all re-read.
    age_every_value(timedelta(days=1))
    due = sync()
    priority = freshness.priority_clients(plan_level.connection)
    assert due.usage["custom_refresh"]["calls"] == due.custom_fields_fetched >= len(priority) - 5
    assert due.report["custom_fields"]["refresh_due"] >= len(priority) - 5
    assert PracticeClient.objects.get(uuid=client.uuid).data["plan_level"] == new
    people = Contact.objects.filter(primary_client__uuid=client.uuid)
    assert people and {c.data["plan_level"] for c in people} == {new}
    state = freshness.freshness(plan_level.connection, now=timezone.now())
    assert state.oldest < timedelta(days=1) and not state.too_old


def test_the_refresh_never_takes_more_than_its_share_of_the_day(
    sync, running_sandbox, connected_site, plan_level, settings
):
    settings.WAGTAIL_XPM = {
        **settings.WAGTAIL_XPM,
        "DAILY_CALL_LIMIT": 5000,
        "CUSTOM_FIELD_REFRESH_SHARE": 8 / 5000,  # 8 calls a day
    }
    site_settings = XpmSiteSettings.for_site(connected_site.site)
    site_settings.sync_interval_minutes = 24 * 60  # one run a day may use the day's share
    site_settings.save()
    sync()
    age_every_value(WEEK)  # everything overdue
    first = sync()
    assert first.usage["custom_refresh"]["calls"] == 8
    assert first.report["custom_fields"]["refresh_allowance"] == 8
    # The rest of the day's share is spent: the next run reads nothing more.
    again = sync()
    assert "custom_refresh" not in again.usage
    assert again.report["custom_fields"]["refresh_allowance"] == 0
    # A day later the share is back.
    SyncRun.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert sync().usage["custom_refresh"]["calls"] == 8
    # Held back by the share, some values are past the maximum age for now.
    assert freshness.freshness(plan_level.connection, now=timezone.now()).too_old


def test_clients_someone_can_email_are_read_first_and_the_wait_is_said(
    sync, running_sandbox, connected_site, plan_level
):
    sandbox = running_sandbox.sandbox
    # Clients nobody can be emailed at: no address on any contact.
    for n in range(3):
        silent = Client(uuid=sandbox.state.new_uuid(), name=f"Quiet Trust {n}")
        sandbox.state.add_client(silent, now(sandbox))
        new_contact(sandbox, silent, f"Trustee {n}", email="")
    site_settings = XpmSiteSettings.for_site(connected_site.site)
    site_settings.daily_call_reserve = 5000 - 12  # 11 reads after the list call
    site_settings.save()

    first = sync()
    assert first.status == SyncRun.Status.PARTIAL
    read = set(
        PracticeClient.objects.exclude(custom_fields_fetched_at=None).values_list("uuid", flat=True)
    )
    priority = freshness.priority_clients(connected_site)
    # About 11 reads: the budget is XPM's count as last reported, with up to five reads in
    # flight (answers can arrive out of order), so a few more or less.
    assert len(read) == first.custom_fields_fetched and 7 <= len(read) <= 16
    assert read <= priority  # nobody-to-email clients wait
    assert "Quiet Trust 0" not in PracticeClient.objects.filter(uuid__in=read).values_list(
        "name", flat=True
    )
    left = len(priority) - len(read)
    days = -(-left // 12)  # at the 12 calls a day above the reserve
    assert f"{left} clients are queued for the next sync" in first.message
    assert f"in about {days} day{'s' if days > 1 else ''} at 12 calls a day" in first.message
    assert first.report["custom_fields"]["days_to_read_all"] == days

    # Budget back: the owed clients someone can email first, then, budget left over, the
    # others.
    site_settings.daily_call_reserve = 100
    site_settings.save()
    second = sync()
    assert second.status == SyncRun.Status.SUCCEEDED
    live = PracticeClient.objects.filter(is_archived=False, is_deleted=False)
    owed = live.count() - len(read)
    assert second.usage["custom_fields"]["calls"] == second.custom_fields_fetched == owed
    assert second.custom_fields_pending == 0
    quiet = PracticeClient.objects.filter(name__startswith="Quiet Trust")
    assert len(quiet) == 3 and all(c.custom_fields_fetched_at for c in quiet)


def test_archived_clients_values_are_read_only_for_a_segment_that_wants_them(
    sync, running_sandbox, connected_site, plan_level
):
    sandbox = running_sandbox.sandbox
    first = sync()
    archived = PracticeClient.objects.filter(is_archived=True)
    assert archived and not any(c.custom_fields_fetched_at for c in archived)
    assert not PracticeClient.objects.filter(custom_fields_pending=True).exists()
    assert first.custom_fields_pending == 0
    # Lapsed Gold clients, for a win-back campaign: now their values are wanted.
    Segment.objects.create(
        connection=connected_site,
        name="Lapsed Gold",
        rules=[
            {"field": "is_archived", "op": "eq", "value": True},
            {"field": "plan_level", "op": "eq", "value": "Gold"},
        ],
    )
    assert freshness.segment_needs(connected_site) == freshness.Needs(True, True)
    sync(full=True)
    assert all(c.custom_fields_fetched_at for c in PracticeClient.objects.filter(is_archived=True))
    assert sandbox  # (the same practice throughout)


def test_a_segment_on_a_custom_field_makes_every_client_with_a_contact_count(
    sync, running_sandbox, connected_site, plan_level
):
    sandbox = running_sandbox.sandbox
    silent = Client(uuid=sandbox.state.new_uuid(), name="Quiet Trust")
    sandbox.state.add_client(silent, now(sandbox))
    new_contact(sandbox, silent, "Trustee", email="")
    sync()
    assert silent.uuid not in freshness.priority_clients(connected_site)
    Segment.objects.create(
        connection=connected_site,
        name="Gold plans",
        rules=[{"field": "plan_level", "op": "eq", "value": "Gold"}],
    )
    assert silent.uuid in freshness.priority_clients(connected_site)


# --------------------------------------------------------------------------- pacing


T0 = datetime(2026, 3, 2, tzinfo=UTC)


def test_a_week_of_values_read_at_once_is_spread_over_the_weeks_runs() -> None:
    fetched = [T0] * 8940
    quota = freshness.paced_quota(fetched, now=T0 + HOUR, interval=HOUR, age=WEEK)
    runs = (WEEK - freshness.refresh_margin(HOUR, WEEK)) / HOUR  # about 167 a week
    assert 8940 / (runs + 1) - 1 <= quota <= 8940 / (runs - 1)


def test_values_due_before_the_next_run_are_all_read_now() -> None:
    fetched = [T0 - WEEK] * 30 + [T0] * 5
    assert freshness.paced_quota(fetched, now=T0, interval=HOUR, age=WEEK) >= 30


def test_a_small_practice_is_read_as_its_values_fall_due_not_one_a_run() -> None:
    assert freshness.paced_quota([T0] * 25, now=T0, interval=HOUR, age=WEEK) == 0
    assert freshness.paced_quota([], now=T0, interval=HOUR, age=WEEK) == 0


def test_the_admin_is_told_when_the_share_cannot_keep_every_value_fresh(plan_level) -> None:
    state = freshness.Freshness(
        priority=8940, read=8940, oldest=timedelta(days=8), max_age=WEEK,
        reads_needed_per_day=1278, share_per_day=1000,
    )  # fmt: skip
    assert state.too_old and not state.keeps_up
    assert round(state.share_needed, 3) == 0.256
    live = freshness.freshness(plan_level.connection, now=T0)
    assert live.priority == live.read == 0 and live.oldest is None and live.keeps_up


def test_staggered_values_keep_a_steady_pace() -> None:
    # One value read every 10 minutes over the last week: 6 fall due an hour, plus the
    # ones inside the margin kept for a late run (70 minutes).
    fetched = [T0 - timedelta(minutes=10 * i) for i in range(7 * 24 * 6)]
    quota = freshness.paced_quota(fetched, now=T0, interval=HOUR, age=WEEK)
    assert 6 <= quota <= 14
    later = freshness.paced_quota(
        [*fetched[:-quota], *[T0] * quota], now=T0 + HOUR, interval=HOUR, age=WEEK
    )
    assert 5 <= later <= 7  # then a steady six an hour
