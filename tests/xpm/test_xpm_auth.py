"""OAuth: authorisation URL with PKCE, token endpoint calls, token store semantics."""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import xpm_testdata as td
from oauthlib.oauth2.rfc6749.clients.base import Client

from wagtail_xpm.xpm import (
    InMemoryTokenStore,
    Tenant,
    TokenSet,
    practice_manager_tenants,
)
from wagtail_xpm.xpm.auth import code_challenge
from wagtail_xpm.xpm.errors import (
    XpmAuthError,
    XpmConfigurationError,
    XpmInvalidGrant,
    XpmRateLimited,
    XpmReauthorizationRequired,
    XpmResponseError,
    XpmTransientError,
)

TOKEN_JSON = {
    "id_token": "id-token-value",
    "access_token": "new-access-token",
    "expires_in": 1800,
    "token_type": "Bearer",
    "refresh_token": "new-refresh-token",
    "scope": "openid offline_access practicemanager",
}


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def _basic(request: requests.PreparedRequest) -> tuple[str, str]:
    header = request.headers["Authorization"]
    assert header.startswith("Basic ")
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password


def _form(request: requests.PreparedRequest) -> dict[str, str]:
    body = request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return {k: v[0] for k, v in parse_qs(text).items()}


# --------------------------------------------------------------------------- authorisation URL


def test_pkce_challenge_is_base64url_sha256_of_verifier() -> None:
    oauth = td.make_oauth()
    request = oauth.authorization_request("https://site.example/xpm/callback/")
    digest = hashlib.sha256(request.code_verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    query = parse_qs(urlsplit(request.url).query)
    assert query["code_challenge"] == [expected]
    assert query["code_challenge_method"] == ["S256"]
    assert "=" not in expected
    assert 43 <= len(request.code_verifier) <= 128
    # Agrees with oauthlib's independent implementation.
    reference = Client("client-id").create_code_challenge(request.code_verifier, "S256")
    assert code_challenge(request.code_verifier) == reference == expected


def test_authorization_url_parameters() -> None:
    oauth = td.make_oauth()
    request = oauth.authorization_request("https://site.example/xpm/callback/")
    parts = urlsplit(request.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == td.AUTHORIZE_URL
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == "client-id"
    assert query["redirect_uri"] == "https://site.example/xpm/callback/"
    assert query["scope"] == "offline_access practicemanager"
    assert query["state"] == request.state
    assert "client-secret" not in request.url
    assert "client_secret" not in query
    # Fresh state and verifier each time.
    other = oauth.authorization_request("https://site.example/xpm/callback/")
    assert other.state != request.state
    assert other.code_verifier != request.code_verifier
    assert request.code_verifier not in repr(request)


# --------------------------------------------------------------------------- token endpoint


def test_exchange_code_uses_basic_auth_and_verifier(rsps: responses.RequestsMock) -> None:
    rsps.post(td.TOKEN_URL, json=TOKEN_JSON)
    token = td.make_oauth().exchange_code(
        code="the-code", redirect_uri="https://site.example/cb", code_verifier="v" * 50
    )
    request = rsps.calls[0].request
    assert _basic(request) == ("client-id", "client-secret")
    assert _form(request) == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "https://site.example/cb",
        "code_verifier": "v" * 50,
    }
    assert token.access_token == "new-access-token"
    assert token.refresh_token == "new-refresh-token"
    assert token.id_token == "id-token-value"
    assert "practicemanager" in token.scopes
    assert token.expires_at > datetime.now(UTC) + timedelta(minutes=29)


def test_refresh_posts_refresh_grant(rsps: responses.RequestsMock) -> None:
    rsps.post(td.TOKEN_URL, json=TOKEN_JSON)
    token = td.make_oauth().refresh(td.fresh_token(refresh="old-refresh"))
    assert _form(rsps.calls[0].request) == {
        "grant_type": "refresh_token",
        "refresh_token": "old-refresh",
    }
    assert token.refresh_token == "new-refresh-token"


def test_refresh_invalid_grant(rsps: responses.RequestsMock) -> None:
    rsps.post(td.TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(XpmInvalidGrant) as excinfo:
        td.make_oauth().refresh(td.fresh_token())
    assert excinfo.value.status == 400
    assert isinstance(excinfo.value, XpmAuthError)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_refresh_server_errors_are_transient(rsps: responses.RequestsMock, status: int) -> None:
    rsps.post(td.TOKEN_URL, status=status, body="<html>down</html>")
    with pytest.raises(XpmTransientError) as excinfo:
        td.make_oauth().refresh(td.fresh_token())
    assert excinfo.value.status == status


def test_refresh_timeout_and_connection_errors_are_transient(
    rsps: responses.RequestsMock,
) -> None:
    rsps.post(td.TOKEN_URL, body=requests.ReadTimeout("slow"))
    with pytest.raises(XpmTransientError, match="timed out"):
        td.make_oauth().refresh(td.fresh_token())
    rsps.post(td.TOKEN_URL, body=requests.ConnectionError("refused"))
    with pytest.raises(XpmTransientError):
        td.make_oauth().refresh(td.fresh_token())


def test_refresh_other_failures(rsps: responses.RequestsMock) -> None:
    rsps.post(td.TOKEN_URL, status=401, json={"error": "invalid_client"})
    with pytest.raises(XpmConfigurationError):
        td.make_oauth().refresh(td.fresh_token())
    rsps.post(td.TOKEN_URL, status=400, json={"error": "unsupported_grant_type"})
    with pytest.raises(XpmAuthError) as excinfo:
        td.make_oauth().refresh(td.fresh_token())
    assert not isinstance(excinfo.value, XpmInvalidGrant)
    rsps.post(td.TOKEN_URL, status=429, headers={"Retry-After": "7"})
    with pytest.raises(XpmRateLimited) as limited:
        td.make_oauth().refresh(td.fresh_token())
    assert limited.value.retry_after == 7.0
    rsps.post(td.TOKEN_URL, body=b"not json")
    with pytest.raises(XpmResponseError):
        td.make_oauth().refresh(td.fresh_token())


def test_token_calls_never_log_tokens(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    rsps.post(td.TOKEN_URL, json=TOKEN_JSON)
    rsps.post(td.TOKEN_URL, status=400, json={"error": "invalid_grant"})
    caplog.set_level(logging.DEBUG)
    oauth = td.make_oauth()
    old = td.fresh_token(access="old-access-secret", refresh="old-refresh-secret")
    oauth.refresh(old)
    with pytest.raises(XpmInvalidGrant) as excinfo:
        oauth.refresh(old)
    logged = caplog.text + str(excinfo.value)
    for secret in (
        "new-access-token",
        "new-refresh-token",
        "old-refresh-secret",
        "old-access-secret",
        "client-secret",
        "id-token-value",
    ):
        assert secret not in logged


def test_revoke_posts_refresh_token(rsps: responses.RequestsMock) -> None:
    rsps.post(td.REVOKE_URL, status=200)
    td.make_oauth().revoke(td.fresh_token(refresh="to-revoke"))
    request = rsps.calls[0].request
    assert _basic(request) == ("client-id", "client-secret")
    assert _form(request)["token"] == "to-revoke"


def test_revoke_failure(rsps: responses.RequestsMock) -> None:
    rsps.post(td.REVOKE_URL, status=503)
    with pytest.raises(XpmTransientError):
        td.make_oauth().revoke(td.fresh_token())


def test_connections_with_bearer_and_practice_filter(rsps: responses.RequestsMock) -> None:
    rsps.get(
        td.CONNECTIONS_URL,
        json=[
            {
                "id": "c1",
                "authEventId": "e",
                "tenantId": "t-org",
                "tenantType": "ORGANISATION",
                "tenantName": "Demo Company (NZ)",
                "createdDateUtc": "2019-12-07T18:46:19.5165400",
            },
            {
                "id": "c2",
                "authEventId": "e",
                "tenantId": "t-xpm",
                "tenantType": "PRACTICEMANAGER",
                "tenantName": "Demo Practice",
            },
        ],
    )
    tenants = td.make_oauth().connections(td.fresh_token(access="bearer-x"))
    assert rsps.calls[0].request.headers["Authorization"] == "Bearer bearer-x"
    assert [t.tenant_id for t in tenants] == ["t-org", "t-xpm"]
    assert [t.tenant_name for t in practice_manager_tenants(tenants)] == ["Demo Practice"]


def test_connections_unauthorised(rsps: responses.RequestsMock) -> None:
    rsps.get(
        td.CONNECTIONS_URL,
        status=401,
        json={"Title": "Unauthorized", "Detail": "AuthenticationUnsuccessful"},
    )
    with pytest.raises(XpmAuthError, match="AuthenticationUnsuccessful"):
        td.make_oauth().connections(td.fresh_token())


def test_practice_manager_tenants_filters_by_type() -> None:
    tenants = [
        Tenant(id="1", tenant_id="a", tenant_type="PRACTICEMANAGER"),
        Tenant(id="2", tenant_id="b", tenant_type="ORGANISATION"),
        Tenant(id="3", tenant_id="c", tenant_type=None),
    ]
    assert [t.tenant_id for t in practice_manager_tenants(tenants)] == ["a"]


# --------------------------------------------------------------------------- token store


def _expired(name: str) -> TokenSet:
    return TokenSet(
        f"{name}-access",
        f"{name}-refresh",
        datetime.now(UTC) - timedelta(minutes=1),
        ("practicemanager",),
    )


def _valid(name: str) -> TokenSet:
    return TokenSet(
        f"{name}-access",
        f"{name}-refresh",
        datetime.now(UTC) + timedelta(minutes=30),
        ("practicemanager",),
    )


def test_store_refreshes_and_persists_before_returning() -> None:
    store = InMemoryTokenStore(_expired("old"))
    seen: list[TokenSet] = []

    def refresher(current: TokenSet) -> TokenSet:
        seen.append(current)
        return _valid("new")

    result = store.refresh(store.load(), refresher)
    assert result == _valid("new") or result.access_token == "new-access"
    assert store.load() is result
    assert [t.refresh_token for t in seen] == ["old-refresh"]


def test_store_returns_someone_elses_refresh() -> None:
    stale = _expired("old")
    store = InMemoryTokenStore(_valid("other"))

    def refresher(current: TokenSet) -> TokenSet:
        raise AssertionError("must not refresh again")

    assert store.refresh(stale, refresher).access_token == "other-access"


def test_store_refreshes_when_the_stored_set_is_the_stale_one_even_if_valid() -> None:
    # A 401 TokenExpired with a locally-valid token (clock skew) must still refresh.
    current = _valid("skewed")
    store = InMemoryTokenStore(current)
    assert store.refresh(current, lambda t: _valid("new")).access_token == "new-access"


def test_concurrent_threads_refresh_once() -> None:
    stale = _expired("old")
    store = InMemoryTokenStore(stale)
    calls: list[str] = []
    barrier = threading.Barrier(8)

    def refresher(current: TokenSet) -> TokenSet:
        calls.append(current.refresh_token)
        time.sleep(0.05)  # widen the race window
        return _valid("new")

    results: list[TokenSet] = []

    def worker() -> None:
        barrier.wait()
        results.append(store.refresh(stale, refresher))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["old-refresh"]
    assert {r.access_token for r in results} == {"new-access"}
    assert store.refresh_count == 1


def test_invalid_grant_requires_reauthorisation() -> None:
    store = InMemoryTokenStore(_expired("old"))

    def refresher(current: TokenSet) -> TokenSet:
        raise XpmInvalidGrant("invalid_grant", status=400)

    with pytest.raises(XpmReauthorizationRequired) as excinfo:
        store.refresh(store.load(), refresher)
    assert isinstance(excinfo.value.__cause__, XpmInvalidGrant)


def test_invalid_grant_rereads_once_and_uses_a_concurrent_refresh() -> None:
    store = InMemoryTokenStore(_expired("old"))
    stale = store.load()

    def refresher(current: TokenSet) -> TokenSet:
        # Another *process* (no shared lock) rotated the token meanwhile.
        store._token_set = _valid("elsewhere")
        raise XpmInvalidGrant("invalid_grant", status=400)

    assert store.refresh(stale, refresher).access_token == "elsewhere-access"


def test_empty_store_requires_reauthorisation() -> None:
    store = InMemoryTokenStore()
    with pytest.raises(XpmReauthorizationRequired):
        store.load()
    with pytest.raises(XpmReauthorizationRequired):
        store.refresh(_expired("x"), lambda t: _valid("y"))
