"""The practice generator: determinism, special cases, proportions, speed."""

from __future__ import annotations

from collections import Counter

import pytest

from wagtail_xpm.sandbox import PracticeState, generate_practice


@pytest.fixture(scope="module")
def practice() -> PracticeState:
    return generate_practice(clients=25, seed=1)


def test_same_seed_same_practice_other_seed_other_practice(practice):
    again = generate_practice(clients=25, seed=1)
    assert again == practice
    assert list(again.clients) == list(practice.clients)
    other = generate_practice(clients=25, seed=2)
    assert other != practice
    assert set(other.clients).isdisjoint(practice.clients)


def test_staff(practice):
    names = [s.name for s in practice.staff.values()]
    assert len(names) >= 3
    assert {"John Smith", "Jo Bloggs", "Aroha Ngata"} <= set(names)
    assert all("@" in s.email for s in practice.staff.values())


def test_client_mix_and_flags(practice):
    clients = list(practice.clients.values())
    assert len(clients) == 25
    structures = Counter(c.business_structure for c in clients)
    for structure in ("Company", "Individual", "Trust", "Partnership", "Sole Trader", "Super Fund"):
        assert structures[structure] >= 1, structure
    names = [c.name for c in clients]
    assert any(n.endswith(" Pty Ltd") for n in names)
    assert any(n.endswith(" Ltd") and not n.endswith("Pty Ltd") for n in names)
    assert sum(c.is_archived for c in clients) == 1
    assert sum(c.is_prospect for c in clients) == 1
    assert sum(c.is_deleted for c in clients) == 1
    prospect = next(c for c in clients if c.is_prospect)
    assert prospect.account_manager_uuid is None
    assert {c.country for c in clients} == {"Australia", "New Zealand"}


def test_tax_and_management_fields(practice):
    clients = [c for c in practice.clients.values() if not c.is_prospect]
    assert all(len(c.tax_number) >= 8 for c in clients)
    assert {c.balance_month for c in clients} >= {6}
    assert any(c.gst_registered and c.gst_period and c.gst_basis for c in clients)
    assert any(c.account_manager_uuid for c in clients)
    assert any(c.job_manager_uuid for c in clients)
    nz = [c for c in clients if c.country == "New Zealand"]
    assert all(c.return_type for c in nz)
    assert any(c.client_type for c in clients)


def test_contacts_per_client_and_sharing(practice):
    links = sum(len(c.contacts) for c in practice.clients.values())
    assert 1.3 <= links / len(practice.clients) <= 1.9
    owners = Counter(link.contact_uuid for c in practice.clients.values() for link in c.contacts)
    director_uuid, count = owners.most_common(1)[0]
    assert count >= 3
    companies = [
        c for c in practice.clients_of_contact(director_uuid) if c.business_structure == "Company"
    ]
    assert len(companies) >= 2  # a director of two companies
    for client in practice.clients.values():
        assert sum(link.is_primary for link in client.contacts) == 1


def test_duplicate_emails_in_different_case_on_different_contacts(practice):
    by_lower: dict[str, list] = {}
    for contact in practice.contacts.values():
        if contact.email:
            by_lower.setdefault(contact.email.lower(), []).append(contact)
    dups = [group for group in by_lower.values() if len(group) > 1]
    assert dups
    assert any(len({c.email for c in group}) > 1 for group in dups)
    assert any(len({c.uuid for c in group}) > 1 for group in dups)


def test_contacts_without_email_and_unicode_names(practice):
    contacts = list(practice.contacts.values())
    assert any(c.email == "" for c in contacts)
    names = " ".join(c.name for c in contacts) + " ".join(c.name for c in practice.clients.values())
    for fragment in ("Zoë", "Søren", "Tāne", "Pōmare"):
        assert fragment in names


def test_custom_fields(practice):
    definitions = {d.name: d for d in practice.custom_fields.values()}
    assert 4 <= len(definitions) <= 7
    assert {d.value_element for d in definitions.values()} == {
        "Text",
        "Decimal",
        "Number",
        "Boolean",
        "Date",
    }
    assert definitions["Industry"].type == "Dropdown List"
    assert definitions["Industry"].options
    assert definitions["Plan Level"].options == ["Gold", "Silver", "Bronze"]
    with_values = [c for c in practice.clients.values() if c.custom_values]
    assert len(with_values) >= 0.8 * len(practice.clients)
    used = {uuid for c in practice.clients.values() for uuid in c.custom_values}
    for_clients = {d.uuid for d in definitions.values() if d.use_client}
    assert used == for_clients
    # The contact checkbox for marketing opt-outs: nobody is opted out at first.
    opt_out = definitions["Marketing opt-out"]
    assert (opt_out.type, opt_out.value_element) == ("Checkbox", "Boolean")
    assert opt_out.use_contact and not opt_out.use_client
    assert not any(opt_out.uuid in c.custom_values for c in practice.contacts.values())
    industry = definitions["Industry"]
    assert all(
        c.custom_values[industry.uuid] in industry.options
        for c in practice.clients.values()
        if industry.uuid in c.custom_values
    )


def test_groups_categories_and_leads(practice):
    assert len(practice.groups) >= 2
    assert all(group.client_uuids for group in practice.groups.values())
    assert {c.name for c in practice.lead_categories.values()} == {"Website", "Referral", "Hot"}
    assert practice.job_categories
    assert practice.leads
    for lead in practice.leads.values():
        assert lead.client_uuid in practice.clients
        assert lead.owner_uuid in practice.staff
        assert lead.category_uuid in practice.lead_categories


def test_special_cases_recur_proportionally():
    big = generate_practice(clients=250, seed=3)
    clients = list(big.clients.values())
    assert len(clients) == 250
    assert sum(c.is_archived for c in clients) == 10
    assert sum(c.is_prospect for c in clients) == 10
    assert sum(c.is_deleted for c in clients) == 10
    shared = [
        uuid
        for uuid, owners in Counter(
            link.contact_uuid for c in clients for link in c.contacts
        ).items()
        if owners >= 2
    ]
    assert len(shared) >= 10
    assert len(big.groups) >= 11
    assert len(big.leads) == 20


def test_partial_block_and_tiny_practices():
    assert len(generate_practice(clients=30, seed=1).clients) == 30
    assert len(generate_practice(clients=1, seed=1).clients) == 1
    assert generate_practice(clients=0, seed=1).clients == {}
    with pytest.raises(ValueError):
        generate_practice(clients=-1)


def test_fifty_thousand_clients_with_distinct_ids():
    # How fast this is belongs to bench/ (bench/sync.py generates up to 50,000 clients).
    big = generate_practice(clients=50_000, seed=7)
    assert len(big.clients) == 50_000
    assert len({client.seq for client in big.clients.values()}) == 50_000
