"""Refreshing rotating Xero tokens through the database: once, persisted, never lost."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.db import connections

from wagtail_xpm import services
from wagtail_xpm.models import XpmConnection
from wagtail_xpm.tokenstore import DatabaseTokenStore
from wagtail_xpm.xpm.errors import XpmReauthorizationRequired

pytestmark = pytest.mark.django_db


def token_calls(sandbox) -> int:
    return sandbox.calls_by_path.get("/connect/token", 0)


def test_expired_access_token_is_refreshed_and_persisted(connected_site, running_sandbox):
    sandbox = running_sandbox.sandbox
    before = connected_site.get_token_set()
    sandbox.advance(seconds=31 * 60)  # past the 30-minute access token lifetime
    calls = token_calls(sandbox)

    staff = services.client_for(connected_site).list_staff()

    assert staff
    assert token_calls(sandbox) == calls + 1
    connected_site.refresh_from_db()
    after = connected_site.get_token_set()
    assert after.refresh_token != before.refresh_token
    assert after.access_token != before.access_token
    assert connected_site.refresh_count == 1


def test_refused_refresh_marks_needs_reauth_and_keeps_the_row(
    connected_site, running_sandbox, django_capture_on_commit_callbacks
):
    from wagtail_xpm import notifications

    sandbox = running_sandbox.sandbox
    # Spend the refresh token elsewhere and let the grace window pass.
    stale = connected_site.get_token_set()
    services.oauth().refresh(stale)
    sandbox.advance(seconds=61 * 60)
    heard: list[str] = []
    listener = notifications.subscribe(lambda event, **data: heard.append(event))

    try:
        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(XpmReauthorizationRequired),
        ):
            services.client_for(connected_site).list_staff()
    finally:
        notifications.unsubscribe(listener)
    assert heard == ["connection_needs_reauth"]

    connected_site.refresh_from_db()
    assert connected_site.status == XpmConnection.Status.NEEDS_REAUTH
    assert "Reconnect" in connected_site.last_error
    assert connected_site.token_ciphertext  # nothing deleted


def test_waiter_uses_the_set_another_worker_stored(connected_site):
    store = DatabaseTokenStore(connected_site.pk)
    stale = store.load()
    fresh = store.refresh(stale, services.oauth().refresh)

    def must_not_refresh(_):
        raise AssertionError("a second refresh would spend the new refresh token")

    assert store.refresh(stale, must_not_refresh) == fresh


@pytest.mark.django_db(transaction=True)
def test_twenty_threads_cause_exactly_one_refresh(connected_site, running_sandbox):
    if db_connection.vendor != "postgresql":
        pytest.skip("row locks across connections need PostgreSQL (set DATABASE_URL)")
    sandbox = running_sandbox.sandbox
    sandbox.advance(seconds=31 * 60)
    calls = token_calls(sandbox)
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []
    results: list[int] = []

    def worker():
        try:
            client = services.client_for(XpmConnection.objects.get(pk=connected_site.pk))
            barrier.wait(timeout=10)
            results.append(len(client.list_staff()))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not errors, errors
    assert len(results) == 20
    assert token_calls(sandbox) == calls + 1
    connected_site.refresh_from_db()
    assert connected_site.status == XpmConnection.Status.CONNECTED
    assert connected_site.refresh_count == 1


def test_keep_tokens_fresh_task_refreshes_idle_connections(connected_site, running_sandbox):
    from django.utils import timezone

    from wagtail_xpm.connection.tasks import keep_tokens_fresh

    XpmConnection.objects.filter(pk=connected_site.pk).update(
        last_refreshed_at=timezone.now() - timedelta(days=8)
    )
    calls = token_calls(running_sandbox.sandbox)
    keep_tokens_fresh()  # Huey immediate mode runs it now (periodic tasks keep no result)
    assert token_calls(running_sandbox.sandbox) == calls + 1
    connected_site.refresh_from_db()
    assert connected_site.refresh_count == 1
    assert connected_site.last_refreshed_at > timezone.now() - timedelta(minutes=1)


def test_a_cached_token_refused_after_a_reconnect_is_read_again(connected_site, running_sandbox):
    client = services.client_for(connected_site)
    assert client.list_staff()  # the client now holds the access token
    old = connected_site.get_token_set()
    # An admin reconnects (a new grant is stored) and the old grant is revoked at Xero.
    tokens = running_sandbox.sandbox.issue_tokens()
    services.connect_with_refresh_token(
        site=connected_site.site, refresh_token=tokens["refresh_token"]
    )
    services.oauth().revoke(old)
    staff = client.list_staff()  # refused with the cached token, then read from the store
    assert staff
    connected_site.refresh_from_db()
    assert connected_site.get_token_set().access_token != old.access_token
