"""client.api: list, paged-list, search, get, add, update, archive, delete, modifiedsince."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sandbox_helpers import (  # noqa: F401
    Api,
    api_fixture,
    live_clients,
    sb_fixture,
    server_fixture,
    shared_contact,
)


def names(root) -> list[str]:
    return [c.findtext("Name") for c in root.findall("Clients/Client")]


def since(sb, delta=timedelta(seconds=1)) -> str:
    return (sb.clock() - delta).strftime("%Y-%m-%dT%H:%M:%S")


# -- list ---------------------------------------------------------------------------------


def test_list_returns_every_client_including_archived_and_deleted(api: Api, sb):
    root = api.ok("GET", "client.api/list")
    clients = root.findall("Clients/Client")
    assert len(clients) == len(sb.state.clients) == 25
    flags = {(c.findtext("IsArchived"), c.findtext("IsDeleted")) for c in clients}
    assert ("Yes", "No") in flags and ("No", "Yes") in flags
    # Non-detailed still carries contacts and tax fields, but no notes/groups/relationships.
    first = clients[0]
    assert first.find("Contacts") is not None
    assert first.find("GSTRegistered") is not None
    assert first.find("Notes") is None and first.find("Groups") is None


def test_detailed_list_adds_notes_groups_relationships(api: Api, sb):
    root = api.ok("GET", "client.api/list", params={"detailed": "true"})
    clients = root.findall("Clients/Client")
    assert all(c.find("Notes") is not None for c in clients)
    grouped = [c for c in clients if c.find("Groups/Group") is not None]
    assert {g.findtext("Name") for c in grouped for g in c.findall("Groups/Group")} >= {
        "Walker Whānau"
    }
    related = [c for c in clients if c.find("Relationships/Relationship") is not None]
    relationship = related[0].find("Relationships/Relationship")
    assert relationship.findtext("Type") in ("Director", "Shareholder", "Trustee")
    assert relationship.find("RelatedClient/UUID") is not None
    assert any(c.find("Notes/Note/CreatedBy") is not None for c in clients)


def test_modifiedsince_filters_and_accepts_either_spelling(api: Api, sb):
    assert names(api.ok("GET", "client.api/list", params={"modifiedsince": since(sb)})) == []
    client = live_clients(sb)[3]
    api.ok(
        "PUT",
        "client.api/update",
        f"<Client><UUID>{client.uuid}</UUID><Phone>(02) 9999 0000</Phone></Client>",
    )
    for key in ("modifiedsince", "modifiedSince", "ModifiedSince"):
        root = api.ok("GET", "client.api/list", params={key: since(sb, timedelta(minutes=1))})
        assert names(root) == [client.name]


def test_modifiedsince_sees_a_contact_change_on_every_linked_client(api: Api, sb):
    contact, clients = shared_contact(sb)
    mark = since(sb)
    sb.advance(seconds=5)
    api.ok(
        "PUT",
        f"client.api/contact/{contact.uuid}",
        "<Contact><Email>new.address@example.com</Email></Contact>",
    )
    root = api.ok("GET", "client.api/list", params={"modifiedsince": mark})
    assert set(names(root)) == {c.name for c in sb.state.clients_of_contact(contact.uuid)}
    assert len(names(root)) >= 2


def test_a_custom_field_change_does_not_touch_the_client(api: Api, sb):
    """As in XPM: modifiedsince does not list a client whose custom field alone changed."""
    client = live_clients(sb)[5]
    plan = next(d for d in sb.state.custom_fields.values() if d.name == "Plan Level")
    current = client.custom_values.get(plan.uuid)
    new = "Gold" if current != "Gold" else "Silver"
    modified = client.modified_at
    mark = since(sb)
    sb.advance(seconds=5)
    api.ok(
        "PUT",
        f"client.api/update/{client.uuid}/customfield",
        f"<CustomFields><CustomField><UUID>{plan.uuid}</UUID><Text>{new}</Text>"
        "</CustomField></CustomFields>",
    )
    assert client.modified_at == modified
    assert names(api.ok("GET", "client.api/list", params={"modifiedsince": mark})) == []
    values = api.ok("GET", f"client.api/get/{client.uuid}/customfield")
    assert new in [f.findtext("Text") for f in values.findall("CustomFields/CustomField")]
    # A contact's custom field likewise leaves its clients untouched.
    newsletter = next(d for d in sb.state.custom_fields.values() if d.use_contact)
    assert newsletter.value_element == "Boolean"
    api.ok(
        "PUT",
        f"client.api/contact/{client.contacts[0].contact_uuid}/customfield",
        f"<CustomFields><CustomField><UUID>{newsletter.uuid}</UUID><Boolean>true</Boolean>"
        "</CustomField></CustomFields>",
    )
    assert names(api.ok("GET", "client.api/list", params={"modifiedsince": mark})) == []


def test_modifiedsince_sees_link_and_group_changes(api: Api, sb):
    target = live_clients(sb)[9]
    other = live_clients(sb)[12]
    contact_uuid = other.contacts[0].contact_uuid
    mark = since(sb)
    sb.advance(seconds=5)
    api.ok(
        "POST",
        f"client.api/client/{target.uuid}/contacts",
        f"<Client><Contacts><Contact><UUID>{contact_uuid}</UUID></Contact></Contacts></Client>",
    )
    assert names(api.ok("GET", "client.api/list", params={"modifiedsince": mark})) == [target.name]
    group = next(iter(sb.state.groups.values()))
    sb.advance(seconds=5)
    mark = since(sb)
    sb.advance(seconds=5)
    api.ok(
        "PUT",
        "clientgroup.api/members",
        f'<Group><UUID>{group.uuid}</UUID><add uuid="{other.uuid}" /></Group>',
    )
    assert names(api.ok("GET", "client.api/list", params={"modifiedsince": mark})) == [other.name]


def test_unchanged_writes_do_not_bump_modified(api: Api, sb):
    client = live_clients(sb)[0]
    mark = since(sb)
    sb.advance(seconds=5)
    api.ok(
        "PUT",
        "client.api/update",
        f"<Client><UUID>{client.uuid}</UUID><Phone>{client.phone}</Phone></Client>",
    )
    assert names(api.ok("GET", "client.api/list", params={"modifiedsince": mark})) == []


def test_bad_modifiedsince_is_an_error(api: Api):
    assert api.error("GET", "client.api/list", params={"modifiedsince": "yesterday"}).startswith(
        "Invalid modifiedsince"
    )


# -- paged-list ---------------------------------------------------------------------------


def test_paged_list_walks_live_clients_with_opaque_tokens(api: Api, sb, server):
    seen: list[str] = []
    root = api.ok("GET", "client.api/paged-list", params={"pageSize": "7"})
    first_link = root.findtext("Pagination/Links/First")
    assert first_link == f"{server.url}/practicemanager/3.1/client.api/paged-list?pageSize=7"
    pages = 0
    while True:
        pages += 1
        clients = root.findall("Clients/Client")
        assert len(clients) <= 7
        # Base fields only.
        assert all(c.find("Contacts") is None for c in clients)
        seen += [c.findtext("UUID") for c in clients]
        next_link = root.findtext("Pagination/Links/Next")
        if next_link is None:
            break
        token = next_link.split("pageToken=")[1].split("&")[0]
        base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))  # opaque base64
        root = api.ok("GET", "client.api/paged-list", params={"pageSize": "7", "pageToken": token})
    expected = [c.uuid for c in live_clients(sb)]
    assert seen == expected
    assert pages == -(-len(expected) // 7)


def test_paged_list_default_page_size_is_50(api: Api):
    root = api.ok("GET", "client.api/paged-list")
    assert root.findtext("Pagination/Links/First").endswith("pageSize=50")
    assert root.find("Pagination/Links/Next") is None


@pytest.mark.parametrize("size", ["0", "501", "-1", "ten"])
def test_paged_list_rejects_bad_page_size_with_400(api: Api, size):
    response = api.call("GET", "client.api/paged-list", params={"pageSize": size})
    assert response.status_code == 400
    assert b"<Status>ERROR</Status>" in response.content


def test_paged_list_rejects_bad_token_with_400(api: Api):
    response = api.call("GET", "client.api/paged-list", params={"pageToken": "%%%garbage"})
    assert response.status_code == 400


# -- search and get -----------------------------------------------------------------------


def test_search_is_case_insensitive_substring_of_name(api: Api, sb):
    root = api.ok("GET", "client.api/search", params={"query": "WALKER"})
    found = names(root)
    assert "Walker Holdings Pty Ltd" in found and "The Walker Family Trust" in found
    assert all("walker" in name.lower() for name in found)
    assert names(api.ok("GET", "client.api/search", params={"query": "zzzz-none"})) == []
    assert api.error("GET", "client.api/search").endswith("- query")


def test_search_leaves_out_deleted_clients(api: Api, sb):
    deleted = next(c for c in sb.state.clients.values() if c.is_deleted)
    assert deleted.name not in names(
        api.ok("GET", "client.api/search", params={"query": deleted.name})
    )


def test_get_returns_detailed_client_with_web_url(api: Api, sb):
    client = live_clients(sb)[0]
    root = api.ok("GET", f"client.api/get/{client.uuid.upper()}")
    assert root.get("api-method") == "Get"
    assert root.findtext("WebUrl").startswith("https://practicemanager.xero.com/Client/")
    element = root.find("Client")
    assert element.findtext("UUID") == client.uuid
    assert element.find("Groups") is not None and element.find("Notes") is not None
    assert api.error("GET", "client.api/get/nope") == "Invalid client identifier"


# -- add / update / archive / delete ------------------------------------------------------

ADD = """<Client>
  <Name>Bloggs Electrical Ltd</Name>
  <Email>office@bloggs.example</Email>
  <WebSite>https://bloggs.example</WebSite>
  <AccountManagerUUID>{manager}</AccountManagerUUID>
  <IsProspect>Yes</IsProspect>
  <BusinessStructure>Company</BusinessStructure>
  <BalanceMonth>Jun</BalanceMonth>
  <GSTRegistered>Yes</GSTRegistered>
  <GSTPeriod>2</GSTPeriod>
  <TaxNumber>123456789</TaxNumber>
  <Contacts>
    <Contact><Name>Jo Bloggs</Name><IsPrimary>Yes</IsPrimary><Email>jo@bloggs.example</Email>
      <Position>Director</Position></Contact>
    <Contact><Name>Sam Bloggs</Name><IsPrimary>Yes</IsPrimary></Contact>
    <Contact><Name>Zoë Bloggs &amp; Co</Name></Contact>
  </Contacts>
</Client>"""


def test_add_creates_client_and_contacts(api: Api, sb):
    manager = next(iter(sb.state.staff.values()))
    root = api.ok("POST", "client.api/add", ADD.format(manager=manager.uuid))
    assert root.get("api-method") == "Add"
    client = root.find("Client")
    uuid = client.findtext("UUID")
    assert uuid in sb.state.clients and sb.state.clients[uuid].created_via_api
    assert client.findtext("Name") == "Bloggs Electrical Ltd"
    assert client.findtext("Website") == "https://bloggs.example"
    assert client.findtext("IsProspect") == "Yes"
    assert client.findtext("AccountManager/Name") == manager.name
    assert client.findtext("BalanceMonth") == "6"
    assert client.findtext("GSTPeriod") == "2 Monthly"
    assert client.findtext("TaxNumber") == "******789"
    contacts = client.findall("Contacts/Contact")
    assert [c.findtext("Name") for c in contacts] == ["Jo Bloggs", "Sam Bloggs", "Zoë Bloggs & Co"]
    assert all(c.findtext("UUID") in sb.state.contacts for c in contacts)
    # "the last primary" wins, and only one contact is primary.
    assert [c.findtext("IsPrimary") for c in contacts] == ["No", "Yes", "No"]
    assert contacts[0].findtext("Position") == "Director"
    assert client.find("Groups") is not None  # the detailed shape


def test_add_allows_duplicates(api: Api, sb):
    before = len(sb.state.clients)
    body = "<Client><Name>Walker Holdings Pty Ltd</Name></Client>"
    first = api.ok("POST", "client.api/add", body).findtext("Client/UUID")
    second = api.ok("POST", "client.api/add", body).findtext("Client/UUID")
    assert first != second
    assert len(sb.state.clients) == before + 2


def test_add_without_contacts_primary_defaults_to_first(api: Api):
    root = api.ok(
        "POST",
        "client.api/add",
        "<Client><Name>A</Name><Contacts><Contact><Name>One</Name></Contact>"
        "<Contact><Name>Two</Name></Contact></Contacts></Client>",
    )
    assert [c.findtext("IsPrimary") for c in root.findall("Client/Contacts/Contact")] == [
        "Yes",
        "No",
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "<Client><Email>x@example.com</Email></Client>",
            "Message not in expected format. The following required element was missing - "
            "/Client/Name",
        ),
        (
            "<Lead><Name>x</Name></Lead>",
            "Message not in expected format. The following required element was missing - /Client",
        ),
        (
            "<Client><Name>x</Name><Contacts><Contact><Email>a@b.c</Email></Contact></Contacts>"
            "</Client>",
            "Message not in expected format. The following required element was missing - "
            "/Client/Contacts/Contact/Name",
        ),
        (
            "<Client><Name>x</Name><AccountManagerUUID>nope</AccountManagerUUID></Client>",
            "Invalid staff identifier",
        ),
        ("<Client><Name>x</Name><GSTPeriod>3</GSTPeriod></Client>", "Invalid GSTPeriod value: 3"),
        (
            "<Client><Name>x</Name><GSTRegistered>Maybe</GSTRegistered></Client>",
            "Invalid GSTRegistered value: Maybe",
        ),
        (
            "<Client><Name>x</Name><BalanceMonth>Smarch</BalanceMonth></Client>",
            "Invalid BalanceMonth value: Smarch",
        ),
        (
            "<Client><Name>x</Name><BillingClientUUID>nope</BillingClientUUID></Client>",
            "Invalid billing client identifier",
        ),
        ("<Client><Name>x", "Message not in expected format. ParseError"),
    ],
)
def test_add_validation_errors(api: Api, sb, body, message):
    before = len(sb.state.clients)
    assert api.error("POST", "client.api/add", body) == message
    assert len(sb.state.clients) == before


def test_hostile_request_xml_is_refused(api: Api, sb):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><Client><Name>&lol2;</Name></Client>'
    )
    assert api.error("POST", "client.api/add", bomb).startswith("Message not in expected format")
    external = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        "<Client><Name>&e;</Name></Client>"
    )
    assert api.error("POST", "client.api/add", external).startswith(
        "Message not in expected format"
    )
    huge = "<Client><Name>" + "x" * 1_100_000 + "</Name></Client>"
    response = api.call("POST", "client.api/add", huge)
    assert response.status_code == 413
    assert b"too large" in response.content


def test_update_overwrites_present_clears_empty_keeps_absent(api: Api, sb):
    client = next(c for c in live_clients(sb) if c.email and c.account_manager_uuid and c.phone)
    old_phone = client.phone
    root = api.ok(
        "PUT",
        "client.api/update",
        f"<Client><UUID>{client.uuid}</UUID><Name>Renamed Pty Ltd</Name>"
        "<Email /><AccountManagerUUID /><BusinessStructure /></Client>",
    )
    assert root.get("api-method") == "Update"
    element = root.find("Client")
    assert element.findtext("Name") == "Renamed Pty Ltd"
    assert element.findtext("Email") == ""
    assert element.find("AccountManager") is None
    assert element.find("BusinessStructure") is None
    assert element.findtext("Phone") == old_phone


def test_update_can_unarchive_and_needs_a_known_uuid(api: Api, sb):
    archived = next(c for c in sb.state.clients.values() if c.is_archived)
    root = api.ok(
        "PUT",
        "client.api/update",
        f"<Client><UUID>{archived.uuid}</UUID><IsArchived>No</IsArchived></Client>",
    )
    assert root.findtext("Client/IsArchived") == "No"
    assert (
        api.error("PUT", "client.api/update", "<Client><UUID>nope</UUID></Client>")
        == "Invalid client identifier"
    )
    assert api.error("PUT", "client.api/update", "<Client><Name>x</Name></Client>").endswith(
        "- /Client/UUID"
    )


def test_archive_returns_detailed_client_and_hides_it_from_paged_list(api: Api, sb):
    client = live_clients(sb)[0]
    root = api.ok("PUT", "client.api/archive", f"<Client><UUID>{client.uuid}</UUID></Client>")
    assert root.get("api-method") == "Archive"
    assert root.findtext("Client/IsArchived") == "Yes"
    paged = api.ok("GET", "client.api/paged-list", params={"pageSize": "500"})
    assert client.uuid not in [c.findtext("UUID") for c in paged.findall("Clients/Client")]
    listed = api.ok("GET", "client.api/list")
    assert client.uuid in [c.findtext("UUID") for c in listed.findall("Clients/Client")]


def test_delete_flags_client_deleted(api: Api, sb):
    client = live_clients(sb)[0]
    mark = since(sb)
    sb.advance(seconds=2)
    root = api.ok("POST", "client.api/delete", f"<Client><UUID>{client.uuid}</UUID></Client>")
    assert root.get("api-method") == "Delete"
    assert list(root) == [root.find("Status")]  # bare status
    changed = api.ok("GET", "client.api/list", params={"modifiedsince": mark})
    assert [c.findtext("IsDeleted") for c in changed.findall("Clients/Client")] == ["Yes"]
    assert (
        api.error("POST", "client.api/delete", f"<Client><UUID>{client.uuid}</UUID></Client>")
        == "Invalid client identifier"
    )
    assert api.ok("GET", f"client.api/get/{client.uuid}").findtext("Client/IsDeleted") == "Yes"
