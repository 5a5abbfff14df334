"""The XPM client measures every response as received: bytes are money under Xero's 2026
pricing. Over real HTTP against the sandbox, and with `responses` for compression and
refusals (where the bytes on the wire differ from the bytes parsed)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest
import requests
import responses
import xpm_testdata as td

from wagtail_xpm.sandbox import Sandbox
from wagtail_xpm.xpm import (
    CallUsage,
    InMemoryRateLimiter,
    InMemoryTokenStore,
    OAuthConfig,
    TokenSet,
    XeroOAuth,
    XpmClient,
)
from wagtail_xpm.xpm.errors import XpmResponseError

SCOPES = ("offline_access", "practicemanager", "practicemanager.client")


def wire_size(response: requests.Response) -> int:
    """What the client should count: status line, headers, and the body as sent."""
    head = len(f"HTTP/1.1 {response.status_code} {response.reason}\r\n") + 2
    head += sum(len(k) + len(v) + 4 for k, v in response.headers.items())
    return head + len(response.content)


@pytest.fixture
def live() -> Iterator[tuple[Sandbox, str, XpmClient, dict[str, str]]]:
    sandbox = Sandbox.generate(clients=30, seed=3)
    with sandbox.serve() as server:
        oauth = XeroOAuth(
            OAuthConfig(
                client_id=sandbox.client_id,
                client_secret=sandbox.client_secret,
                authorize_url=f"{server.url}/identity/connect/authorize",
                token_url=f"{server.url}/connect/token",
                revoke_url=f"{server.url}/connect/revocation",
                connections_url=f"{server.url}/connections",
                scopes=SCOPES,
            )
        )
        tokens = sandbox.issue_tokens(SCOPES)
        client = XpmClient(
            api_url=f"{server.url}/practicemanager/3.1/",
            tenant_id=sandbox.tenant_id,
            token_store=InMemoryTokenStore(TokenSet.from_token_response(tokens)),
            oauth=oauth,
            limiter=InMemoryRateLimiter(),
            sleep=td.SleepRecorder(),
        )
        with client:
            yield sandbox, server.url, client, sandbox.auth_headers(tokens)


def test_every_kind_of_call_is_counted_with_its_bytes_over_http(live) -> None:
    sandbox, url, client, headers = live
    api = f"{url}/practicemanager/3.1/"
    headers = {**headers, "Accept-Encoding": "identity"}

    records = list(client.list_clients(detailed=True))
    uuid = records[0].uuid
    client.client_custom_fields(uuid)
    client.client_custom_fields(records[1].uuid)
    paged = list(client.paged_clients(page_size=20))
    assert len(paged) > 20  # two pages

    usage = client.usage()
    assert usage["client.api/list"].calls == 1
    assert usage["client.api/get/{uuid}/customfield"].calls == 2
    assert usage["client.api/paged-list"].calls == 2
    # The same requests made by hand: the client counted exactly what came over the wire.
    whole_list = requests.get(api + "client.api/list?detailed=true", headers=headers, timeout=30)
    assert usage["client.api/list"].bytes == wire_size(whole_list)
    one = requests.get(api + f"client.api/get/{uuid}/customfield", headers=headers, timeout=30)
    two = requests.get(
        api + f"client.api/get/{records[1].uuid}/customfield", headers=headers, timeout=30
    )
    assert usage["client.api/get/{uuid}/customfield"].bytes == wire_size(one) + wire_size(two)
    assert client.bytes_received == sum(u.bytes for u in usage.values())
    assert client.calls_made == sum(u.calls for u in usage.values()) == 5


def test_a_list_abandoned_half_way_counts_what_was_read(live) -> None:
    _, _, client, _ = live
    records = client.list_clients(detailed=True)
    next(records)
    assert client.bytes_received == 0  # still streaming: counted when the response closes
    records.close()
    partial = client.bytes_received
    assert partial > 0
    list(client.list_clients(detailed=True))
    assert client.bytes_received - partial >= partial


# --------------------------------------------------------------------------- responses


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


GET_URL = td.API_URL + f"client.api/get/{td.client_uuid(1)}"


def test_a_compressed_answer_counts_the_compressed_bytes(rsps) -> None:
    body = td.envelope(td.client_xml(1))  # one client, ~2 kB of XML
    packed = gzip.compress(body)
    rsps.get(
        GET_URL,
        body=packed,
        content_type="text/xml; charset=utf-8",
        headers={"Content-Encoding": "gzip"},
    )
    client, _ = td.make_client()
    assert client.get_client(td.client_uuid(1)).uuid == td.client_uuid(1)
    received = client.usage()["client.api/get/{uuid}"]
    assert received.calls == 1
    # As received: the compressed body (plus the head), not the XML it decompressed to.
    assert len(packed) < received.bytes < len(packed) + 512 < len(body)


def test_refused_and_retried_calls_cost_calls_and_bytes(rsps) -> None:
    rsps.get(GET_URL, status=429, headers={"Retry-After": "1", "X-Rate-Limit-Problem": "minute"})
    rsps.get(GET_URL, body=td.envelope(td.client_xml(1)), content_type="text/xml")
    client, _ = td.make_client()
    client.get_client(td.client_uuid(1))
    usage = client.usage()["client.api/get/{uuid}"]
    assert usage.calls == 2
    assert usage.bytes > len(td.envelope(td.client_xml(1)))


def test_an_oversized_answer_is_refused_and_its_bytes_still_counted(rsps) -> None:
    body = td.envelope("<Client>" + "x" * 5000 + "</Client>")
    rsps.get(GET_URL, body=body, content_type="text/xml")
    client, _ = td.make_client(max_body_bytes=1000)
    with pytest.raises(XpmResponseError):
        client.get_client(td.client_uuid(1))
    # The read stopped past the cap: what was received is counted, not the whole body.
    counted = client.usage()["client.api/get/{uuid}"]
    assert counted.calls == 1 and 1000 < counted.bytes < len(body) + 512


def test_call_usage_adds_up() -> None:
    assert CallUsage(2, 300) + CallUsage(1, 50) == CallUsage(3, 350)
    assert CallUsage(3, 350) - CallUsage(1, 50) == CallUsage(2, 300)
