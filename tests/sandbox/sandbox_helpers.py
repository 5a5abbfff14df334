"""Fixtures and a tiny HTTP helper for the sandbox tests (plain ``requests``, no XPM client)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from wagtail_xpm.sandbox import Sandbox

API = "/practicemanager/3.1/"
REDIRECT_URI = "http://127.0.0.1:9999/xpm/callback"


@dataclass
class Api:
    """Calls the served sandbox's API with a token set."""

    sb: Sandbox
    url: str
    tokens: dict[str, Any]
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def headers(self) -> dict[str, str]:
        return self.sb.auth_headers(self.tokens)

    def call(self, method: str, path: str, body: str | bytes | None = None, **kw: Any):
        headers = {**self.headers, **kw.pop("headers", {})}
        if body is not None:
            headers.setdefault("Content-Type", "text/xml")
            if isinstance(body, str):
                body = body.encode("utf-8")
        return self.session.request(
            method, f"{self.url}{API}{path}", data=body, headers=headers, timeout=30, **kw
        )

    def xml(self, method: str, path: str, body: str | bytes | None = None, **kw: Any):
        response = self.call(method, path, body, **kw)
        assert response.status_code == 200, (response.status_code, response.text[:500])
        assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
        return ET.fromstring(response.content)

    def ok(self, method: str, path: str, body: str | bytes | None = None, **kw: Any):
        root = self.xml(method, path, body, **kw)
        assert root.findtext("Status") == "OK", ET.tostring(root, encoding="unicode")[:500]
        return root

    def error(self, method: str, path: str, body: str | bytes | None = None, **kw: Any) -> str:
        root = self.xml(method, path, body, **kw)
        assert root.findtext("Status") == "ERROR", ET.tostring(root, encoding="unicode")[:500]
        return root.findtext("ErrorDescription") or ""


# Fixtures are imported by the test modules (no conftest, so the tests also run with
# ``-p no:django --noconftest``); ``name=`` keeps parameters from shadowing the imports.
@pytest.fixture(name="sb")
def sb_fixture() -> Sandbox:
    return Sandbox.generate(clients=25, seed=1, rate_limits=False)


@pytest.fixture(name="server")
def server_fixture(sb: Sandbox):
    with sb.serve() as handle:
        yield handle


@pytest.fixture(name="api")
def api_fixture(sb: Sandbox, server) -> Api:
    return Api(sb, server.url, sb.issue_tokens())


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return verifier, challenge


def query_of(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def live_clients(sb: Sandbox):
    return [c for c in sb.state.clients.values() if not c.is_archived and not c.is_deleted]


def shared_contact(sb: Sandbox):
    """A contact linked to at least two live clients, with those clients."""
    for contact in sb.state.contacts.values():
        clients = [c for c in sb.state.clients_of_contact(contact.uuid) if not c.is_deleted]
        if len(clients) >= 2:
            return contact, clients
    raise AssertionError("the generated practice has no shared contact")
