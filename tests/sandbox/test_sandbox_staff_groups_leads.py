"""staff.api, category.api, clientgroup.api and lead.api."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sandbox_helpers import Api, api_fixture, live_clients, sb_fixture, server_fixture  # noqa: F401

# -- staff and job categories -------------------------------------------------------------


def test_staff_list_and_get(api: Api, sb):
    root = api.ok("GET", "staff.api/list")
    staff = root.findall("StaffList/Staff")
    names = [s.findtext("Name") for s in staff]
    assert names[:3] == ["John Smith", "Jo Bloggs", "Aroha Ngata"]
    assert [child.tag for child in staff[0]] == [
        "UUID",
        "Name",
        "Email",
        "Phone",
        "Mobile",
        "Address",
        "PayrollCode",
    ]
    assert all("@" in s.findtext("Email") for s in staff)
    one = api.ok("GET", f"staff.api/get/{staff[1].findtext('UUID')}")
    assert one.findtext("Staff/Name") == "Jo Bloggs"
    assert "resourceedit.aspx?id=" in one.findtext("WebUrl")
    assert api.error("GET", "staff.api/get/nope") == "Invalid staff identifier"


def test_job_categories_are_not_lead_categories(api: Api):
    jobs = {c.findtext("Name") for c in api.ok("GET", "category.api/list").iter("Category")}
    leads = {c.findtext("Name") for c in api.ok("GET", "lead.api/categories").iter("Category")}
    assert leads == {"Website", "Referral", "Hot"}
    assert "Compliance" in jobs and jobs.isdisjoint(leads)


# -- groups -------------------------------------------------------------------------------


def test_group_list_and_get(api: Api, sb):
    groups = api.ok("GET", "clientgroup.api/list").findall("Groups/Group")
    assert len(groups) >= 2
    assert [child.tag for child in groups[0]] == ["UUID", "Name", "Taxable"]
    family = next(g for g in groups if g.findtext("Name") == "Walker Whānau")
    root = api.ok("GET", f"clientgroup.api/get/{family.findtext('UUID')}")
    members = [c.findtext("Name") for c in root.findall("Group/Clients/Client")]
    assert "Walker Holdings Pty Ltd" in members and "The Walker Family Trust" in members
    assert api.error("GET", "clientgroup.api/get/nope") == "Invalid group identifier"


def test_group_add_members_and_delete(api: Api, sb):
    first, second, third = live_clients(sb)[5:8]
    root = api.ok(
        "POST",
        "clientgroup.api/add",
        f"<Group><Name>Smith Group</Name><Taxable>No</Taxable>"
        f"<ClientUUID>{first.uuid}</ClientUUID></Group>",
    )
    group_uuid = root.findtext("Group/UUID")
    assert root.findtext("Group/Name") == "Smith Group"
    assert [c.findtext("UUID") for c in root.findall("Group/Clients/Client")] == [first.uuid]
    api.ok(
        "PUT",
        "clientgroup.api/members",
        f'<Group><UUID>{group_uuid}</UUID><add uuid="{second.uuid}" />'
        f'<add uuid="{third.uuid}" /><remove uuid="{first.uuid}" /></Group>',
    )
    members = api.ok("GET", f"clientgroup.api/get/{group_uuid}").findall("Group/Clients/Client")
    assert [c.findtext("UUID") for c in members] == [second.uuid, third.uuid]
    detailed = api.ok("GET", f"client.api/get/{second.uuid}")
    assert "Smith Group" in [g.findtext("Name") for g in detailed.findall("Client/Groups/Group")]
    api.ok("POST", "clientgroup.api/delete", f"<Group><UUID>{group_uuid}</UUID></Group>")
    assert api.error("GET", f"clientgroup.api/get/{group_uuid}") == "Invalid group identifier"
    detailed = api.ok("GET", f"client.api/get/{second.uuid}")
    assert "Smith Group" not in [g.findtext("Name") for g in detailed.iter("Group")]


def test_group_errors(api: Api, sb):
    group = next(iter(sb.state.groups.values()))
    assert api.error(
        "POST", "clientgroup.api/add", "<Group><Taxable>No</Taxable></Group>"
    ).endswith("- /Group/Name")
    assert api.error(
        "PUT",
        "clientgroup.api/members",
        f'<Group><UUID>{group.uuid}</UUID><add uuid="nope" /></Group>',
    ) == ("Invalid client identifier")
    assert api.error("PUT", "clientgroup.api/members", "<Group><UUID>nope</UUID></Group>") == (
        "Invalid group identifier"
    )
    assert api.error("POST", "clientgroup.api/delete", "<Group><UUID>nope</UUID></Group>") == (
        "Invalid group identifier"
    )


# -- leads --------------------------------------------------------------------------------


def lead_refs(sb):
    client = next(c for c in live_clients(sb) if c.contacts)
    owner = next(iter(sb.state.staff.values()))
    website = next(c for c in sb.state.lead_categories.values() if c.name == "Website")
    return client, client.contacts[0].contact_uuid, owner, website


def test_add_lead_and_read_it_back(api: Api, sb):
    client, contact_uuid, owner, website = lead_refs(sb)
    body = (
        "<Lead><Name>Website enquiry</Name><Description>Needs help with a BAS &amp; payroll"
        f"</Description><ClientUUID>{client.uuid}</ClientUUID>"
        f"<ContactUUID>{contact_uuid}</ContactUUID><OwnerUUID>{owner.uuid}</OwnerUUID>"
        f"<CategoryUUID>{website.uuid}</CategoryUUID><EstimatedValue>1500</EstimatedValue>"
        "</Lead>"
    )
    root = api.ok("POST", "lead.api/add", body)
    assert root.get("api-method") == "Add"
    lead = root.find("Lead")
    assert lead.findtext("State") == "Current"
    assert lead.findtext("Date") == sb.clock().strftime("%Y-%m-%dT00:00:00")
    assert lead.findtext("Category") == "Website"
    assert lead.findtext("Client/UUID") == client.uuid
    assert lead.findtext("Contact/UUID") == contact_uuid
    assert lead.findtext("Owner/Name") == owner.name
    assert lead.findtext("Description") == "Needs help with a BAS & payroll"
    assert lead.findtext("EstimatedValue") == "1500"
    assert lead.find("History/Item") is not None
    uuid = lead.findtext("UUID")
    assert api.ok("GET", f"lead.api/get/{uuid}").findtext("Lead/Name") == "Website enquiry"
    current = api.ok("GET", "lead.api/current").findall("Leads/Lead")
    assert uuid in [item.findtext("UUID") for item in current]
    assert all(item.findtext("State") == "Current" for item in current)
    assert current[0].find("Activities") is None
    detailed = api.ok("GET", "lead.api/current", params={"detailed": "true"})
    assert detailed.find("Leads/Lead/Activities") is not None


def test_lead_list_by_creation_date(api: Api, sb):
    client, _, owner, _ = lead_refs(sb)
    body = (
        f"<Lead><Name>Today</Name><ClientUUID>{client.uuid}</ClientUUID>"
        f"<OwnerUUID>{owner.uuid}</OwnerUUID></Lead>"
    )
    api.ok("POST", "lead.api/add", body)
    today = sb.clock().date()
    fmt = "%Y%m%d"
    root = api.ok(
        "GET", "lead.api/list", params={"from": today.strftime(fmt), "to": today.strftime(fmt)}
    )
    assert [lead.findtext("Name") for lead in root.findall("Leads/Lead")] == ["Today"]
    older = api.ok(
        "GET",
        "lead.api/list",
        params={"from": "20000101", "to": (today - timedelta(days=1)).strftime(fmt)},
    )
    assert "Today" not in [lead.findtext("Name") for lead in older.findall("Leads/Lead")]
    assert len(older.findall("Leads/Lead")) == 2  # the generated ones
    assert api.error("GET", "lead.api/list", params={"from": "20250101"}) == (
        "The to parameter is required (YYYYMMDD)"
    )
    assert api.error(
        "GET", "lead.api/list", params={"from": "2025-01-01", "to": "20250101"}
    ).startswith("Invalid from value")


@pytest.mark.parametrize(
    ("drop", "replace", "message"),
    [
        (
            "Name",
            None,
            "Message not in expected format. The following required element was "
            "missing - /Lead/Name",
        ),
        (
            "ClientUUID",
            None,
            "Message not in expected format. The following required element "
            "was missing - /Lead/ClientUUID",
        ),
        (
            "OwnerUUID",
            None,
            "Message not in expected format. The following required element "
            "was missing - /Lead/OwnerUUID",
        ),
        (None, ("ClientUUID", "nope"), "Invalid client identifier"),
        (None, ("OwnerUUID", "nope"), "Invalid owner"),
        (None, ("ContactUUID", "unlinked"), "Invalid contact identifier"),
        (None, ("CategoryUUID", "job"), "Invalid category identifier"),
        (None, ("EstimatedValue", "lots"), "Invalid EstimatedValue value: lots"),
    ],
)
def test_add_lead_errors(api: Api, sb, drop, replace, message):
    client, contact_uuid, owner, website = lead_refs(sb)
    fields = {
        "Name": "Enquiry",
        "ClientUUID": client.uuid,
        "ContactUUID": contact_uuid,
        "OwnerUUID": owner.uuid,
        "CategoryUUID": website.uuid,
        "EstimatedValue": "100",
    }
    if drop:
        del fields[drop]
    if replace:
        key, value = replace
        if value == "unlinked":
            value = next(
                c.uuid
                for c in sb.state.contacts.values()
                if sb.state.link_of(client, c.uuid) is None
            )
        elif value == "job":
            value = next(iter(sb.state.job_categories.values())).uuid
        fields[key] = value
    body = "<Lead>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items()) + "</Lead>"
    before = len(sb.state.leads)
    assert api.error("POST", "lead.api/add", body) == message
    assert len(sb.state.leads) == before


def test_lead_on_a_deleted_client_is_refused(api: Api, sb):
    deleted = next(c for c in sb.state.clients.values() if c.is_deleted)
    owner = next(iter(sb.state.staff.values()))
    assert (
        api.error(
            "POST",
            "lead.api/add",
            f"<Lead><Name>x</Name><ClientUUID>{deleted.uuid}</ClientUUID>"
            f"<OwnerUUID>{owner.uuid}</OwnerUUID></Lead>",
        )
        == "Invalid client identifier"
    )


def test_get_unknown_lead(api: Api):
    assert api.error("GET", "lead.api/get/nope") == "Invalid lead identifier"
