"""The firm's sync rules, run against the sandbox practice over HTTP."""

from __future__ import annotations

import pytest
from sandbox_edits import (
    active_clients,
    change_client,
    hard_delete,
    link,
    linked_contacts,
    new_contact,
    set_custom_value,
)

from wagtail_xpm.models import (
    Contact,
    ContactClientLink,
    FieldMapping,
    PracticeClient,
    SyncRun,
    email_key,
)

pytestmark = pytest.mark.django_db


def sandbox_of(running_sandbox):
    return running_sandbox.sandbox


def contact_for(xpm_contact_uuid: str) -> Contact:
    return Contact.objects.get(xpm_contact_id=xpm_contact_uuid)


def expected_people(sandbox):
    """Walk XPM's list in order applying the firm's rule: (owners, skipped) by contact UUID."""
    owners: dict[str, str] = {}  # email key -> contact uuid
    kept, skipped = set(), set()
    for client in sorted(sandbox.state.clients.values(), key=lambda c: c.seq):
        for contact in linked_contacts(sandbox, client):
            key = email_key(contact.email)
            if contact.uuid in kept:
                continue
            if key and key in owners and owners[key] != contact.uuid:
                skipped.add(contact.uuid)
                continue
            kept.add(contact.uuid)
            if key:
                owners[key] = contact.uuid
    return kept, skipped


def test_one_contact_per_xpm_contact_with_client_information(sync, running_sandbox):
    sandbox = sandbox_of(running_sandbox)
    run = sync()

    assert run.status == SyncRun.Status.SUCCEEDED
    kept, skipped = expected_people(sandbox)
    assert set(Contact.objects.values_list("xpm_contact_id", flat=True)) == kept
    assert run.created == len(kept)
    assert run.skipped_duplicates == len(skipped) >= 1
    assert PracticeClient.objects.count() == len(sandbox.state.clients)
    # Every website contact carries its primary record's XPM ids and the client's extra info.
    staff = {s.uuid: s.name for s in sandbox.state.staff.values()}
    months = ["January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"]  # fmt: skip
    for contact in Contact.objects.select_related("primary_client"):
        client = sandbox.state.clients[contact.xpm_client_id]
        assert contact.xpm_contact_id in {link.contact_uuid for link in client.contacts}
        assert contact.primary_client.uuid == client.uuid
        if client.account_manager_uuid:
            assert contact.data["account_manager"] == staff[client.account_manager_uuid]
        if client.balance_month:
            assert contact.data["balance_month"] == months[client.balance_month - 1]
        if client.business_structure:
            assert contact.data["business_structure"] == client.business_structure
        assert contact.data.get("gst_registered") is client.gst_registered


def test_later_contact_with_same_email_in_another_case_is_skipped_but_linked(sync, running_sandbox):
    sandbox = sandbox_of(running_sandbox)
    run = sync()
    kept, skipped = expected_people(sandbox)
    skipped_uuid = next(iter(skipped))
    duplicate = sandbox.state.contacts[skipped_uuid]
    owner = Contact.objects.get(email_key=email_key(duplicate.email))
    assert owner.xpm_contact_id != skipped_uuid
    # The owner is the earlier XPM contact with that address (compared trimmed and
    # case-insensitively), and keeps its own spelling of it.
    assert owner.xpm_contact_id in kept
    assert email_key(owner.email) == email_key(duplicate.email)
    assert owner.email == sandbox.state.contacts[owner.xpm_contact_id].email.strip()
    assert not Contact.objects.filter(xpm_contact_id=skipped_uuid).exists()
    # The skip is reported, and the person stays linked to the other client too.
    assert {"contact_id": skipped_uuid}.items() <= run.report["skipped_duplicates"][0].items()
    duplicate_clients = {c.uuid for c in sandbox.state.clients_of_contact(skipped_uuid)}
    linked = set(owner.client_links.values_list("client__uuid", flat=True))
    assert duplicate_clients <= linked


def test_shared_contact_is_one_person_linked_to_every_client(sync, running_sandbox):
    sandbox = sandbox_of(running_sandbox)
    sync()
    shared = max(
        sandbox.state.contacts.values(), key=lambda c: len(sandbox.state.clients_of_contact(c.uuid))
    )
    clients = {c.uuid for c in sandbox.state.clients_of_contact(shared.uuid)}
    assert len(clients) >= 2
    person = contact_for(shared.uuid)
    assert set(person.client_links.values_list("client__uuid", flat=True)) == clients
    assert Contact.objects.filter(name=shared.name).count() == 1


def test_contacts_without_email_and_unicode_names(sync, running_sandbox):
    sandbox = sandbox_of(running_sandbox)
    sync()
    no_email = [c for c in sandbox.state.contacts.values() if not c.email]
    assert no_email
    for contact in no_email:
        if sandbox.state.clients_of_contact(contact.uuid):
            assert contact_for(contact.uuid).email == ""
    unicode_names = [c.name for c in sandbox.state.contacts.values() if not c.name.isascii()]
    assert unicode_names
    for name in unicode_names:
        assert Contact.objects.filter(name=name).exists(), name


def test_archived_deleted_and_prospect_clients_flag_their_contacts(sync, running_sandbox):
    sandbox = sandbox_of(running_sandbox)
    sync()
    for client in sandbox.state.clients.values():
        if not (client.is_archived or client.is_deleted or client.is_prospect):
            continue
        row = PracticeClient.objects.get(uuid=client.uuid)
        assert (row.is_archived, row.is_deleted, row.is_prospect) == (
            client.is_archived,
            client.is_deleted,
            client.is_prospect,
        )
        for contact in Contact.objects.filter(primary_client=row):
            others_active = contact.client_links.filter(
                client__is_archived=False, client__is_deleted=False
            ).exists()
            assert contact.is_archived is not others_active
            assert contact.is_prospect is client.is_prospect
    assert Contact.objects.filter(is_archived=True).exists()


def test_incremental_run_reads_only_changed_clients(sync, running_sandbox):
    sandbox = sandbox_of(running_sandbox)
    first = sync()
    client = next(c for c in active_clients(sandbox) if linked_contacts(sandbox, c))
    new_manager = next(
        s for s in sandbox.state.staff.values() if s.uuid != client.account_manager_uuid
    )
    change_client(sandbox, client, account_manager_uuid=new_manager.uuid)

    second = sync()

    assert second.modified_since is not None and not second.full
    assert second.clients_seen == 1
    assert second.api_calls == 1
    assert second.updated >= 1 and second.created == 0
    for contact in linked_contacts(sandbox, client):
        row = Contact.objects.filter(xpm_contact_id=contact.uuid, xpm_client_id=client.uuid)
        if row.exists():
            assert row.get().data["account_manager"] == new_manager.name
    assert first.list_started_at <= second.list_started_at


def test_unchanged_rerun_writes_nothing(sync, running_sandbox):
    sync(full=True)
    writes: list[str] = []
    bookkeeping = ("wagtail_xpm_syncrun", "wagtail_xpm_xpmconnection")

    def record(execute, sql, params, many, context):
        is_write = sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        if is_write and not any(table in sql for table in bookkeeping):
            writes.append(sql)
        return execute(sql, params, many, context)

    from django.db import connection

    with connection.execute_wrapper(record):
        run = sync(full=True)
    assert run.created == run.updated == run.archived == 0
    assert run.unchanged == Contact.objects.count()
    assert writes == []


def test_email_owner_never_flips_on_an_incremental_run(sync, running_sandbox):
    sandbox = sandbox_of(running_sandbox)
    sync()
    owner = Contact.objects.exclude(email="").order_by("pk").first()
    first_client = min(active_clients(sandbox), key=lambda c: c.seq)
    # A contact with the same email appears in the first client XPM lists.
    intruder = new_contact(sandbox, first_client, "Later Person", owner.email.upper())
    run = sync()
    assert run.skipped_duplicates == 1
    owner.refresh_from_db()
    assert Contact.objects.get(email_key=owner.email_key).pk == owner.pk
    assert not Contact.objects.filter(xpm_contact_id=intruder.uuid).exists()
    assert owner.client_links.filter(client__uuid=first_client.uuid).exists()


def test_sync_never_resubscribes_or_overwrites_form_input(sync, running_sandbox, connected_site):
    sandbox = sandbox_of(running_sandbox)
    client = next(c for c in active_clients(sandbox) if not c.is_archived)
    typed = Contact.objects.create(
        connection=connected_site,
        name="Visitor Typed Name",
        email="Visitor@Example.org",
        phone="0400 000 000",
        source=Contact.Source.FORM,
        form_locked_fields=["name", "phone"],
    )
    xpm_person = new_contact(sandbox, client, "XPM Name", "visitor@example.org")
    sync()
    unsubscribed = Contact.objects.exclude(pk=typed.pk).first()
    unsubscribed.subscribed = False
    unsubscribed.save()

    sync(full=True)

    typed.refresh_from_db()
    assert typed.xpm_contact_id == xpm_person.uuid  # adopted: one person, not two
    assert typed.name == "Visitor Typed Name" and typed.phone == "0400 000 000"
    assert typed.source == Contact.Source.FORM
    assert Contact.objects.filter(email_key="visitor@example.org").count() == 1
    unsubscribed.refresh_from_db()
    assert unsubscribed.subscribed is False


def test_vanished_clients_are_flagged_only_by_a_full_run(sync, running_sandbox):
    sandbox = sandbox_of(running_sandbox)
    sync()
    gone = next(
        c
        for c in active_clients(sandbox)
        if len(linked_contacts(sandbox, c)) == 1
        and len(sandbox.state.clients_of_contact(c.contacts[0].contact_uuid)) == 1
    )
    person = contact_for(gone.contacts[0].contact_uuid)
    hard_delete(sandbox, gone)

    incremental = sync()
    assert not PracticeClient.objects.get(uuid=gone.uuid).is_missing

    full = sync(full=True)
    assert full.full and full.archived == 1
    row = PracticeClient.objects.get(uuid=gone.uuid)
    assert row.is_missing
    person.refresh_from_db()
    assert person.is_archived  # kept, flagged, never deleted
    assert incremental.archived == 0


def test_a_sweep_that_would_flag_many_clients_is_refused(sync, running_sandbox):
    sandbox = sandbox_of(running_sandbox)
    sync()
    clients = active_clients(sandbox)
    for client in clients[: len(clients) // 2]:
        hard_delete(sandbox, client)
    run = sync(full=True)
    assert not PracticeClient.objects.filter(is_missing=True).exists()
    assert run.archived == 0
    assert any("looks like a fault" in error for error in run.errors)


def test_mapped_custom_fields_cost_one_call_per_changed_client(
    sync, running_sandbox, connected_site
):
    sandbox = sandbox_of(running_sandbox)
    FieldMapping.objects.create(
        connection=connected_site,
        source="custom:Plan Level",
        key="plan_level",
        label="Plan Level",
        value_type="choice",
    )
    FieldMapping.objects.create(
        connection=connected_site,
        source="custom:Employees",
        key="employees",
        label="Staff",
        value_type="number",
    )
    first = sync()
    # One custom-field read per client, archived and deleted ones (contacts archived) aside.
    live = [c for c in sandbox.state.clients.values() if not (c.is_archived or c.is_deleted)]
    assert first.api_calls == 1 + len(live)
    plan_uuid = next(d.uuid for d in sandbox.state.custom_fields.values() if d.name == "Plan Level")
    for client in live:
        for contact in Contact.objects.filter(primary_client__uuid=client.uuid):
            assert contact.data.get("plan_level") == client.custom_values.get(plan_uuid)

    client = next(
        c
        for c in active_clients(sandbox)
        if Contact.objects.filter(primary_client__uuid=c.uuid).exists()
    )
    set_custom_value(sandbox, client, "Plan Level", "Gold")
    second = sync()
    assert second.api_calls == 2  # the list, and one custom-field read for the changed client
    assert {
        c.data["plan_level"] for c in Contact.objects.filter(primary_client__uuid=client.uuid)
    } == {"Gold"}


def test_low_daily_budget_stops_cleanly_and_resumes(sync, running_sandbox, connected_site):
    from wagtail_xpm.models import XpmSiteSettings

    FieldMapping.objects.create(
        connection=connected_site, source="custom:Industry", key="industry", label="Industry"
    )
    site_settings = XpmSiteSettings.for_site(connected_site.site)
    site_settings.daily_call_reserve = 4990  # sandbox day limit is 5000: 10 calls to spend
    site_settings.save()

    first = sync()
    assert first.status == SyncRun.Status.PARTIAL
    assert "queued for the next sync" in first.message
    assert first.custom_fields_pending > 0
    assert Contact.objects.count() > 0  # everything else was still applied
    pending = PracticeClient.objects.filter(custom_fields_pending=True).count()
    assert pending == first.custom_fields_pending

    site_settings.daily_call_reserve = 0
    site_settings.save()
    second = sync()
    assert second.status == SyncRun.Status.SUCCEEDED
    assert second.custom_fields_fetched == pending
    assert not PracticeClient.objects.filter(custom_fields_pending=True).exists()


def test_429_on_every_third_call_gives_the_same_data(sync, running_sandbox, connected_site):
    sandbox = sandbox_of(running_sandbox)
    FieldMapping.objects.create(
        connection=connected_site, source="custom:Plan Level", key="plan_level", label="Plan"
    )
    sandbox.faults.fail_every(3, status=429, retry_after=1)
    run = sync()
    assert run.status == SyncRun.Status.SUCCEEDED, (run.message, run.report.get("errors"))
    assert run.api_calls > 1 + len(sandbox.state.clients)  # the refused calls were retried
    throttled = snapshot()
    sandbox.faults.reset()
    sandbox.reset_rate_limits()  # the clean run starts a fresh XPM minute window

    Contact.objects.all().delete()
    PracticeClient.objects.all().delete()
    clean = sync(full=True)
    assert clean.status == SyncRun.Status.SUCCEEDED
    assert snapshot() == throttled


def snapshot():
    return sorted(
        Contact.objects.values_list("xpm_contact_id", "xpm_client_id", "email", "name", "data")
    ), sorted(ContactClientLink.objects.values_list("xpm_contact_id", "client__uuid"))


def test_shared_contact_added_to_another_client_keeps_its_primary_record(sync, running_sandbox):
    sandbox = sandbox_of(running_sandbox)
    sync()
    person = Contact.objects.exclude(xpm_contact_id="").filter(is_archived=False).first()
    other = next(c for c in active_clients(sandbox) if c.uuid != person.xpm_client_id)
    link(sandbox, other, person.xpm_contact_id)
    sync()
    person.refresh_from_db()
    assert person.client_links.filter(client__uuid=other.uuid).exists()
    assert person.client_links.count() >= 2
    first_primary = person.xpm_client_id
    sync(full=True)
    person.refresh_from_db()
    assert person.xpm_client_id == first_primary
