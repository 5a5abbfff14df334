"""The same-email rule (wagtail_xpm/sync/ownership.py): each branch on its own, then as the
planner applies it (rows in memory, no database), then the one branch no other test runs
through the sandbox: an address in XPM moving to one another contact holds.

The other branches run end to end in test_sync_rules.py: own
(``test_one_contact_per_xpm_contact_with_client_information``), skip
(``test_later_contact_with_same_email_in_another_case_is_skipped_but_linked``,
``test_email_owner_never_flips_on_an_incremental_run``) and adopt
(``test_sync_never_resubscribes_or_overwrites_form_input``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sandbox_edits import active_clients, linked_contacts, now

from wagtail_xpm.models import Contact, XpmConnection, email_key
from wagtail_xpm.sync.existing import ExistingRows
from wagtail_xpm.sync.mapping import Mapper
from wagtail_xpm.sync.ownership import Ownership, decide, may_take_address
from wagtail_xpm.sync.planner import Planner, PlanOptions
from wagtail_xpm.sync.seen import SeenClient, SeenContact


@dataclass
class Holder:
    xpm_contact_id: str


FROM_XPM = Holder(xpm_contact_id="c-earlier")
FROM_A_FORM = Holder(xpm_contact_id="")


# --- the decision ----------------------------------------------------------------------------


@pytest.mark.parametrize("holder", [None, FROM_XPM, FROM_A_FORM])
def test_a_contact_with_its_own_row_owns_it_whoever_holds_the_address(holder):
    assert decide("ann@example.org", has_own_row=True, holder=holder) is Ownership.OWN


def test_a_new_contact_with_an_address_nobody_holds_gets_a_row():
    assert decide("ann@example.org", has_own_row=False, holder=None) is Ownership.OWN


@pytest.mark.parametrize("holder", [None, FROM_XPM, FROM_A_FORM])
def test_a_new_contact_without_an_address_gets_a_row_of_its_own(holder):
    assert decide("", has_own_row=False, holder=holder) is Ownership.OWN


def test_a_form_contact_holding_the_address_is_adopted():
    assert decide("ann@example.org", has_own_row=False, holder=FROM_A_FORM) is Ownership.ADOPT


def test_a_later_contact_with_an_address_an_xpm_contact_holds_is_skipped():
    assert decide("ann@example.org", has_own_row=False, holder=FROM_XPM) is Ownership.SKIP


# --- taking the address ----------------------------------------------------------------------


def test_a_contact_takes_an_address_nobody_holds_or_it_holds_already():
    contact = Holder("c-1")
    assert may_take_address("ann@example.org", holder=None, contact=contact)
    assert may_take_address("ann@example.org", holder=contact, contact=contact)


def test_a_contact_never_takes_an_address_another_holds():
    assert not may_take_address("ann@example.org", holder=FROM_XPM, contact=Holder("c-1"))


def test_a_blank_address_is_never_taken():
    assert not may_take_address("", holder=None, contact=Holder("c-1"))


# --- as the planner applies it (unsaved rows: no database) -----------------------------------

CONNECTION = XpmConnection(pk=1)


def seen_client(uuid: str, *contacts: tuple[str, str]) -> SeenClient:
    client = SeenClient(
        uuid=uuid, name=f"Client {uuid}", email="", is_archived=False, is_deleted=False,
        is_prospect=False, web_url="", content_hash="h", standard_data={},
    )  # fmt: skip
    client.contacts = [
        SeenContact(
            client_uuid=uuid,
            uuid=contact_uuid,
            name=f"Person {contact_uuid}",
            email=email,
            phone="",
            mobile="",
            position="",
            is_primary=False,
        )  # fmt: skip
        for contact_uuid, email in contacts
    ]
    return client


def plan_for(seen: list[SeenClient], stored: list[Contact]):
    existing = ExistingRows(
        clients_by_uuid={}, clients_by_pk={}, contacts=stored, links={}, client_pks_by_contact={}
    )
    options = PlanOptions(
        now=datetime(2026, 1, 1, tzinfo=UTC),
        incremental=False,
        find_missing=False,
        custom_values={},
        custom_wanted=frozenset(),
        removed=frozenset(),
        max_missing_share=0.2,
        max_missing_floor=5,
    )
    return Planner(
        connection=CONNECTION,
        seen=seen,
        existing=existing,
        mapper=Mapper([]),
        options=options,
        decide_ownership=decide,
    ).build()


def stored_contact(pk: int, email: str, **fields) -> Contact:
    return Contact(pk=pk, connection=CONNECTION, email=email, email_key=email_key(email), **fields)


def test_the_planner_skips_the_later_of_two_contacts_sharing_an_address_and_links_the_first():
    plan = plan_for(
        [
            seen_client("a", ("c-1", "Ann@Example.org")),
            seen_client("b", ("c-2", " ann@example.org")),
        ],
        stored=[],
    )
    assert [c.xpm_contact_id for c in plan.contacts_to_create] == ["c-1"]
    assert plan.skipped == 1
    assert plan.skipped_duplicates == [
        {
            "contact_id": "c-2", "client_id": "b", "kept_contact_id": "c-1",
            "name": "Person c-2", "client_name": "Client b", "kept_name": "Person c-1",
        }
    ]  # fmt: skip
    owner = plan.contacts_to_create[0]
    assert {link.client.uuid for link in plan.links_wanted.values() if link.contact is owner} == {
        "a",
        "b",
    }


def test_the_planner_adopts_a_form_contact_and_keeps_what_the_visitor_typed():
    typed = stored_contact(
        7, "ann@example.org", name="Typed Name", source=Contact.Source.FORM,
        form_locked_fields=["name"],
    )  # fmt: skip
    plan = plan_for([seen_client("a", ("c-1", "ANN@example.org"))], stored=[typed])
    assert plan.contacts_to_create == []
    assert plan.contacts_to_update == {7: typed}
    assert (typed.xpm_contact_id, typed.name, typed.source) == ("c-1", "Typed Name", "form")


def test_the_planner_never_gives_a_contact_an_address_another_xpm_contact_holds():
    ann = stored_contact(1, "ann@example.org", xpm_contact_id="c-1", name="Person c-1")
    bob = stored_contact(2, "bob@example.org", xpm_contact_id="c-2", name="Bob")
    # Bob's address in XPM is now Ann's: Bob keeps his row, his name changes, not his address.
    plan = plan_for(
        [seen_client("a", ("c-1", "ann@example.org"), ("c-2", "ann@example.org"))],
        stored=[ann, bob],
    )
    assert plan.skipped == 0
    assert (bob.email, bob.email_key, bob.name) == (
        "bob@example.org",
        "bob@example.org",
        "Person c-2",
    )
    assert ann.email == "ann@example.org"


# --- end to end, through the sandbox ---------------------------------------------------------


@pytest.mark.django_db
def test_an_address_moved_in_xpm_to_one_another_contact_holds_stays_with_its_holder(
    sync, running_sandbox
):
    sandbox = running_sandbox.sandbox
    sync()
    people = [
        contact
        for client in active_clients(sandbox)
        for contact in linked_contacts(sandbox, client)
        if contact.email
    ]
    holder = next(c for c in people if Contact.objects.filter(xpm_contact_id=c.uuid).exists())
    mover = next(
        c
        for c in people
        if email_key(c.email) != email_key(holder.email)
        and Contact.objects.filter(xpm_contact_id=c.uuid).exists()
    )
    old_address = Contact.objects.get(xpm_contact_id=mover.uuid).email
    mover.email, mover.name = holder.email.upper(), "Moved Person"
    sandbox.state.touch_contact(mover.uuid, now(sandbox))

    run = sync()

    moved = Contact.objects.get(xpm_contact_id=mover.uuid)
    assert moved.name == "Moved Person"  # the row was still written...
    assert moved.email == old_address  # ...but ownership of an address never flips
    kept = Contact.objects.get(email_key=email_key(holder.email))
    assert kept.xpm_contact_id == holder.uuid
    assert mover.uuid not in {d["contact_id"] for d in run.report["skipped_duplicates"]}
