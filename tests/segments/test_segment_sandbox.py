"""Segments over a real sync of the sandbox practice (real Account Manager names)."""

from __future__ import annotations

import pytest

from wagtail_xpm import services
from wagtail_xpm.models import Contact, ContactClientLink, PracticeStaff
from wagtail_xpm.segments.compile import Definition, members
from wagtail_xpm.segments.explain import explain

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(connected_site):
    run = services.run_sync(connected_site, trigger="cli")
    assert run.status == "succeeded", run.message
    services.refresh_staff(connected_site)
    return connected_site


def fold(value) -> str:
    return str(value or "").strip().casefold()


def test_account_manager_and_balance_month_over_a_synced_practice(synced):
    contacts = list(Contact.objects.filter(connection=synced, is_archived=False))
    managers = sorted({c.data.get("account_manager") for c in contacts} - {None})
    assert managers, "the sandbox practice has account managers"
    # Synced names are real staff names.
    staff = set(PracticeStaff.objects.filter(connection=synced).values_list("name", flat=True))
    assert set(managers) <= staff

    for manager in managers:
        rules = [
            {"field": "account_manager", "op": "eq", "value": manager.upper()},
            {"field": "balance_month", "op": "eq", "value": "June"},
        ]
        got = set(members(synced, Definition(rules)).values_list("pk", flat=True))
        expected = {
            c.pk
            for c in contacts
            if fold(c.data.get("account_manager")) == fold(manager)
            and c.data.get("balance_month") == "June"
        }
        assert got == expected, manager


def test_any_client_scope_over_a_synced_practice(synced):
    manager = (
        Contact.objects.filter(connection=synced).exclude(data__account_manager=None).first()
    ).data["account_manager"]
    rules = [{"field": "account_manager", "op": "eq", "value": manager}]
    got = set(members(synced, Definition(rules, client_scope="any")).values_list("pk", flat=True))
    expected = {
        link.contact_id
        for link in ContactClientLink.objects.filter(contact__connection=synced).select_related(
            "client", "contact"
        )
        if not link.contact.is_archived
        and link.client.is_active
        and fold(link.client.data.get("account_manager")) == fold(manager)
    }
    assert got == expected
    primary = set(members(synced, Definition(rules)).values_list("pk", flat=True))
    assert primary <= got


def test_explain_a_synced_contact(synced):
    contact = Contact.objects.filter(connection=synced).exclude(data__balance_month=None).first()
    month = contact.data["balance_month"]
    definition = Definition([{"field": "balance_month", "op": "eq", "value": month}])
    why = explain(contact, definition)
    assert why.member is not contact.is_archived
    (leaf,) = why.root.leaves()
    assert leaf.matched and leaf.contact_value == month
