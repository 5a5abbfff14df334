"""XPM clients keep the firm's existing relationship basis, and a sync never undoes an
unsubscribe: run against the sandbox practice over HTTP (tests/conftest.py)."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from wagtail_xpm import services
from wagtail_xpm.consent import status
from wagtail_xpm.models import ConsentEvent, Contact
from wagtail_xpm.sync import apply

pytestmark = pytest.mark.django_db

Action, Actor = ConsentEvent.Action, ConsentEvent.Actor


def sync(connection, **options):
    run = services.run_sync(connection, trigger="cli", **options)
    assert run.status == "succeeded", run.message
    return run


def test_contacts_the_sync_creates_are_subscribed_on_the_relationship_with_a_row_each(
    connected_site,
):
    run = sync(connected_site)

    created = Contact.objects.filter(connection=connected_site)
    assert run.created == created.count() > 0
    assert not created.filter(subscribed=False).exists()
    imported = ConsentEvent.objects.filter(action=Action.IMPORTED)
    assert imported.count() == created.count()
    row = imported.select_related("contact").first()
    assert (row.actor, row.subscribed, row.user) == (Actor.SYNC, True, None)
    assert row.email_key == row.contact.email_key
    assert row.detail["xpm_contact_id"] == row.contact.xpm_contact_id
    # A second run creates nobody, so records nothing.
    sync(connected_site, full=True)
    assert ConsentEvent.objects.filter(action=Action.IMPORTED).count() == created.count()


def test_a_sync_never_resubscribes_someone_who_unsubscribed(connected_site, running_sandbox):
    sync(connected_site)
    person = Contact.objects.filter(connection=connected_site).exclude(email="").first()
    status.unsubscribe(person, Action.UNSUBSCRIBED_LINK, Actor.PERSON)
    # XPM changes the person's client, so the sync rewrites their record.
    client = running_sandbox.sandbox.state.clients[person.xpm_client_id]
    client.name = f"{client.name} (renamed)"
    running_sandbox.sandbox.state.touch_client(client, running_sandbox.sandbox.clock())

    sync(connected_site, full=True)

    person.refresh_from_db()
    assert person.client_name.endswith("(renamed)")  # it was written...
    assert person.subscribed is False  # ...and the unsubscribe stands


def test_an_unsubscribe_while_a_sync_is_writing_is_not_lost(
    connected_site, running_sandbox, monkeypatch
):
    """The sync reads contacts, then writes them: an unsubscribe in between (a click, an
    ESP report) must survive, because the write never carries ``subscribed``."""
    sync(connected_site)
    person = Contact.objects.filter(connection=connected_site).exclude(email="").first()
    client = running_sandbox.sandbox.state.clients[person.xpm_client_id]
    client.name = f"{client.name} (renamed)"
    running_sandbox.sandbox.state.touch_client(client, running_sandbox.sandbox.clock())
    write = apply.write

    def unsubscribe_then_write(plan):
        planned = [c for c in plan.contacts_to_update.values() if c.pk == person.pk]
        assert planned and planned[0].subscribed is True  # the plan's copy is stale
        status.unsubscribe(Contact.objects.get(pk=person.pk), Action.UNSUBSCRIBED_ESP, Actor.ESP)
        with CaptureQueriesContext(db) as queries:
            write(plan)
        contact_writes = [
            q["sql"]
            for q in queries.captured_queries
            if q["sql"].startswith("UPDATE") and '"wagtail_xpm_contact"' in q["sql"]
        ]
        assert contact_writes  # the person's record was written...
        assert not [sql for sql in contact_writes if '"subscribed"' in sql]  # ...not this

    monkeypatch.setattr(apply, "write", unsubscribe_then_write)
    sync(connected_site, full=True)

    person.refresh_from_db()
    assert person.subscribed is False
    assert person.client_name.endswith("(renamed)")


def test_an_address_that_unsubscribed_before_is_not_subscribed_by_a_new_sync_record(
    connected_site,
):
    sync(connected_site)
    person = Contact.objects.filter(connection=connected_site).exclude(email="").first()
    status.unsubscribe(person, Action.UNSUBSCRIBED_LINK, Actor.PERSON)
    person.delete()  # deleted on the website; XPM still has them

    sync(connected_site, full=True)

    again = Contact.objects.get(connection=connected_site, email_key=person.email_key)
    assert again.subscribed is False
    row = ConsentEvent.objects.filter(contact=again, action=Action.IMPORTED).get()
    assert row.subscribed is False
