"""Big lists are generated lazily and sent as a chunked stream."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests
from sandbox_helpers import API

from wagtail_xpm.sandbox import Sandbox


@pytest.fixture(scope="module")
def big() -> Sandbox:
    return Sandbox.generate(clients=10_000, seed=5, rate_limits=False)


def test_list_body_is_a_lazy_generator_of_chunks(big):
    tokens = big.issue_tokens()
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": f"{API}client.api/list",
        "QUERY_STRING": "detailed=true",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": None,
        "HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}",
        "HTTP_XERO_TENANT_ID": big.tenant_id,
    }
    started: list = []
    body = big.wsgi_app(
        environ, lambda status, headers, exc_info=None: started.append((status, dict(headers)))
    )
    status, headers = started[0]
    assert status.startswith("200")
    assert "Content-Length" not in headers  # streamed, not measured up front
    chunks = iter(body)
    first = next(chunks)
    assert first.startswith(b'<Response api-method="List"><Status>OK</Status><Clients>')
    assert len(first) < 200_000  # one chunk, not the whole 10,000-client document
    rest = list(chunks)
    assert len(rest) > 50
    assert rest[-1].endswith(b"</Clients></Response>")
    document = first + b"".join(rest)
    assert document.count(b"<Client><UUID>") == 10_000


def test_ten_thousand_clients_over_http_chunked(big):
    tokens = big.issue_tokens()
    with big.serve() as server:
        response = requests.get(
            f"{server.url}{API}client.api/list",
            headers=big.auth_headers(tokens),
            stream=True,
            timeout=60,
        )
        assert response.status_code == 200
        assert response.headers.get("Transfer-Encoding") == "chunked"
        assert "Content-Length" not in response.headers
        response.raw.decode_content = True
        count = 0
        for _, element in ET.iterparse(response.raw, events=("end",)):
            if element.tag == "Client" and element.find("UUID") is not None:
                count += 1
                element.clear()
    assert count == 10_000
