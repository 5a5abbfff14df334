"""Concurrent changes of one person's status, on PostgreSQL's real row locks (skipped on
SQLite, whose writers take turns for the whole database; set DATABASE_URL to run them)."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connections

from tests.segments.segment_factories import make_connection
from wagtail_xpm import services
from wagtail_xpm.consent import status
from wagtail_xpm.models import ConsentEvent, Contact
from wagtail_xpm.sync import apply

Action, Actor = ConsentEvent.Action, ConsentEvent.Actor

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="row locks across connections need PostgreSQL (set DATABASE_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]


def in_threads(*jobs) -> list[BaseException]:
    """Run each job in its own thread and database connection; the errors they raised."""
    errors: list[BaseException] = []

    def run(job):
        try:
            job()
        except BaseException as exc:  # collected and asserted by the caller
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_racing_subscribes_and_unsubscribes_leave_a_ledger_that_matches(default_site):
    contact = Contact.objects.create(
        connection=make_connection(default_site), email="ann@example.com", subscribed=True
    )
    barrier = threading.Barrier(16)

    def flip(subscribe: bool):
        def job():
            mine = Contact.objects.get(pk=contact.pk)  # each request reads its own copy
            barrier.wait(timeout=10)
            if subscribe:
                status.subscribe(mine, Action.SUBSCRIBED_EDITOR, Actor.USER)
            else:
                status.unsubscribe(mine, Action.UNSUBSCRIBED_LINK, Actor.PERSON)

        return job

    assert in_threads(*(flip(i % 2 == 0) for i in range(16))) == []

    rows = list(ConsentEvent.objects.filter(contact=contact).order_by("created_at", "pk"))
    states = [row.subscribed for row in rows]
    # Every row is a real change: the status alternates, starting from "subscribed".
    assert states and all(a != b for a, b in zip([True, *states], states, strict=False))
    contact.refresh_from_db()
    assert contact.subscribed is states[-1]


def test_an_unsubscribe_while_the_sync_writes_waits_for_it_and_stands(
    connected_site, running_sandbox, monkeypatch
):
    services.run_sync(connected_site, trigger="cli")
    person = Contact.objects.filter(connection=connected_site).exclude(email="").first()
    client = running_sandbox.sandbox.state.clients[person.xpm_client_id]
    client.name = f"{client.name} (renamed)"
    running_sandbox.sandbox.state.touch_client(client, running_sandbox.sandbox.clock())
    written, unsubscribed = threading.Event(), threading.Event()
    write = apply.write

    def write_then_hold(plan):
        write(plan)  # the person's row is written (and locked) in the sync's transaction
        written.set()
        # The unsubscribe below now waits for this transaction's row lock.
        assert not unsubscribed.wait(timeout=1.0)

    monkeypatch.setattr(apply, "write", write_then_hold)

    def sync():
        run = services.run_sync(connected_site, trigger="cli", full=True)
        assert run.status == "succeeded", run.message

    def unsubscribe():
        assert written.wait(timeout=30)
        status.unsubscribe(
            Contact.objects.get(pk=person.pk), Action.UNSUBSCRIBED_LINK, Actor.PERSON
        )
        unsubscribed.set()

    assert in_threads(sync, unsubscribe) == []

    person.refresh_from_db()
    assert person.subscribed is False
    assert person.client_name.endswith("(renamed)")
