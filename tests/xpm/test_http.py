"""The one HTTP owner (wagtail_xpm/xpm/http.py): caps, byte counts, network errors, 429 (daily
or not) and 5xx, the same for the XPM API client and the OAuth code, each in its own words."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import requests
import responses
import urllib3
import xpm_testdata as td

from wagtail_xpm.xpm.errors import (
    XpmDailyLimitReached,
    XpmRateLimited,
    XpmResponseError,
    XpmTransientError,
)
from wagtail_xpm.xpm.http import (
    USER_AGENT,
    XERO_IDENTITY,
    XPM_API,
    CappedReader,
    HttpSession,
    received_bytes,
)

API = td.API_URL
GET_URL = f"{API}staff.api/list"
STAFF = td.envelope("<StaffList></StaffList>")


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def _client():  # type: ignore[no-untyped-def]
    client, _store = td.make_client(max_attempts=1)
    return client


def _send(http: HttpSession, url: str = GET_URL, **kwargs: object) -> requests.Response:
    return http.send("GET", url, label="staff.api/list", headers={}, **kwargs)  # type: ignore[arg-type]


class _BrokenRaw:
    """A response body whose connection drops on the first read."""

    def read(self, *args: object, **kwargs: object) -> bytes:
        raise urllib3.exceptions.ProtocolError("Connection broken")

    def tell(self) -> int:
        return 0


def _broken_response(status: int = 200) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.raw = _BrokenRaw()
    return response


# --------------------------------------------------------------------------- sending


def test_every_request_has_our_user_agent_and_a_timeout(rsps: responses.RequestsMock) -> None:
    rsps.get(GET_URL, body=STAFF)
    http = HttpSession(XPM_API, timeout=(3, 7))
    with _send(http) as response:
        assert response.status_code == 200
    assert rsps.calls[0].request.headers["User-Agent"] == USER_AGENT
    assert rsps.calls[0].request.req_kwargs["timeout"] == (3, 7)
    assert rsps.calls[0].request.req_kwargs["stream"] is True


def test_the_oauth_code_sends_through_the_same_owner(rsps: responses.RequestsMock) -> None:
    rsps.post(td.TOKEN_URL, json={"access_token": "a", "refresh_token": "r", "expires_in": 60})
    oauth = td.make_oauth()
    assert isinstance(oauth.http, HttpSession) and oauth.http.voice is XERO_IDENTITY
    assert _client().http.voice is XPM_API
    oauth.refresh(td.fresh_token())
    assert rsps.calls[0].request.headers["User-Agent"] == USER_AGENT


def test_a_given_session_is_used_as_it_is_and_not_closed() -> None:
    session = requests.Session()
    session.proxies = {"https": "http://proxy.example:3128"}
    http = HttpSession(XPM_API, session=session)
    assert http._proxies_for(GET_URL) == session.proxies
    assert session.trust_env is True
    http.close()  # the caller's session stays usable
    assert session.adapters


# --------------------------------------------------------------------------- caps and counts


def test_a_body_over_its_cap_is_refused_before_or_while_reading(
    rsps: responses.RequestsMock,
) -> None:
    http = HttpSession(XPM_API)
    rsps.get(GET_URL, body=b"x" * 100, headers={"Content-Length": "100"})
    with pytest.raises(XpmResponseError, match="100 bytes exceeds the 10 limit"):
        http.read(_send(http), 10)
    rsps.get(GET_URL, body=b"x" * 150)  # no Content-Length: counted as it is read
    with pytest.raises(XpmResponseError, match="exceeds the 120 byte limit"):
        http.read(_send(http), 120)
    rsps.get(GET_URL, body=b"y" * 120)
    assert http.read(_send(http), 120) == b"y" * 120


def test_identity_answers_are_capped_at_one_megabyte(rsps: responses.RequestsMock) -> None:
    rsps.post(td.TOKEN_URL, body=b"{" + b" " * (1024 * 1024) + b"}")
    with pytest.raises(XpmResponseError, match="Xero identity response is too large"):
        td.make_oauth().refresh(td.fresh_token())


def test_the_stream_reader_counts_and_caps() -> None:
    reader = CappedReader(io.BytesIO(b"z" * 30).read, 25)
    assert reader.read(20) == b"z" * 20 and reader.bytes_read == 20
    with pytest.raises(XpmResponseError, match="exceeds the 25 byte limit"):
        reader.read(20)


def test_received_bytes_are_the_status_line_headers_and_body_as_received(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(GET_URL, body=b"0123456789", headers={"X-Test": "1"})
    http = HttpSession(XPM_API)
    response = _send(http)
    http.read(response, 100)
    head = len(f"HTTP/1.1 200 {response.reason or ''}\r\n") + 2
    head += sum(len(name) + len(value) + 4 for name, value in response.headers.items())
    assert received_bytes(response) == head + 10


def test_the_api_client_counts_what_the_owner_read(rsps: responses.RequestsMock) -> None:
    rsps.get(GET_URL, body=STAFF)
    client = _client()
    client.list_staff()
    assert client.bytes_received > len(STAFF)
    assert client.usage()["staff.api/list"].calls == 1


# --------------------------------------------------------------------------- network errors


def test_network_errors_are_transient_in_each_sides_words(rsps: responses.RequestsMock) -> None:
    rsps.get(GET_URL, body=requests.ConnectionError("refused"))
    with pytest.raises(XpmTransientError, match=r"^staff.api/list failed: ConnectionError$"):
        _client().list_staff()
    rsps.get(GET_URL, body=requests.ReadTimeout("slow"))
    with pytest.raises(XpmTransientError, match=r"^staff.api/list failed: ReadTimeout$"):
        _client().list_staff()
    rsps.post(td.TOKEN_URL, body=requests.ReadTimeout("slow"))
    with pytest.raises(XpmTransientError, match=r"^Xero token refresh timed out$"):
        td.make_oauth().refresh(td.fresh_token())
    rsps.post(td.TOKEN_URL, body=requests.ConnectionError("refused"))
    with pytest.raises(XpmTransientError, match=r"^Xero token refresh failed: ConnectionError$"):
        td.make_oauth().refresh(td.fresh_token())


def test_a_create_says_whether_xpm_may_have_acted(rsps: responses.RequestsMock) -> None:
    url = f"{API}lead.api/add"
    http = HttpSession(XPM_API)
    rsps.post(url, body=requests.ReadTimeout("slow"))
    with pytest.raises(XpmTransientError, match="outcome is unknown") as sent:
        http.send("POST", url, label="lead.api/add", headers={}, create=True)
    assert sent.value.outcome_unknown
    rsps.post(url, body=requests.ConnectTimeout("no route"))
    with pytest.raises(XpmTransientError, match="the request was not sent") as unsent:
        http.send("POST", url, label="lead.api/add", headers={}, create=True)
    assert not unsent.value.outcome_unknown


def test_a_connection_lost_while_reading_is_transient() -> None:
    http = HttpSession(XPM_API)
    with pytest.raises(XpmTransientError, match="connection lost while reading an XPM response"):
        http.read(_broken_response(), 100)
    with pytest.raises(XpmTransientError, match="outcome is unknown") as create:
        http.read(_broken_response(), 100, label="client.api/add", create=True)
    assert create.value.outcome_unknown and create.value.status == 200
    identity = HttpSession(XERO_IDENTITY)
    with pytest.raises(XpmTransientError, match="reading a Xero identity response failed"):
        identity.read(_broken_response(), 100)
    assert identity.error_body(_broken_response(500)) == b""


def test_a_connection_lost_while_streaming_is_transient_and_parse_errors_pass() -> None:
    lost = pytest.raises(XpmTransientError, match="streaming client.api/list: ProtocolError")
    with lost, HttpSession.streaming("client.api/list"):
        raise urllib3.exceptions.ProtocolError("Connection broken")
    with pytest.raises(XpmResponseError), HttpSession.streaming("client.api/list"):
        raise XpmResponseError("malformed XML from XPM")


# --------------------------------------------------------------------------- 429


def test_a_minute_429_is_a_rate_limit_for_the_client(rsps: responses.RequestsMock) -> None:
    headers = {"Retry-After": "22", "X-Rate-Limit-Problem": "minute"}
    rsps.get(GET_URL, status=429, headers=headers)
    with pytest.raises(XpmRateLimited) as excinfo:
        _client().list_staff()
    error = excinfo.value
    assert not isinstance(error, XpmDailyLimitReached)
    assert (error.problem, error.retry_after, str(error)) == (
        "minute",
        22.0,
        "XPM rate limit hit (minute)",
    )


def test_a_daily_429_stops_the_client(rsps: responses.RequestsMock) -> None:
    rsps.get(GET_URL, status=429, headers={"Retry-After": "3600", "X-Rate-Limit-Problem": "day"})
    with pytest.raises(XpmDailyLimitReached, match="try again tomorrow") as excinfo:
        _client().list_staff()
    assert excinfo.value.retry_after == 3600.0


@pytest.mark.parametrize(
    ("problem", "expected", "daily"),
    [("Minute ", "minute", False), ("day", "day", True), (None, None, False)],
)
def test_429_from_the_token_endpoint_reads_the_same_headers(
    rsps: responses.RequestsMock, problem: str | None, expected: str | None, daily: bool
) -> None:
    headers = {"Retry-After": "7", "xero-correlation-id": "corr-1"}
    if problem is not None:
        headers["X-Rate-Limit-Problem"] = problem
    rsps.post(td.TOKEN_URL, status=429, headers=headers)
    with pytest.raises(XpmRateLimited, match=r"^Xero token refresh was rate limited$") as excinfo:
        td.make_oauth().refresh(td.fresh_token())
    error = excinfo.value
    assert isinstance(error, XpmDailyLimitReached) is daily
    assert (error.problem, error.retry_after, error.correlation_id) == (expected, 7.0, "corr-1")


# --------------------------------------------------------------------------- 5xx


def test_a_server_error_is_transient_with_xpms_detail(rsps: responses.RequestsMock) -> None:
    rsps.get(GET_URL, status=503, json={"Title": "Unavailable", "Detail": "ServiceNotAvailable"})
    with pytest.raises(XpmTransientError) as excinfo:
        _client().list_staff()
    assert str(excinfo.value) == "staff.api/list failed with HTTP 503: ServiceNotAvailable"
    assert excinfo.value.status == 503 and not excinfo.value.outcome_unknown


def test_a_server_error_after_a_create_is_an_unknown_outcome(
    rsps: responses.RequestsMock,
) -> None:
    rsps.post(f"{API}client.api/add", status=502)
    http = HttpSession(XPM_API)
    response = http.send("POST", f"{API}client.api/add", label="client.api/add", headers={})
    error = http.availability_error(response, label="client.api/add", create=True)
    assert isinstance(error, XpmTransientError) and error.outcome_unknown
    assert str(error).startswith("client.api/add failed with HTTP 502; the outcome is unknown")


@pytest.mark.parametrize("status", [408, 500, 503])
def test_server_errors_and_timeouts_from_the_token_endpoint_are_transient(
    rsps: responses.RequestsMock, status: int
) -> None:
    rsps.post(td.TOKEN_URL, status=status, json={"error": "temporarily_unavailable"})
    with pytest.raises(XpmTransientError) as excinfo:
        td.make_oauth().refresh(td.fresh_token())
    assert str(excinfo.value) == f"Xero token refresh failed with HTTP {status}"
    assert excinfo.value.status == status


@pytest.mark.parametrize("status", [200, 400, 401, 403, 404, 409])
def test_other_statuses_are_left_to_the_caller(rsps: responses.RequestsMock, status: int) -> None:
    rsps.get(GET_URL, status=status)
    http = HttpSession(XPM_API)
    assert http.availability_error(_send(http), label="staff.api/list") is None
