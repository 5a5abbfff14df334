"""/_sandbox/: what the website did, and the knobs, for demo users and browser tests."""

from __future__ import annotations

import requests
from sandbox_helpers import Api, api_fixture, live_clients, sb_fixture, server_fixture  # noqa: F401


def add_client_and_lead(api: Api, sb) -> tuple[str, str]:
    root = api.ok(
        "POST",
        "client.api/add",
        "<Client><Name>Web Visitor &lt;Prospect&gt;</Name><IsProspect>Yes</IsProspect>"
        "<Contacts><Contact><Name>Vi Sitor</Name><Email>vi@visitor.example</Email>"
        "</Contact></Contacts></Client>",
    )
    client_uuid = root.findtext("Client/UUID")
    contact_uuid = root.findtext("Client/Contacts/Contact/UUID")
    owner = next(iter(sb.state.staff.values()))
    hot = next(c for c in sb.state.lead_categories.values() if c.name == "Hot")
    lead = api.ok(
        "POST",
        "lead.api/add",
        f"<Lead><Name>Contact form: tax help</Name><ClientUUID>{client_uuid}"
        f"</ClientUUID><ContactUUID>{contact_uuid}</ContactUUID>"
        f"<OwnerUUID>{owner.uuid}</OwnerUUID><CategoryUUID>{hot.uuid}</CategoryUUID>"
        "</Lead>",
    )
    return client_uuid, lead.findtext("Lead/UUID")


def test_index_page_shows_practice_counts_and_what_the_site_created(api: Api, server, sb):
    add_client_and_lead(api, sb)
    page = requests.get(f"{server.url}/_sandbox/", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert "Harbour &amp; Co Chartered Accountants" in html
    assert "Contact form: tax help" in html
    assert "vi@visitor.example" in html
    assert "Web Visitor &lt;Prospect&gt;" in html  # escaped, not injected
    assert "<Prospect>" not in html
    assert f"XPM_API_URL={server.url}/practicemanager/3.1/" in html
    assert sb.tenant_id in html


def test_leads_json(api: Api, server, sb):
    client_uuid, lead_uuid = add_client_and_lead(api, sb)
    leads = requests.get(f"{server.url}/_sandbox/leads.json", timeout=10).json()
    newest = leads[0]
    assert newest["uuid"] == lead_uuid
    assert newest["created_via_api"] is True
    assert newest["client"] == {"uuid": client_uuid, "name": "Web Visitor <Prospect>"}
    assert newest["contact"]["email"] == "vi@visitor.example"
    assert newest["category"] == "Hot"
    assert newest["owner"]["name"] == "John Smith"
    assert len(leads) == len(sb.state.leads)


def test_clients_json_with_limit_and_via_api_filter(api: Api, server, sb):
    client_uuid, _ = add_client_and_lead(api, sb)
    rows = requests.get(
        f"{server.url}/_sandbox/clients.json", params={"limit": 3}, timeout=10
    ).json()
    assert len(rows) == 3
    assert rows[0]["uuid"] == client_uuid
    assert rows[0]["is_prospect"] is True
    assert rows[0]["contacts"][0]["email"] == "vi@visitor.example"
    assert rows[0]["contacts"][0]["is_primary"] is True
    via_api = requests.get(
        f"{server.url}/_sandbox/clients.json", params={"via_api": "1"}, timeout=10
    ).json()
    assert [row["uuid"] for row in via_api] == [client_uuid]
    everything = requests.get(
        f"{server.url}/_sandbox/clients.json", params={"limit": 1000}, timeout=10
    ).json()
    assert len(everything) == len(sb.state.clients)
    with_custom = next(row for row in everything if row["custom_fields"])
    assert set(with_custom["custom_fields"]) <= {d.name for d in sb.state.custom_fields.values()}
    assert (
        requests.get(
            f"{server.url}/_sandbox/clients.json", params={"limit": "x"}, timeout=10
        ).status_code
        == 400
    )


def test_stats_and_call_counters(api: Api, server, sb):
    sb.reset_stats()
    client = live_clients(sb)[0]
    api.ok("GET", "client.api/LIST")
    api.ok("GET", f"client.api/get/{client.uuid}/customfield")
    api.ok("GET", f"client.api/get/{live_clients(sb)[1].uuid}/customfield")
    assert sb.api_calls == 3
    assert sb.calls_by_path["client.api/list"] == 1
    assert sb.calls_by_path[f"client.api/get/{client.uuid}/customfield"] == 1
    assert sb.calls_by_endpoint["client.api/get/{id}/customfield"] == 2
    stats = requests.get(f"{server.url}/_sandbox/stats.json", timeout=10).json()
    assert stats["api_calls"] == 3
    assert stats["counts"]["clients"] == 25
    assert stats["practice_name"] == sb.practice_name


def test_advance_moves_the_clock(server, sb):
    before = sb.clock()
    response = requests.post(f"{server.url}/_sandbox/advance", json={"seconds": 3600}, timeout=10)
    assert response.status_code == 200
    assert (sb.clock() - before).total_seconds() >= 3600


def test_unknown_control_path_is_404(server):
    assert requests.get(f"{server.url}/_sandbox/nothing", timeout=10).status_code == 404
    assert requests.get(f"{server.url}/elsewhere", timeout=10).status_code == 404


def test_identity_calls_are_counted_by_absolute_path_but_not_as_api_calls(server, sb):
    sb.reset_stats()
    tokens = sb.issue_tokens()
    for _ in range(2):
        requests.post(
            f"{server.url}/connect/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=(sb.client_id, sb.client_secret),
            timeout=10,
        )
    requests.get(
        f"{server.url}/connections",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )
    assert sb.calls_by_path["/connect/token"] == 2
    assert sb.calls_by_path["/connections"] == 1
    assert sb.api_calls == 0
