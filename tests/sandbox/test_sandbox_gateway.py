"""The API gateway: /connections, 401/403 problem bodies, scopes, routing rules."""

from __future__ import annotations

import re
import uuid

import pytest
import requests
from sandbox_helpers import API, Api, api_fixture, sb_fixture, server_fixture  # noqa: F401

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
STAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$")


def get(server, path, headers=None, **kw):
    return requests.get(f"{server.url}{path}", headers=headers or {}, timeout=10, **kw)


def test_connections_lists_practice_and_an_accounting_org(server, sb):
    tokens = sb.issue_tokens()
    response = get(server, "/connections", {"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert UUID_RE.match(response.headers["xero-correlation-id"])
    rows = response.json()
    assert {row["tenantType"] for row in rows} == {"PRACTICEMANAGER", "ORGANISATION"}
    practice = next(row for row in rows if row["tenantType"] == "PRACTICEMANAGER")
    assert list(practice) == [
        "id",
        "authEventId",
        "tenantId",
        "tenantType",
        "tenantName",
        "createdDateUtc",
        "updatedDateUtc",
    ]
    assert practice["tenantId"] == sb.tenant_id
    assert practice["tenantName"] == "Harbour & Co Chartered Accountants"
    assert STAMP_RE.match(practice["createdDateUtc"])
    assert practice["authEventId"] in sb.state.auth.grants
    org = next(row for row in rows if row["tenantType"] == "ORGANISATION")
    assert org["tenantId"] != sb.tenant_id


def test_connections_are_per_grant_and_filter_by_auth_event(server, sb):
    first, second = sb.issue_tokens(), sb.issue_tokens()
    headers = {"Authorization": f"Bearer {first['access_token']}"}
    rows = get(server, "/connections", headers).json()
    event = rows[0]["authEventId"]
    assert all(row["authEventId"] == event for row in rows)
    filtered = get(server, "/connections", headers, params={"authEventId": event}).json()
    assert len(filtered) == 2
    other = get(server, "/connections", headers, params={"authEventId": str(uuid.uuid4())})
    assert other.json() == []
    other_rows = get(
        server, "/connections", {"Authorization": f"Bearer {second['access_token']}"}
    ).json()
    assert {row["id"] for row in other_rows}.isdisjoint({row["id"] for row in rows})


def test_connections_without_token_is_401(server):
    response = get(server, "/connections")
    assert response.status_code == 401
    assert response.json()["Detail"] == "AuthenticationUnsuccessful"


def test_disconnecting_the_practice_makes_api_calls_403(server, sb):
    tokens = sb.issue_tokens()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    practice = next(
        row
        for row in get(server, "/connections", auth).json()
        if row["tenantType"] == "PRACTICEMANAGER"
    )
    assert get(server, f"{API}staff.api/list", sb.auth_headers(tokens)).status_code == 200
    deleted = requests.delete(
        f"{server.url}/connections/{practice['id']}", headers=auth, timeout=10
    )
    assert deleted.status_code == 204
    again = requests.delete(f"{server.url}/connections/{practice['id']}", headers=auth, timeout=10)
    assert again.status_code == 404
    response = get(server, f"{API}staff.api/list", sb.auth_headers(tokens))
    assert response.status_code == 403
    assert response.json()["Detail"] == "AuthenticationUnsuccessful"


def assert_problem(response, status, title, detail):
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert UUID_RE.match(response.headers["xero-correlation-id"])
    body = response.json()
    assert list(body) == ["Type", "Title", "Status", "Detail", "Instance", "Extensions"]
    assert body["Type"] is None
    assert body["Title"] == title
    assert body["Status"] == status
    assert body["Instance"] and UUID_RE.match(body["Instance"])
    assert body["Extensions"] == {}
    if isinstance(detail, re.Pattern):
        assert detail.match(body["Detail"]), body["Detail"]
    else:
        assert body["Detail"] == detail


def test_missing_bearer_is_401_authentication_unsuccessful(server, sb):
    response = get(server, f"{API}client.api/list", {"xero-tenant-id": sb.tenant_id})
    assert_problem(response, 401, "Unauthorized", "AuthenticationUnsuccessful")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_bearer_is_401(server, sb):
    response = get(
        server,
        f"{API}client.api/list",
        {"Authorization": "Bearer made-up", "xero-tenant-id": sb.tenant_id},
    )
    assert_problem(response, 401, "Unauthorized", "AuthenticationUnsuccessful")
    assert "invalid_token" in response.headers["WWW-Authenticate"]


def test_expired_token_is_401_token_expired_with_timestamp(server, sb):
    tokens = sb.issue_tokens()
    sb.advance(seconds=1800)
    response = get(server, f"{API}client.api/list", sb.auth_headers(tokens))
    assert_problem(
        response,
        401,
        "Unauthorized",
        re.compile(r"^TokenExpired: token expired at \d\d/\d\d/\d{4} \d\d:\d\d:\d\d$"),
    )
    assert "WWW-Authenticate" in response.headers


def test_token_is_valid_until_it_expires(server, sb):
    tokens = sb.issue_tokens()
    sb.advance(seconds=1799)
    assert get(server, f"{API}staff.api/list", sb.auth_headers(tokens)).status_code == 200


@pytest.mark.parametrize("tenant", ["", "org", "random"])
def test_foreign_missing_or_org_tenant_is_403(server, sb, tenant):
    tokens = sb.issue_tokens()
    headers = sb.auth_headers(tokens)
    if tenant == "":
        del headers["xero-tenant-id"]
    elif tenant == "org":
        headers["xero-tenant-id"] = sb.state.org_tenant_id
    else:
        headers["xero-tenant-id"] = str(uuid.uuid4())
    response = get(server, f"{API}client.api/list", headers)
    assert_problem(response, 403, "Forbidden", "AuthenticationUnsuccessful")


def test_tenant_header_is_case_insensitive_in_name_and_value(server, sb):
    tokens = sb.issue_tokens()
    headers = {
        "Authorization": f"Bearer {tokens['access_token']}",
        "XERO-TENANT-ID": sb.tenant_id.upper(),
    }
    assert get(server, f"{API}staff.api/list", headers).status_code == 200


@pytest.mark.parametrize(
    ("scopes", "method", "path", "allowed"),
    [
        (("practicemanager.client.read",), "GET", "client.api/list", True),
        (("practicemanager.client.read",), "POST", "client.api/add", False),
        (("practicemanager.client.read",), "GET", "staff.api/list", False),
        (("practicemanager.client",), "POST", "client.api/add", True),
        (("practicemanager.client",), "GET", "clientgroup.api/list", True),
        (("practicemanager.client",), "GET", "customfield.api/definition", False),
        (("practicemanager.client",), "GET", "category.api/list", False),
        (("practicemanager.client",), "POST", "lead.api/add", False),
        (("practicemanager.client",), "GET", "lead.api/categories", False),
        (("practicemanager.staff.read",), "GET", "staff.api/list", True),
        (("practicemanager.read",), "GET", "customfield.api/definition", True),
        (("practicemanager.read",), "GET", "client.api/list", True),
        (("practicemanager.read",), "POST", "lead.api/add", False),
        (("practicemanager",), "POST", "lead.api/add", True),
        (("practicemanager",), "GET", "staff.api/list", True),
        (("openid", "offline_access"), "GET", "client.api/list", False),
    ],
)
def test_scope_enforcement(server, sb, scopes, method, path, allowed):
    tokens = sb.issue_tokens(scopes=scopes)
    response = requests.request(
        method,
        f"{server.url}{API}{path}",
        headers=sb.auth_headers(tokens),
        data=b"<Nothing />" if method != "GET" else None,
        timeout=10,
    )
    if allowed:
        # Past the gateway: XML, possibly a business error for the empty body.
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/xml")
    else:
        assert_problem(response, 401, "Unauthorized", "AuthorizationUnsuccessful")


def test_unknown_method_is_404_and_wrong_verb_is_405(api: Api):
    assert api.call("GET", "client.api/nothing").status_code == 404
    assert api.call("GET", "widget.api/list").status_code == 404
    wrong = api.call("GET", "client.api/add")
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "POST"


def test_method_segment_and_query_keys_are_case_insensitive(api: Api):
    root = api.ok("GET", "CLIENT.API/Paged-List", params={"PAGESIZE": "3"})
    assert root.get("api-method") == "PagedList"
    assert len(root.findall("Clients/Client")) == 3


def test_other_api_versions_are_not_served(api: Api, server):
    response = requests.get(
        f"{server.url}/practicemanager/3.0/client.api/list", headers=api.headers, timeout=10
    )
    assert response.status_code == 404


def test_root_redirects_to_the_inspection_page(server):
    response = requests.get(server.url, allow_redirects=False, timeout=10)
    assert response.status_code in (301, 302)
    assert response.headers["Location"].endswith("/_sandbox/")


def test_wsgi_app_and_sandbox_are_callable_in_process(sb):
    from werkzeug.test import Client

    tokens = sb.issue_tokens()
    for app in (sb.wsgi_app, sb):
        response = Client(app).get(f"{API}staff.api/list", headers=sb.auth_headers(tokens))
        assert response.status_code == 200
        assert b"<StaffList>" in response.data
