"""Contacts: paged list, get with/without clientUuid, create+link, update, delete, link."""

from __future__ import annotations

from sandbox_helpers import (  # noqa: F401
    Api,
    api_fixture,
    live_clients,
    sb_fixture,
    server_fixture,
    shared_contact,
)


def test_contacts_list_is_paged_non_deleted_without_client_refs(api: Api, sb):
    seen = []
    params = {"pageSize": "10"}
    while True:
        root = api.ok("GET", "client.api/contacts", params=params)
        assert root.get("api-method") == "Contacts"
        for contact in root.findall("Contacts/Contact"):
            assert contact.find("IsPrimary") is None and contact.find("Position") is None
            assert contact.findtext("IsDeleted") == "No"
            seen.append(contact.findtext("UUID"))
        next_link = root.findtext("Pagination/Links/Next")
        if not next_link:
            break
        params = {"pageSize": "10", "pageToken": next_link.split("pageToken=")[1].split("&")[0]}
    expected = sorted(c.uuid for c in sb.state.contacts.values() if not c.is_deleted)
    assert sorted(seen) == expected
    assert len(seen) == len(set(seen))


def test_get_contact_with_client_uuid_shows_that_link(api: Api, sb):
    contact, clients = shared_contact(sb)
    for client in clients:
        link = sb.state.link_of(client, contact.uuid)
        root = api.ok(
            "GET", f"client.api/contact/{contact.uuid}", params={"clientuuid": client.uuid}
        )
        assert root.get("api-method") == "Contact"
        element = root.find("Contact")
        assert element.findtext("IsPrimary") == ("Yes" if link.is_primary else "No")
        assert element.findtext("Position") == link.position
    # Without clientUuid a multi-client contact cannot say which link it means.
    element = api.ok("GET", f"client.api/contact/{contact.uuid}").find("Contact")
    assert element.find("IsPrimary") is None
    assert element.findtext("Name") == contact.name


def test_get_contact_errors(api: Api, sb):
    contact, _ = shared_contact(sb)
    assert api.error("GET", "client.api/contact/nope") == "Invalid contact identifier"
    unrelated = next(c for c in live_clients(sb) if sb.state.link_of(c, contact.uuid) is None)
    assert (
        api.error(
            "GET", f"client.api/contact/{contact.uuid}", params={"clientUuid": unrelated.uuid}
        )
        == "Invalid contact identifier"
    )
    assert (
        api.error("GET", f"client.api/contact/{contact.uuid}", params={"clientUuid": "nope"})
        == "Invalid client identifier"
    )


def test_add_contact_creates_and_links_and_primary_moves(api: Api, sb):
    client = next(c for c in live_clients(sb) if len(c.contacts) >= 2)
    root = api.ok(
        "POST",
        "client.api/contact",
        f"<Contact><Client><UUID>{client.uuid}</UUID></Client><Name>Wyett E Coyote</Name>"
        "<Email>wyett@acme.example</Email><Position>CFO</Position><IsPrimary>Yes</IsPrimary>"
        "</Contact>",
    )
    element = root.find("Contact")
    uuid = element.findtext("UUID")
    assert element.findtext("IsPrimary") == "Yes" and element.findtext("Position") == "CFO"
    contacts = api.ok("GET", f"client.api/get/{client.uuid}").findall("Client/Contacts/Contact")
    primaries = [c.findtext("UUID") for c in contacts if c.findtext("IsPrimary") == "Yes"]
    assert primaries == [uuid]


def test_add_contact_errors(api: Api, sb):
    client = live_clients(sb)[0]
    assert api.error("POST", "client.api/contact", "<Contact><Name>x</Name></Contact>").endswith(
        "- /Contact/Client/UUID"
    )
    assert (
        api.error(
            "POST",
            "client.api/contact",
            "<Contact><Client><UUID>nope</UUID></Client><Name>x</Name></Contact>",
        )
        == "Invalid client identifier"
    )
    assert api.error(
        "POST",
        "client.api/contact",
        f"<Contact><Client><UUID>{client.uuid}</UUID></Client></Contact>",
    ).endswith("- /Contact/Name")


def test_update_contact_fields_and_link(api: Api, sb):
    contact, clients = shared_contact(sb)
    client = clients[1]
    root = api.ok(
        "PUT",
        f"client.api/contact/{contact.uuid}",
        f"<Contact><Name>Renamed Person</Name><Mobile>021 000 0000</Mobile><Email />"
        f"<Client><UUID>{client.uuid}</UUID></Client><Position>Chair</Position>"
        "<IsPrimary>Yes</IsPrimary></Contact>",
    )
    element = root.find("Contact")
    assert element.findtext("Name") == "Renamed Person"
    assert element.findtext("Email") == ""
    assert element.findtext("Position") == "Chair"
    assert element.findtext("IsPrimary") == "Yes"
    # The change shows on every client the contact belongs to...
    for owner in clients:
        listed = api.ok("GET", f"client.api/get/{owner.uuid}").findall("Client/Contacts/Contact")
        mine = next(c for c in listed if c.findtext("UUID") == contact.uuid)
        assert mine.findtext("Name") == "Renamed Person"
    # ...but the link fields only on the named client, where it is now the only primary.
    others = [link for link in client.contacts if link.contact_uuid != contact.uuid]
    assert not any(link.is_primary for link in others)


def test_update_contact_errors(api: Api, sb):
    contact, _ = shared_contact(sb)
    assert api.error("PUT", "client.api/contact/nope", "<Contact><Name>x</Name></Contact>") == (
        "Invalid contact identifier"
    )
    unrelated = next(c for c in live_clients(sb) if sb.state.link_of(c, contact.uuid) is None)
    assert (
        api.error(
            "PUT",
            f"client.api/contact/{contact.uuid}",
            f"<Contact><Client><UUID>{unrelated.uuid}</UUID></Client><Position>x</Position></Contact>",
        )
        == "Invalid client identifier"
    )
    assert api.error(
        "PUT", f"client.api/contact/{contact.uuid}", "<Contact><Name /></Contact>"
    ).endswith("- /Contact/Name")


def test_delete_with_client_uuid_unlinks_only_there(api: Api, sb):
    contact, clients = shared_contact(sb)
    root = api.ok(
        "DELETE", f"client.api/contact/{contact.uuid}", params={"clientUuid": clients[0].uuid}
    )
    assert root.findtext("Contact/IsDeleted") == "No"
    assert sb.state.link_of(clients[0], contact.uuid) is None
    assert sb.state.link_of(clients[1], contact.uuid) is not None
    assert (
        api.error(
            "DELETE", f"client.api/contact/{contact.uuid}", params={"clientUuid": clients[0].uuid}
        )
        == "Invalid contact identifier"
    )


def test_delete_without_client_uuid_deletes_everywhere(api: Api, sb):
    contact, clients = shared_contact(sb)
    root = api.ok("DELETE", f"client.api/contact/{contact.uuid}")
    assert root.findtext("Contact/IsDeleted") == "Yes"
    for client in clients:
        assert sb.state.link_of(client, contact.uuid) is None
    assert api.error("GET", f"client.api/contact/{contact.uuid}") == "Invalid contact identifier"
    listed = api.ok("GET", "client.api/contacts", params={"pageSize": "500"})
    assert contact.uuid not in [c.findtext("UUID") for c in listed.findall("Contacts/Contact")]


def test_link_existing_contacts_to_a_client(api: Api, sb):
    target = live_clients(sb)[10]
    donors = [c for c in live_clients(sb) if c is not target][:2]
    uuids = [d.contacts[0].contact_uuid for d in donors]
    body = (
        "<Client><Contacts>"
        f"<Contact><UUID>{uuids[0].upper()}</UUID><Position>Adviser</Position>"
        "<IsPrimary>No</IsPrimary></Contact>"
        f"<Contact><UUID>{uuids[1]}</UUID><IsPrimary>Yes</IsPrimary></Contact>"
        "</Contacts></Client>"
    )
    root = api.ok("POST", f"client.api/client/{target.uuid}/contacts", body)
    echoed = root.findall("Client/Contacts/Contact")
    assert [c.findtext("UUID") for c in echoed] == uuids
    assert [c.findtext("IsPrimary") for c in echoed] == ["No", "Yes"]
    assert echoed[0].findtext("Position") == "Adviser"
    listed = api.ok("GET", f"client.api/get/{target.uuid}").findall("Client/Contacts/Contact")
    assert {c.findtext("UUID") for c in listed} >= set(uuids)
    assert [c.findtext("UUID") for c in listed if c.findtext("IsPrimary") == "Yes"] == [uuids[1]]
    # The donors keep their links: contacts are many-to-many.
    assert all(sb.state.link_of(d, u) for d, u in zip(donors, uuids, strict=True))


def test_link_more_than_ten_is_an_error(api: Api, sb):
    target = live_clients(sb)[0]
    uuids = [c.uuid for c in sb.state.contacts.values()][:11]
    body = (
        "<Client><Contacts>"
        + "".join(f"<Contact><UUID>{u}</UUID></Contact>" for u in uuids)
        + "</Contacts></Client>"
    )
    before = len(target.contacts)
    assert api.error("POST", f"client.api/client/{target.uuid}/contacts", body) == (
        "Up to 10 contacts can be added to a client per request"
    )
    assert len(target.contacts) == before


def test_link_errors(api: Api, sb):
    target = live_clients(sb)[0]
    body = "<Client><Contacts><Contact><UUID>nope</UUID></Contact></Contacts></Client>"
    assert api.error("POST", f"client.api/client/{target.uuid}/contacts", body) == (
        "Invalid contact identifier"
    )
    assert api.error("POST", "client.api/client/nope/contacts", body) == (
        "Invalid client identifier"
    )
    assert api.error(
        "POST", f"client.api/client/{target.uuid}/contacts", "<Client><Contacts /></Client>"
    ).endswith("/Client/Contacts/Contact")
