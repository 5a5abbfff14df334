"""XpmClient request policy against `responses`: every status of docs/xpm-api.md 10.3 and more."""

from __future__ import annotations

import gzip
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import xpm_testdata as td
from responses import matchers

from wagtail_xpm.xpm import (
    InMemoryRateLimiter,
    InMemoryTokenStore,
    NewClient,
    NewContact,
    NewLead,
    TokenSet,
    XpmClient,
)
from wagtail_xpm.xpm.errors import (
    XpmApiError,
    XpmAuthError,
    XpmConfigurationError,
    XpmDailyLimitReached,
    XpmNotFoundError,
    XpmRateLimited,
    XpmReauthorizationRequired,
    XpmResponseError,
    XpmTenantError,
    XpmTransientError,
)

API = td.API_URL
CLIENT_UUID = "f8235e1a-d383-48b7-9139-ba97ab8ca889"
GET_URL = f"{API}client.api/get/{CLIENT_UUID}"
ONE_CLIENT = td.envelope(
    f"<Client><UUID>{CLIENT_UUID}</UUID><Name>Acmer Pty Ltd</Name>"
    "<Contacts><Contact><UUID>c1</UUID><Name>Wyett E Coyote</Name><IsPrimary>Yes</IsPrimary>"
    "</Contact></Contacts></Client>"
)
LIST_URL = f"{API}client.api/list"
RATE_HEADERS = {
    "X-DayLimit-Remaining": "4994",
    "X-MinLimit-Remaining": "59",
    "X-AppMinLimit-Remaining": "9998",
    "xero-correlation-id": "e4487879-7b32-4ecf-b340-4483c145be02",
}
TOKEN_JSON = {
    "access_token": "refreshed-access",
    "refresh_token": "refreshed-refresh",
    "expires_in": 1800,
    "token_type": "Bearer",
    "scope": "offline_access practicemanager",
}


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def _xml(body: bytes, status: int = 200, **headers: str) -> dict[str, object]:
    return {
        "body": body,
        "status": status,
        "content_type": "text/xml; charset=utf-8",
        "headers": {**RATE_HEADERS, **headers},
    }


def _gateway(status: int, detail: str, title: str = "Unauthorized") -> dict[str, object]:
    return {
        "status": status,
        "json": {
            "Type": None,
            "Title": title,
            "Status": status,
            "Detail": detail,
            "Instance": "1d1f4e3e",
            "Extensions": {},
        },
        "headers": {"xero-correlation-id": "corr-401"},
    }


def _api_calls(rsps: responses.RequestsMock) -> list[requests.PreparedRequest]:
    return [c.request for c in rsps.calls if c.request.url.startswith(API)]


# --------------------------------------------------------------------------- 200


def test_get_client_sends_the_required_headers(rsps: responses.RequestsMock) -> None:
    rsps.get(GET_URL, **_xml(ONE_CLIENT))
    client, _ = td.make_client()

    record = client.get_client(CLIENT_UUID)

    assert record.name == "Acmer Pty Ltd"
    request = rsps.calls[0].request
    assert request.headers["Authorization"] == "Bearer access-1"
    assert request.headers["xero-tenant-id"] == td.TENANT_ID
    assert request.headers["Accept"] == "application/xml"
    assert "Content-Type" not in request.headers
    assert request.req_kwargs["timeout"] == (5, 60)
    assert request.req_kwargs["stream"] is True
    assert client.calls_made == 1
    assert client.day_remaining == 4994


def test_identifiers_cannot_escape_their_path_segment(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{API}client.api/get/..%2Fstaff.api%2Flist", **_xml(ONE_CLIENT))
    client, _ = td.make_client()
    client.get_client("../staff.api/list")
    assert rsps.calls[0].request.path_url.endswith("/client.api/get/..%2Fstaff.api%2Flist")
    with pytest.raises(ValueError):
        client.get_client("")


def test_utf8_decoded_when_server_omits_charset(rsps: responses.RequestsMock) -> None:
    body = td.envelope(
        "<Client><UUID>u</UUID><Name>M\u0101ori Trust Ltd</Name><Contacts><Contact>"
        "<UUID>c</UUID><Name>Zo\u00eb Ng</Name></Contact></Contacts></Client>"
    )
    rsps.get(f"{API}client.api/get/u", body=body, content_type="text/xml")
    client, _ = td.make_client()
    record = client.get_client("u")
    assert record.name == "M\u0101ori Trust Ltd"
    assert record.contacts[0].name == "Zo\u00eb Ng"


def test_asks_for_and_decodes_a_compressed_answer(rsps: responses.RequestsMock) -> None:
    body = gzip.compress(ONE_CLIENT if isinstance(ONE_CLIENT, bytes) else ONE_CLIENT.encode())
    rsps.get(
        GET_URL,
        body=body,
        content_type="text/xml; charset=utf-8",
        headers={"Content-Encoding": "gzip"},
    )
    client, _ = td.make_client()
    assert client.get_client(CLIENT_UUID).name == "Acmer Pty Ltd"
    assert "gzip" in rsps.calls[0].request.headers["Accept-Encoding"]


# --------------------------------------------------------------------------- 200 ERROR, 4xx


def test_status_error_is_an_api_error_and_not_retried(rsps: responses.RequestsMock) -> None:
    rsps.get(GET_URL, **_xml(td.error_envelope("Invalid client identifier")))
    client, _ = td.make_client()
    with pytest.raises(XpmNotFoundError) as excinfo:
        client.get_client(CLIENT_UUID)
    assert excinfo.value.description == "Invalid client identifier"
    assert client.calls_made == 1
    assert client._sleep.calls == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, XpmApiError), (404, XpmNotFoundError), (409, XpmApiError)],
)
def test_client_errors_are_permanent(
    rsps: responses.RequestsMock, status: int, error: type[XpmApiError]
) -> None:
    rsps.get(
        f"{API}client.api/paged-list",
        status=status,
        json={"status": "ERROR", "errorDescription": "pageSize must be between 1 and 500"},
    )
    client, _ = td.make_client()
    with pytest.raises(error) as excinfo:
        list(client.paged_clients(page_size=100))
    assert excinfo.value.status == status
    assert excinfo.value.description == "pageSize must be between 1 and 500"
    assert client.calls_made == 1


# --------------------------------------------------------------------------- 401, 403


def test_token_expired_refreshes_once_then_succeeds(rsps: responses.RequestsMock) -> None:
    rsps.get(GET_URL, **_gateway(401, "TokenExpired: token expired at 04/29/2020 09:22:02"))
    rsps.post(td.TOKEN_URL, json=TOKEN_JSON)
    rsps.get(GET_URL, **_xml(ONE_CLIENT))
    client, store = td.make_client()

    assert client.get_client(CLIENT_UUID).uuid == CLIENT_UUID

    first, second = _api_calls(rsps)
    assert first.headers["Authorization"] == "Bearer access-1"
    assert second.headers["Authorization"] == "Bearer refreshed-access"
    token_request = rsps.calls[1].request
    assert "refresh_token=refresh-1" in token_request.body
    assert store.load().refresh_token == "refreshed-refresh"
    assert client.calls_made == 2


def test_token_expired_twice_gives_up(rsps: responses.RequestsMock) -> None:
    rsps.get(GET_URL, **_gateway(401, "TokenExpired: token expired at 04/29/2020 09:22:02"))
    rsps.post(td.TOKEN_URL, json=TOKEN_JSON)
    rsps.get(GET_URL, **_gateway(401, "TokenExpired: token expired at 04/29/2020 09:22:02"))
    client, _ = td.make_client()
    with pytest.raises(XpmAuthError):
        client.get_client(CLIENT_UUID)
    assert len([c for c in rsps.calls if c.request.url == td.TOKEN_URL]) == 1
    assert client.calls_made == 2


@pytest.mark.parametrize("detail", ["AuthenticationUnsuccessful", "AuthorizationUnsuccessful"])
def test_other_401_is_auth_error_without_refresh(rsps: responses.RequestsMock, detail: str) -> None:
    rsps.get(GET_URL, **_gateway(401, detail))
    client, _ = td.make_client()
    with pytest.raises(XpmAuthError, match=detail) as excinfo:
        client.get_client(CLIENT_UUID)
    assert not isinstance(excinfo.value, XpmTenantError)
    assert excinfo.value.status == 401
    assert excinfo.value.correlation_id == "corr-401"
    assert len(rsps.calls) == 1


def test_403_is_tenant_error_naming_the_tenant(rsps: responses.RequestsMock) -> None:
    rsps.get(GET_URL, **_gateway(403, "AuthenticationUnsuccessful", "Forbidden"))
    client, _ = td.make_client()
    with pytest.raises(XpmTenantError) as excinfo:
        client.get_client(CLIENT_UUID)
    assert td.TENANT_ID in str(excinfo.value)
    assert excinfo.value.tenant_id == td.TENANT_ID
    assert len(rsps.calls) == 1


def test_expired_token_is_refreshed_before_the_call(rsps: responses.RequestsMock) -> None:
    rsps.post(td.TOKEN_URL, json=TOKEN_JSON)
    rsps.get(GET_URL, **_xml(ONE_CLIENT))
    client, store = td.make_client(token=td.fresh_token(minutes=0.5))  # inside the leeway
    client.get_client(CLIENT_UUID)
    assert rsps.calls[0].request.url == td.TOKEN_URL
    assert rsps.calls[1].request.headers["Authorization"] == "Bearer refreshed-access"
    assert store.load().access_token == "refreshed-access"


def test_invalid_grant_on_refresh_requires_reauthorisation(
    rsps: responses.RequestsMock,
) -> None:
    rsps.post(td.TOKEN_URL, status=400, json={"error": "invalid_grant"})
    client, _ = td.make_client(token=td.fresh_token(minutes=-5))
    with pytest.raises(XpmReauthorizationRequired):
        client.get_client(CLIENT_UUID)
    assert client.calls_made == 0


# --------------------------------------------------------------------------- 429


def test_minute_429_sleeps_retry_after_then_succeeds(rsps: responses.RequestsMock) -> None:
    rsps.get(
        GET_URL,
        status=429,
        body=b"",
        headers={
            "Retry-After": "22",
            "X-Rate-Limit-Problem": "minute",
            "X-MinLimit-Remaining": "0",
            "X-DayLimit-Remaining": "4539",
        },
    )
    rsps.get(GET_URL, **_xml(ONE_CLIENT))
    client, _ = td.make_client()
    assert client.get_client(CLIENT_UUID).uuid == CLIENT_UUID
    assert client._sleep.calls == [22.0]  # type: ignore[attr-defined]
    assert client.calls_made == 2


def test_429_sleep_is_capped_and_defaulted(rsps: responses.RequestsMock) -> None:
    rsps.get(GET_URL, status=429, headers={"Retry-After": "600", "X-Rate-Limit-Problem": "minute"})
    rsps.get(GET_URL, status=429, headers={"X-Rate-Limit-Problem": "minute"})
    rsps.get(GET_URL, status=429, headers={"X-Rate-Limit-Problem": "concurrent"})
    rsps.get(GET_URL, **_xml(ONE_CLIENT))
    client, _ = td.make_client(max_retry_sleep=30.0)
    client.get_client(CLIENT_UUID)
    assert client._sleep.calls == [30.0, 5.0, 1.0]  # type: ignore[attr-defined]


def test_429_retries_are_bounded(rsps: responses.RequestsMock) -> None:
    for _ in range(3):
        rsps.get(
            GET_URL, status=429, headers={"Retry-After": "2", "X-Rate-Limit-Problem": "minute"}
        )
    client, _ = td.make_client(max_attempts=3)
    with pytest.raises(XpmRateLimited) as excinfo:
        client.get_client(CLIENT_UUID)
    assert not isinstance(excinfo.value, XpmDailyLimitReached)
    assert excinfo.value.problem == "minute"
    assert excinfo.value.retry_after == 2.0
    assert client._sleep.calls == [2.0, 2.0]  # type: ignore[attr-defined]
    assert client.calls_made == 3


def test_daily_limit_429_raises_without_sleeping(rsps: responses.RequestsMock) -> None:
    rsps.get(
        GET_URL,
        status=429,
        headers={
            "Retry-After": "43000",
            "X-Rate-Limit-Problem": "day",
            "X-DayLimit-Remaining": "0",
        },
    )
    client, _ = td.make_client()
    with pytest.raises(XpmDailyLimitReached) as excinfo:
        client.get_client(CLIENT_UUID)
    assert excinfo.value.problem == "day"
    assert excinfo.value.retry_after == 43000.0
    assert client._sleep.calls == []  # type: ignore[attr-defined]
    assert client.calls_made == 1
    assert client.day_remaining == 0


def test_429_is_retried_even_for_creates(rsps: responses.RequestsMock) -> None:
    rsps.post(
        f"{API}client.api/add",
        status=429,
        headers={"Retry-After": "3", "X-Rate-Limit-Problem": "minute"},
    )
    rsps.post(f"{API}client.api/add", **_xml(ONE_CLIENT))
    client, _ = td.make_client()
    assert client.add_client(NewClient("Acmer Pty Ltd")).uuid == CLIENT_UUID
    assert client._sleep.calls == [3.0]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- 5xx and network


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_with_backoff_for_reads(
    rsps: responses.RequestsMock, status: int
) -> None:
    rsps.get(GET_URL, **_gateway(status, "ServiceNotAvailable", "Unavailable"))
    rsps.get(GET_URL, **_gateway(status, "ServiceNotAvailable", "Unavailable"))
    rsps.get(GET_URL, **_xml(ONE_CLIENT))
    client, _ = td.make_client()
    assert client.get_client(CLIENT_UUID).uuid == CLIENT_UUID
    assert client._sleep.calls == [1.0, 2.0]  # type: ignore[attr-defined]
    assert client.calls_made == 3


def test_server_errors_give_up_after_max_attempts(rsps: responses.RequestsMock) -> None:
    for _ in range(4):
        rsps.get(GET_URL, **_gateway(503, "ServiceNotAvailable", "Unavailable"))
    client, _ = td.make_client()
    with pytest.raises(XpmTransientError) as excinfo:
        client.get_client(CLIENT_UUID)
    assert excinfo.value.status == 503
    assert excinfo.value.outcome_unknown is False
    assert client._sleep.calls == [1.0, 2.0, 4.0]  # type: ignore[attr-defined]
    assert client.calls_made == 4


def test_read_timeouts_are_retried_for_reads(rsps: responses.RequestsMock) -> None:
    rsps.get(GET_URL, body=requests.ReadTimeout("slow"))
    rsps.get(GET_URL, body=requests.ConnectionError("reset"))
    rsps.get(GET_URL, **_xml(ONE_CLIENT))
    client, _ = td.make_client()
    assert client.get_client(CLIENT_UUID).uuid == CLIENT_UUID
    assert client.calls_made == 3


CREATES = [
    pytest.param("client.api/add", lambda c: c.add_client(NewClient("Acme")), id="add_client"),
    pytest.param(
        "client.api/contact", lambda c: c.add_contact("c1", NewContact("Jo")), id="add_contact"
    ),
    pytest.param(
        "lead.api/add", lambda c: c.add_lead(NewLead("Enquiry", "c1", "s1")), id="add_lead"
    ),
]


@pytest.mark.parametrize(("path", "create"), CREATES)
@pytest.mark.parametrize("status", [500, 503])
def test_creates_are_never_retried_after_server_errors(
    rsps: responses.RequestsMock,
    path: str,
    create,
    status: int,  # type: ignore[no-untyped-def]
) -> None:
    rsps.post(f"{API}{path}", **_gateway(status, "ServiceNotAvailable", "Unavailable"))
    client, _ = td.make_client()
    with pytest.raises(XpmTransientError, match="outcome is unknown") as excinfo:
        create(client)
    assert excinfo.value.outcome_unknown is True
    assert client.calls_made == 1
    assert client._sleep.calls == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(("path", "create"), CREATES)
def test_creates_are_never_retried_after_timeouts(
    rsps: responses.RequestsMock,
    path: str,
    create,  # type: ignore[no-untyped-def]
) -> None:
    rsps.post(f"{API}{path}", body=requests.ReadTimeout("slow"))
    client, _ = td.make_client()
    with pytest.raises(XpmTransientError, match="outcome is unknown") as excinfo:
        create(client)
    assert excinfo.value.outcome_unknown is True
    assert isinstance(excinfo.value.__cause__, requests.ReadTimeout)
    assert client.calls_made == 1


def test_create_that_never_connected_is_not_retried_but_known_unsent(
    rsps: responses.RequestsMock,
) -> None:
    rsps.post(f"{API}lead.api/add", body=requests.ConnectTimeout("no route"))
    client, _ = td.make_client()
    with pytest.raises(XpmTransientError, match="not sent") as excinfo:
        client.add_lead(NewLead("Enquiry", "c1", "s1"))
    assert excinfo.value.outcome_unknown is False
    assert client.calls_made == 1


# --------------------------------------------------------------------------- bodies


def test_add_client_posts_escaped_utf8_xml(rsps: responses.RequestsMock) -> None:
    rsps.post(f"{API}client.api/add", **_xml(ONE_CLIENT))
    client, _ = td.make_client()
    client.add_client(
        NewClient(
            "A & B <Ltd>",
            email="ab@example.com",
            website="https://ab.example",
            contacts=(NewContact("Zo\u00eb Ng", email="zoe@example.com"),),
        )
    )
    request = rsps.calls[0].request
    assert request.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert b"<Name>A &amp; B &lt;Ltd&gt;</Name>" in request.body
    assert b"<WebSite>https://ab.example</WebSite>" in request.body
    assert b"<IsProspect>Yes</IsProspect>" in request.body
    assert "Zo\u00eb".encode() in request.body


def test_add_lead_validation_error(rsps: responses.RequestsMock) -> None:
    rsps.post(
        f"{API}lead.api/add",
        **_xml(
            td.error_envelope(
                "Message not in expected format. The following required "
                "element was missing - /Lead/ClientUUID"
            )
        ),
    )
    client, _ = td.make_client()
    with pytest.raises(XpmApiError, match="/Lead/ClientUUID"):
        client.add_lead(NewLead("Website enquiry", "c1", "s1"))
    assert client.calls_made == 1


def test_add_lead_body_and_answer(rsps: responses.RequestsMock) -> None:
    rsps.post(
        f"{API}lead.api/add",
        match=[matchers.header_matcher({"Content-Type": "text/xml; charset=utf-8"})],
        **_xml(
            td.envelope(
                "<Lead><UUID>l1</UUID><Name>x</Name><State>Current</State>"
                "<Owner><UUID>s1</UUID><Name>Jo</Name></Owner></Lead>",
                method="Add",
            )
        ),
    )
    client, _ = td.make_client()
    lead = client.add_lead(
        NewLead(
            "A & B <Ltd> enquiry",
            "c1",
            "s1",
            contact_uuid="p1",
            category_uuid="k1",
            estimated_value=Decimal("1500.00"),
        )
    )
    assert lead.uuid == "l1"
    assert lead.owner is not None and lead.owner.name == "Jo"
    body = rsps.calls[0].request.body
    assert b"<Name>A &amp; B &lt;Ltd&gt; enquiry</Name>" in body
    assert (
        b"<ClientUUID>c1</ClientUUID><ContactUUID>p1</ContactUUID><OwnerUUID>s1</OwnerUUID>" in body
    )
    assert b"<EstimatedValue>1500.00</EstimatedValue>" in body


def test_add_contact_body(rsps: responses.RequestsMock) -> None:
    rsps.post(
        f"{API}client.api/contact",
        **_xml(td.envelope("<Contact><UUID>p9</UUID><Name>Jo</Name></Contact>", method="Contact")),
    )
    client, _ = td.make_client()
    contact = client.add_contact("c1", NewContact("Jo", email="jo@example.com"))
    assert contact.uuid == "p9"
    assert b"<Client><UUID>c1</UUID></Client><Name>Jo</Name>" in rsps.calls[0].request.body


def test_malformed_and_hostile_bodies(rsps: responses.RequestsMock) -> None:
    rsps.get(GET_URL, **_xml(b"<Response><Status>OK</Status><Client>"))
    rsps.get(
        GET_URL,
        **_xml(
            b'<!DOCTYPE r [<!ENTITY a "aaaa">]><Response><Status>OK</Status>'
            b"<Client><UUID>&a;</UUID></Client></Response>"
        ),
    )
    client, _ = td.make_client()
    with pytest.raises(XpmResponseError, match="malformed"):
        client.get_client(CLIENT_UUID)
    with pytest.raises(XpmResponseError, match="hostile"):
        client.get_client(CLIENT_UUID)
    assert client.calls_made == 2  # never retried


def test_oversized_bodies_are_refused(rsps: responses.RequestsMock) -> None:
    big = td.envelope("<Clients>" + "<Client><UUID>u</UUID></Client>" * 200 + "</Clients>")
    rsps.get(f"{API}client.api/search", **_xml(big))
    rsps.get(f"{API}client.api/search", **_xml(big, **{"Content-Length": str(len(big))}))
    client, _ = td.make_client(max_body_bytes=1024)
    with pytest.raises(XpmResponseError, match="limit"):
        client.search_clients("x")
    with pytest.raises(XpmResponseError, match="limit"):
        client.search_clients("x")


# --------------------------------------------------------------------------- list, search, paging


def test_list_clients_params(rsps: responses.RequestsMock) -> None:
    body = td.client_list_bytes(3, detailed=True)
    rsps.get(LIST_URL, **_xml(body))
    rsps.get(LIST_URL, **_xml(td.envelope("<Clients />", method="List")))
    client, _ = td.make_client()
    nz = timezone(timedelta(hours=13))

    records = list(
        client.list_clients(detailed=True, modified_since=datetime(2024, 1, 2, 3, 4, 5, tzinfo=nz))
    )
    assert [r.uuid for r in records] == [td.client_uuid(i) for i in range(3)]
    query = parse_qs(urlsplit(rsps.calls[0].request.url).query)
    assert query == {"detailed": ["true"], "modifiedsince": ["2024-01-01T14:04:05"]}

    assert list(client.list_clients()) == []
    assert urlsplit(rsps.calls[1].request.url).query == ""
    with pytest.raises(ValueError):
        list(client.list_clients(modified_since=datetime(2024, 1, 1)))


def test_list_clients_status_error_raises_before_yielding(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(
        LIST_URL,
        **_xml(
            b"<Response><Status>ERROR</Status><ErrorDescription>Nope</ErrorDescription></Response>"
        ),
    )
    client, _ = td.make_client()
    with pytest.raises(XpmApiError, match="Nope"):
        next(client.list_clients())


def test_list_clients_stream_cap(rsps: responses.RequestsMock) -> None:
    rsps.get(LIST_URL, **_xml(td.client_list_bytes(20)))
    client, _ = td.make_client(max_stream_bytes=20_000)
    seen = []
    with pytest.raises(XpmResponseError, match="limit"):
        for record in client.list_clients(detailed=True):
            seen.append(record)
    assert 0 < len(seen) < 20


def test_list_clients_holds_one_slot_until_consumed_or_closed(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(LIST_URL, **_xml(td.client_list_bytes(5)))
    rsps.get(LIST_URL, **_xml(td.client_list_bytes(5)))
    limiter = InMemoryRateLimiter()
    client, _ = td.make_client(limiter=limiter)

    iterator = client.list_clients()
    next(iterator)
    assert limiter.in_flight(td.TENANT_ID) == 1
    iterator.close()  # the caller stopped early
    assert limiter.in_flight(td.TENANT_ID) == 0

    assert len(list(client.list_clients())) == 5
    assert limiter.in_flight(td.TENANT_ID) == 0


def test_slots_are_released_after_errors(rsps: responses.RequestsMock) -> None:
    rsps.get(GET_URL, **_xml(td.error_envelope("Invalid client identifier")))
    rsps.get(GET_URL, body=requests.ConnectionError("reset"))
    rsps.get(GET_URL, **_gateway(403, "AuthenticationUnsuccessful", "Forbidden"))
    limiter = InMemoryRateLimiter()
    client, _ = td.make_client(limiter=limiter, max_attempts=1)
    for error in (XpmApiError, XpmTransientError, XpmTenantError):
        with pytest.raises(error):
            client.get_client(CLIENT_UUID)
        assert limiter.in_flight(td.TENANT_ID) == 0
    # Headers of error responses are observed too (the 200 ERROR carried them).
    assert limiter.day_remaining(td.TENANT_ID) == 4994


def test_search_clients(rsps: responses.RequestsMock) -> None:
    rsps.get(
        f"{API}client.api/search",
        match=[matchers.query_param_matcher({"query": "Zo\u00eb & Co", "detailed": "true"})],
        **_xml(td.client_list_bytes(1)),
    )
    client, _ = td.make_client()
    (record,) = client.search_clients("Zo\u00eb & Co", detailed=True)
    assert record.name == "Zo\u00eb Ng & Co #0"


def _page(items: str, next_url: str | None, container: str = "Clients") -> bytes:
    links = f"<Next>{next_url.replace('&', '&amp;')}</Next>" if next_url else ""
    return td.envelope(
        f"<{container}>{items}</{container}><Pagination><Links>"
        f"<First>x</First>{links}</Links></Pagination>"
    )


def test_paged_clients_follow_the_token_on_our_own_host(rsps: responses.RequestsMock) -> None:
    url = f"{API}client.api/paged-list"
    rsps.get(
        url,
        match=[matchers.query_param_matcher({"pageSize": "2"})],
        **_xml(
            _page(
                "<Client><UUID>a</UUID></Client><Client><UUID>b</UUID></Client>",
                "https://evil.example/client.api/paged-list?pageToken=T1&pageSize=2",
            )
        ),
    )
    rsps.get(
        url,
        match=[matchers.query_param_matcher({"pageSize": "2", "pageToken": "T1"})],
        **_xml(_page("<Client><UUID>c</UUID></Client>", None)),
    )
    client, _ = td.make_client()
    assert [r.uuid for r in client.paged_clients(page_size=2)] == ["a", "b", "c"]
    assert all(c.request.url.startswith(API) for c in rsps.calls)
    with pytest.raises(ValueError):
        list(client.paged_clients(page_size=501))


def test_paging_stops_on_a_repeated_token(rsps: responses.RequestsMock) -> None:
    url = f"{API}client.api/contacts"
    page = _page(
        "<Contact><UUID>p</UUID></Contact>",
        f"{API}client.api/contacts?pageSize=1&pageToken=SAME",
        "Contacts",
    )
    rsps.get(url, **_xml(page))
    rsps.get(url, **_xml(page))
    client, _ = td.make_client()
    with pytest.raises(XpmResponseError, match="repeated"):
        list(client.list_contacts(page_size=1))
    assert client.calls_made == 2


def test_list_contacts_and_get_contact(rsps: responses.RequestsMock) -> None:
    rsps.get(
        f"{API}client.api/contacts",
        **_xml(_page("<Contact><UUID>p1</UUID><Name>Jo</Name></Contact>", None, "Contacts")),
    )
    rsps.get(
        f"{API}client.api/contact/p1",
        match=[matchers.query_param_matcher({"clientUuid": "c1"})],
        **_xml(
            td.envelope(
                "<Contact><UUID>p1</UUID><Name>Jo</Name>"
                "<IsPrimary>Yes</IsPrimary><Position>CEO</Position></Contact>"
            )
        ),
    )
    client, _ = td.make_client()
    assert [c.name for c in client.list_contacts()] == ["Jo"]
    contact = client.get_contact("p1", client_uuid="c1")
    assert contact.is_primary is True
    assert contact.position == "CEO"


# --------------------------------------------------------------------------- other endpoints


def test_other_endpoints_hit_the_documented_paths(rsps: responses.RequestsMock) -> None:
    rsps.get(
        f"{API}customfield.api/definition",
        **_xml(
            td.envelope(
                "<CustomFieldDefinitions><CustomFieldDefinition><UUID>d</UUID>"
                "<Name>Industry</Name><Type>Text</Type></CustomFieldDefinition>"
                "</CustomFieldDefinitions>"
            )
        ),
    )
    rsps.get(
        f"{API}client.api/get/c1/customfield",
        **_xml(
            td.envelope(
                "<CustomFields><CustomField><UUID>d</UUID><Name>Industry</Name>"
                "<Text>Farming</Text></CustomField></CustomFields>"
            )
        ),
    )
    rsps.get(
        f"{API}staff.api/list",
        **_xml(td.envelope("<StaffList><Staff><UUID>s1</UUID><Name>Jo</Name></Staff></StaffList>")),
    )
    rsps.get(
        f"{API}staff.api/get/s1",
        **_xml(td.envelope("<Staff><UUID>s1</UUID><Name>Jo</Name></Staff>")),
    )
    rsps.get(
        f"{API}clientgroup.api/list",
        **_xml(td.envelope("<Groups><Group><UUID>g1</UUID><Name>G</Name></Group></Groups>")),
    )
    rsps.get(
        f"{API}clientgroup.api/get/g1",
        **_xml(
            td.envelope(
                "<Group><UUID>g1</UUID><Name>G</Name><Clients><Client>"
                "<UUID>c1</UUID><Name>C</Name></Client></Clients></Group>"
            )
        ),
    )
    rsps.get(
        f"{API}lead.api/categories",
        **_xml(
            td.envelope(
                "<Categories><Category><UUID>k</UUID><Name>Hot</Name></Category></Categories>"
            )
        ),
    )
    rsps.get(
        f"{API}lead.api/get/l1", **_xml(td.envelope("<Lead><UUID>l1</UUID><Name>L</Name></Lead>"))
    )
    rsps.get(
        f"{API}lead.api/current",
        **_xml(td.envelope("<Leads><Lead><UUID>l1</UUID><Name>L</Name></Lead></Leads>")),
    )
    client, _ = td.make_client()

    assert client.custom_field_definitions()[0].value_element == "Text"
    assert client.client_custom_fields("c1")[0].value == "Farming"
    assert [s.name for s in client.list_staff()] == ["Jo"]
    assert client.get_staff("s1").uuid == "s1"
    assert [g.uuid for g in client.list_client_groups()] == ["g1"]
    assert client.get_client_group("g1").clients[0].name == "C"
    assert client.lead_categories()[0].name == "Hot"
    assert client.get_lead("l1").name == "L"
    assert [lead.uuid for lead in client.current_leads()] == ["l1"]
    assert client.calls_made == 9


def test_client_calls_never_log_tokens_or_search_terms(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rsps.get(f"{API}client.api/search", **_gateway(503, "ServiceNotAvailable", "Unavailable"))
    rsps.get(f"{API}client.api/search", **_gateway(401, "TokenExpired: token expired"))
    rsps.post(td.TOKEN_URL, json=TOKEN_JSON)
    rsps.get(f"{API}client.api/search", **_xml(td.client_list_bytes(1)))
    client, _ = td.make_client(
        token=TokenSet(
            "secret-access", "secret-refresh", datetime.now(UTC) + timedelta(hours=1), ()
        )
    )
    client.search_clients("Zo\u00eb Private-Person")
    for secret in (
        "secret-access",
        "secret-refresh",
        "refreshed-access",
        "refreshed-refresh",
        "Private-Person",
        "client-secret",
    ):
        assert secret not in caplog.text
    assert "client.api/search" in caplog.text  # it did log something useful


# --------------------------------------------------------------------------- construction, extras


def test_arguments_are_checked_before_any_request(rsps: responses.RequestsMock) -> None:
    client, _ = td.make_client()
    with pytest.raises(ValueError):
        client.list_clients(modified_since=datetime(2024, 1, 1))  # no iteration needed
    with pytest.raises(ValueError):
        client.paged_clients(page_size=0)
    with pytest.raises(ValueError):
        client.list_contacts(page_size=501)
    assert client.calls_made == 0
    with pytest.raises(XpmConfigurationError):
        XpmClient(api_url=td.API_URL, tenant_id="", token_store=_store(), oauth=td.make_oauth())
    with pytest.raises(XpmConfigurationError):
        XpmClient(
            api_url="api.xero.com", tenant_id="t", token_store=_store(), oauth=td.make_oauth()
        )


def _store() -> InMemoryTokenStore:
    return InMemoryTokenStore(td.fresh_token())


def test_client_list_uses_the_longer_list_timeout(rsps: responses.RequestsMock) -> None:
    rsps.get(LIST_URL, **_xml(td.envelope("<Clients />", method="List")))
    rsps.get(f"{API}staff.api/list", **_xml(td.envelope("<StaffList />")))
    client, _ = td.make_client(timeout=(3, 20), list_timeout=(3, 600))
    list(client.list_clients(detailed=True))
    client.list_staff()
    assert rsps.calls[0].request.req_kwargs["timeout"] == (3, 600)
    assert rsps.calls[1].request.req_kwargs["timeout"] == (3, 20)


def test_list_leads_by_creation_day(rsps: responses.RequestsMock) -> None:
    rsps.get(
        f"{API}lead.api/list",
        match=[matchers.query_param_matcher({"from": "20240105", "to": "20240131"})],
        **_xml(td.envelope("<Leads><Lead><UUID>l1</UUID></Lead></Leads>")),
    )
    client, _ = td.make_client()
    assert [lead.uuid for lead in client.list_leads(date(2024, 1, 5), date(2024, 1, 31))] == ["l1"]


def test_401_with_expired_challenge_but_no_detail_refreshes(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(
        GET_URL,
        status=401,
        body=b"",
        headers={
            "WWW-Authenticate": 'Bearer error="invalid_token", '
            'error_description="The token is expired"'
        },
    )
    rsps.post(td.TOKEN_URL, json=TOKEN_JSON)
    rsps.get(GET_URL, **_xml(ONE_CLIENT))
    client, _ = td.make_client()
    assert client.get_client(CLIENT_UUID).uuid == CLIENT_UUID


def test_create_refused_at_connect_is_known_unsent() -> None:
    # A real closed port on loopback: the connection is refused before anything is sent.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client, _ = td.make_client()
    client.api_url = f"http://127.0.0.1:{port}/practicemanager/3.1/"
    with pytest.raises(XpmTransientError, match="not sent") as excinfo:
        client.add_client(NewClient("Acme"))
    assert excinfo.value.outcome_unknown is False
    assert client.calls_made == 1
