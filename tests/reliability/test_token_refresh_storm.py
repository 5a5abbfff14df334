"""Fifty API calls find the access token expired at once: exactly one refresh reaches Xero.

Xero's refresh tokens rotate and are single-use, so a second refresh with the same token
would end in invalid_grant and a connection to reconnect by hand. In production several Huey
consumers (processes) with several threads each hit this together every 30 minutes; here
forked worker processes with threads each make one call behind a shared barrier, after the
sandbox clock has moved past the access token's lifetime.

Threads of one process queue on a process lock; processes queue on the connection row's
``SELECT ... FOR UPDATE``, which needs PostgreSQL (SQLite ignores it), so only the
one-process storm runs on SQLite (on a file copy of the test database, see
``SharedDatabase``).
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection as db_connection
from django.db import connections

from wagtail_xpm import services
from wagtail_xpm.models import XpmConnection

from .processes import FORK, SharedDatabase, Worker

pytestmark = pytest.mark.django_db(transaction=True)

CALLS = 50


def storm(connection_pk: int, threads: int, barrier, outcomes) -> None:
    """In one worker process: ``threads`` threads, one client and one API call each."""
    results: list = []

    def call() -> None:
        try:
            client = services.client_for(XpmConnection.objects.get(pk=connection_pk))
            barrier.wait(timeout=30)
            results.append(len(client.list_staff()))
        except BaseException as exc:  # reported to the test, which asserts there are none
            results.append(repr(exc))
        finally:
            connections.close_all()

    pool = [threading.Thread(target=call) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    outcomes.put(results)


@pytest.mark.parametrize("processes", [1, 5], ids=["1x50-threads", "5x10-threads"])
def test_fifty_concurrent_calls_with_an_expired_token_cause_exactly_one_refresh(
    processes, connected_site, running_sandbox, tmp_path, measured
):
    if processes > 1 and db_connection.vendor != "postgresql":
        pytest.skip("processes queue on SELECT ... FOR UPDATE: needs PostgreSQL")
    sandbox = running_sandbox.sandbox
    shared = SharedDatabase(tmp_path)
    before = connected_site.get_token_set()
    sandbox.advance(seconds=31 * 60)  # past the 30-minute access token lifetime
    sandbox.reset_stats()
    barrier = FORK.Barrier(CALLS)
    outcomes = FORK.Queue()

    shared.export()
    workers = [
        Worker(shared, storm, connected_site.pk, CALLS // processes, barrier, outcomes)
        for _ in range(processes)
    ]
    started = time.monotonic()
    try:
        for worker in workers:
            worker.go()
        results = [value for _ in workers for value in outcomes.get(timeout=90)]
        exitcodes = [worker.join(timeout=30) for worker in workers]
        wall = time.monotonic() - started
    finally:
        for worker in workers:
            worker.kill()
    shared.import_()

    assert exitcodes == [0] * processes
    failures = [value for value in results if not isinstance(value, int)]
    assert not failures, failures
    assert len(results) == CALLS and all(staff > 0 for staff in results)
    assert sandbox.calls_by_path["/connect/token"] == 1
    # Each call was sent at most twice: once with the expired token, once with the new one.
    requests = sandbox.calls_by_path["staff.api/list"]
    assert CALLS <= requests <= 2 * CALLS
    connected_site.refresh_from_db()
    # No invalid_grant: the connection is fine, refreshed once, on a new refresh token.
    assert connected_site.status == XpmConnection.Status.CONNECTED
    assert connected_site.refresh_count == 1
    assert connected_site.get_token_set().refresh_token != before.refresh_token
    measured(
        f"{processes} x {CALLS // processes} threads",
        f"{sandbox.calls_by_path['/connect/token']} refresh call, "
        f"{len(results)}/{CALLS} API calls succeeded, "
        f"{requests - CALLS} sent with the expired token first, wall {wall:.2f}s",
    )
