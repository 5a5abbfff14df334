"""The identity endpoints over HTTP: consent, code exchange with PKCE, rotation, revocation."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import requests
from sandbox_helpers import REDIRECT_URI, pkce_pair, query_of, sb_fixture, server_fixture  # noqa: F401

from wagtail_xpm.sandbox import Sandbox
from wagtail_xpm.sandbox.jwt import decode_unverified

SCOPES = "openid profile email offline_access practicemanager practicemanager.client"


class FormParser(HTMLParser):
    """Collects the consent form's action and hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action = None
        self.hidden: dict[str, str] = {}
        self.buttons: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action")
        if tag == "input" and attrs.get("type") == "hidden":
            self.hidden[attrs["name"]] = attrs["value"]
        if tag == "button":
            self.buttons.append(attrs.get("value"))


def authorize_params(challenge: str | None = None, **extra) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": "sandbox-client-id",
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPES,
        "state": "st-123",
    }
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra)
    return params


def consent(url: str, params: dict[str, str], decision: str = "allow") -> requests.Response:
    page = requests.get(f"{url}/identity/connect/authorize", params=params, timeout=10)
    assert page.status_code == 200
    form = FormParser()
    form.feed(page.text)
    data = {**form.hidden, "decision": decision}
    return requests.post(f"{url}{form.action}", data=data, allow_redirects=False, timeout=10)


def get_code(url: str, challenge: str | None = None, **extra) -> str:
    response = consent(url, authorize_params(challenge, **extra))
    assert response.status_code == 302
    return query_of(response.headers["Location"])["code"]


def token(url: str, data: dict[str, str], auth=("sandbox-client-id", "sandbox-client-secret")):
    return requests.post(f"{url}/connect/token", data=data, auth=auth, timeout=10)


def test_consent_page_names_practice_app_and_scopes_in_words(server):
    verifier, challenge = pkce_pair()
    page = requests.get(
        f"{server.url}/identity/connect/authorize", params=authorize_params(challenge), timeout=10
    )
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.text
    # The practice name has an ampersand: it must be escaped, not raw.
    assert "Harbour &amp; Co Chartered Accountants" in html
    assert "wagtail-xpm website" in html
    assert "View and manage your Practice Manager client data" in html
    assert "Keep access to the data you have allowed" in html
    form = FormParser()
    form.feed(html)
    assert form.action == "/identity/connect/authorize"
    assert set(form.buttons) == {"allow", "deny"}
    assert form.hidden["code_challenge"] == challenge
    assert form.hidden["state"] == "st-123"
    assert form.hidden["redirect_uri"] == REDIRECT_URI


def test_allow_redirects_with_code_and_state(server):
    response = consent(server.url, authorize_params())
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    query = query_of(location)
    assert query["state"] == "st-123"
    assert len(query["code"]) > 20


def test_deny_redirects_with_access_denied(server):
    response = consent(server.url, authorize_params(), decision="deny")
    assert response.status_code == 302
    query = query_of(response.headers["Location"])
    assert query == {"error": "access_denied", "state": "st-123"}


def test_tampered_consent_form_is_refused(server):
    page = requests.get(
        f"{server.url}/identity/connect/authorize", params=authorize_params(), timeout=10
    )
    form = FormParser()
    form.feed(page.text)
    data = {**form.hidden, "scope": "practicemanager offline_access", "decision": "allow"}
    response = requests.post(
        f"{server.url}/identity/connect/authorize", data=data, allow_redirects=False, timeout=10
    )
    assert response.status_code == 400
    assert "Location" not in response.headers


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"client_id": "someone-else"}, "invalid client_id"),
        ({"redirect_uri": "https://evil.example/callback"}, "redirect_uri"),
        ({"redirect_uri": ""}, "redirect_uri"),
    ],
)
def test_bad_client_or_redirect_uri_shows_error_page_without_redirect(server, override, message):
    response = requests.get(
        f"{server.url}/identity/connect/authorize",
        params=authorize_params(**override),
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert message in response.text


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "practicemanager made.up.scope"}, "invalid_scope"),
        ({"scope": ""}, "invalid_scope"),
        ({"code_challenge": "x" * 43, "code_challenge_method": "plain"}, "invalid_request"),
    ],
)
def test_bad_request_details_redirect_with_error(server, override, error):
    response = requests.get(
        f"{server.url}/identity/connect/authorize",
        params=authorize_params(**override),
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    query = query_of(response.headers["Location"])
    assert query["error"] == error
    assert query["state"] == "st-123"


def test_registered_redirect_uris_must_match_exactly():
    sb = Sandbox.generate(clients=3, allowed_redirect_uris=["https://site.example/xpm/callback"])
    with sb.serve() as srv:
        ok = requests.get(
            f"{srv.url}/identity/connect/authorize",
            params=authorize_params(redirect_uri="https://site.example/xpm/callback"),
            timeout=10,
        )
        assert ok.status_code == 200
        for uri in ("https://site.example/xpm/callback/", REDIRECT_URI):
            bad = requests.get(
                f"{srv.url}/identity/connect/authorize",
                params=authorize_params(redirect_uri=uri),
                allow_redirects=False,
                timeout=10,
            )
            assert bad.status_code == 400


def test_auto_consent_redirects_at_once():
    sb = Sandbox.generate(clients=3, auto_consent=True)
    with sb.serve() as srv:
        response = requests.get(
            f"{srv.url}/identity/connect/authorize",
            params=authorize_params(),
            allow_redirects=False,
            timeout=10,
        )
    assert response.status_code == 302
    assert "code" in query_of(response.headers["Location"])


def test_code_exchange_with_pkce_gives_tokens(server, sb):
    verifier, challenge = pkce_pair()
    code = get_code(server.url, challenge, nonce="n-1")
    response = token(
        server.url,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == [
        "id_token",
        "access_token",
        "expires_in",
        "token_type",
        "refresh_token",
        "scope",
    ]
    assert body["expires_in"] == 1800
    assert body["token_type"] == "Bearer"
    assert body["scope"] == SCOPES
    claims = decode_unverified(body["id_token"])
    assert claims["aud"] == "sandbox-client-id"
    assert claims["nonce"] == "n-1"
    assert claims["email"] == sb.state.user_email
    access = decode_unverified(body["access_token"])
    assert "practicemanager.client" in access["scope"]
    assert access["authentication_event_id"] in sb.state.auth.grants


def test_body_credentials_work_like_basic_auth(server):
    code = get_code(server.url)
    response = token(
        server.url,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": "sandbox-client-id",
            "client_secret": "sandbox-client-secret",
        },
        auth=None,
    )
    assert response.status_code == 200
    assert "id_token" in response.json()


def test_public_pkce_client_needs_no_secret_but_confidential_does(server):
    verifier, challenge = pkce_pair()
    code = get_code(server.url, challenge)
    public = token(
        server.url,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": "sandbox-client-id",
        },
        auth=None,
    )
    assert public.status_code == 200
    code = get_code(server.url)  # no PKCE: a secret is required
    confidential = token(
        server.url,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": "sandbox-client-id",
        },
        auth=None,
    )
    assert confidential.status_code == 400
    assert confidential.json() == {"error": "invalid_client"}


def test_wrong_secret_is_invalid_client(server):
    code = get_code(server.url)
    response = token(
        server.url,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=("sandbox-client-id", "nope"),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"


def test_wrong_verifier_is_invalid_grant(server):
    _, challenge = pkce_pair()
    other_verifier, _ = pkce_pair()
    code = get_code(server.url, challenge)
    response = token(
        server.url,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": other_verifier,
        },
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant"}


def test_missing_verifier_is_invalid_grant(server):
    _, challenge = pkce_pair()
    code = get_code(server.url, challenge)
    response = token(
        server.url,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_wrong_redirect_uri_at_exchange_is_invalid_grant(server):
    code = get_code(server.url)
    response = token(
        server.url,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1:9999/other",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_is_single_use_and_replay_revokes_its_tokens(server, sb):
    code = get_code(server.url)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    first = token(server.url, data)
    assert first.status_code == 200
    second = token(server.url, data)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    # RFC 6749 4.1.2: the tokens issued for a replayed code stop working.
    refreshed = token(
        server.url,
        {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]},
    )
    assert refreshed.status_code == 400


def test_code_expires_after_ten_minutes(server, sb):
    code = get_code(server.url)
    sb.advance(minutes=10, seconds=1)
    response = token(
        server.url,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_unknown_and_missing_grant_types(server):
    assert token(server.url, {"grant_type": "password"}).json() == {
        "error": "unsupported_grant_type"
    }
    missing = token(server.url, {})
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"


def refresh(url: str, refresh_token: str) -> requests.Response:
    return token(url, {"grant_type": "refresh_token", "refresh_token": refresh_token})


def test_refresh_rotates_and_replay_within_grace_returns_same_pair(server, sb):
    first = sb.issue_tokens()
    rotated = refresh(server.url, first["refresh_token"])
    assert rotated.status_code == 200
    pair = rotated.json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert pair["access_token"] != first["access_token"]
    assert pair["expires_in"] == 1800
    sb.advance(minutes=29)
    replay = refresh(server.url, first["refresh_token"])
    assert replay.status_code == 200
    assert replay.json() == pair
    # The new refresh token is the live one and rotates again.
    again = refresh(server.url, pair["refresh_token"])
    assert again.status_code == 200
    assert again.json()["refresh_token"] not in (pair["refresh_token"], first["refresh_token"])


def test_replay_after_grace_window_is_invalid_grant(server, sb):
    first = sb.issue_tokens()
    assert refresh(server.url, first["refresh_token"]).status_code == 200
    sb.advance(minutes=30, seconds=1)
    late = refresh(server.url, first["refresh_token"])
    assert late.status_code == 400
    assert late.json() == {"error": "invalid_grant"}


def test_unused_refresh_token_expires_after_sixty_days(server, sb):
    tokens = sb.issue_tokens()
    sb.advance(days=59)
    kept = refresh(server.url, tokens["refresh_token"])
    assert kept.status_code == 200
    sb.advance(days=60, seconds=1)
    expired = refresh(server.url, kept.json()["refresh_token"])
    assert expired.status_code == 400
    assert expired.json()["error"] == "invalid_grant"


def test_unknown_refresh_token_is_invalid_grant(server):
    response = refresh(server.url, "not-a-token")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_revocation_kills_the_whole_grant(server, sb):
    tokens = sb.issue_tokens()
    rotated = refresh(server.url, tokens["refresh_token"]).json()
    headers = sb.auth_headers(rotated)
    assert requests.get(f"{server.url}/connections", headers=headers, timeout=10).ok
    response = requests.post(
        f"{server.url}/connect/revocation",
        data={"token": rotated["refresh_token"], "token_type_hint": "refresh_token"},
        auth=("sandbox-client-id", "sandbox-client-secret"),
        timeout=10,
    )
    assert response.status_code == 200
    assert response.content == b""
    # Both access tokens of the grant, and its refresh tokens, are dead.
    for access in (tokens, rotated):
        api = requests.get(
            f"{server.url}/practicemanager/3.1/staff.api/list",
            headers=sb.auth_headers(access),
            timeout=10,
        )
        assert api.status_code == 401
        assert api.json()["Detail"] == "AuthenticationUnsuccessful"
    assert refresh(server.url, rotated["refresh_token"]).json()["error"] == "invalid_grant"
    assert refresh(server.url, tokens["refresh_token"]).status_code == 400


def test_revocation_needs_client_credentials_and_a_token(server, sb):
    tokens = sb.issue_tokens()
    unauthenticated = requests.post(
        f"{server.url}/connect/revocation", data={"token": tokens["refresh_token"]}, timeout=10
    )
    assert unauthenticated.status_code == 400
    assert unauthenticated.json()["error"] == "invalid_client"
    no_token = requests.post(
        f"{server.url}/connect/revocation",
        auth=("sandbox-client-id", "sandbox-client-secret"),
        timeout=10,
    )
    assert no_token.status_code == 400
    # Unknown tokens are not an error (RFC 7009).
    unknown = requests.post(
        f"{server.url}/connect/revocation",
        data={"token": "nope"},
        auth=("sandbox-client-id", "sandbox-client-secret"),
        timeout=10,
    )
    assert unknown.status_code == 200


def test_no_offline_access_means_no_refresh_token(sb):
    tokens = sb.issue_tokens(scopes=("practicemanager",))
    assert "refresh_token" not in tokens
    assert "id_token" not in tokens
    assert tokens["scope"] == "practicemanager"


def test_issue_tokens_rejects_unknown_scopes(sb):
    with pytest.raises(ValueError, match="unknown scopes"):
        sb.issue_tokens(scopes=("practicemanager", "made.up"))


def test_token_lifetime_is_configurable():
    sb = Sandbox.generate(clients=3, token_lifetime=60)
    assert sb.issue_tokens()["expires_in"] == 60


def test_require_pkce_refuses_plain_code_flow():
    sb = Sandbox.generate(clients=3, require_pkce=True)
    with sb.serve() as srv:
        response = requests.get(
            f"{srv.url}/identity/connect/authorize",
            params=authorize_params(),
            allow_redirects=False,
            timeout=10,
        )
    assert response.status_code == 302
    assert query_of(response.headers["Location"])["error"] == "invalid_request"


def test_redirect_keeps_existing_query_of_redirect_uri(server):
    params = authorize_params(redirect_uri="http://localhost:8000/cb?next=%2Fadmin%2F")
    response = consent(server.url, params)
    location = response.headers["Location"]
    assert re.match(r"http://localhost:8000/cb\?next=%2Fadmin%2F&code=", location)
