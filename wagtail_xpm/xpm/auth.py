"""Xero OAuth 2.0: authorisation URL (state + PKCE S256), code exchange, refresh, revoke.

Why not `requests_oauthlib.OAuth2Session.fetch_token`: it refuses `http://` endpoints (the
local sandbox) unless the process-wide `OAUTHLIB_INSECURE_TRANSPORT` variable is set, it
logs token responses at DEBUG level, and it turns HTTP failures into oauthlib exceptions
that lose the status code we need to tell `invalid_grant` from an outage. The protocol is
small, so it is spoken here directly, following RFC 6749 and RFC 7636, over the same HTTP
owner as the API client (`http.py`: timeouts, body caps, network errors, 429 and 5xx).

Refresh tokens rotate and are effectively single-use, so refreshing goes through a
`TokenStore`: one writer at a time, new tokens persisted before anyone uses them.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote, urlencode, urlsplit

import requests

from .errors import (
    XpmAuthError,
    XpmConfigurationError,
    XpmInvalidGrant,
    XpmReauthorizationRequired,
    XpmResponseError,
)
from .http import ERROR_BODY_BYTES, XERO_IDENTITY, HttpSession
from .parsing import parse_connections, parse_json
from .problems import parse_problem
from .types import Tenant, TokenSet

__all__ = [
    "AuthorizationRequest",
    "InMemoryTokenStore",
    "LockingTokenStore",
    "OAuthConfig",
    "TokenStore",
    "XeroOAuth",
    "code_challenge",
    "new_code_verifier",
    "practice_manager_tenants",
]

logger = logging.getLogger(__name__)

#: Identity responses are small JSON documents; anything bigger is not Xero talking.
MAX_IDENTITY_BODY_BYTES = ERROR_BODY_BYTES


@dataclass(frozen=True, kw_only=True)
class OAuthConfig:
    """The app's credentials and Xero's identity endpoints (the sandbox's, in development)."""

    client_id: str
    client_secret: str
    authorize_url: str = "https://login.xero.com/identity/connect/authorize"
    token_url: str = "https://identity.xero.com/connect/token"
    revoke_url: str = "https://identity.xero.com/connect/revocation"
    connections_url: str = "https://api.xero.com/connections"
    scopes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        # Keep the secret out of logs and tracebacks.
        return (
            f"OAuthConfig(client_id={self.client_id!r}, client_secret=<redacted>, "
            f"token_url={self.token_url!r}, scopes={self.scopes!r})"
        )


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the browser, plus what to keep in the session for the callback."""

    url: str
    state: str
    code_verifier: str

    def __repr__(self) -> str:
        return "AuthorizationRequest(url=..., state=<redacted>, code_verifier=<redacted>)"


def new_code_verifier() -> str:
    """A PKCE code verifier: 64 URL-safe characters (RFC 7636 allows 43-128)."""
    return secrets.token_urlsafe(48)


def code_challenge(verifier: str) -> str:
    """The S256 challenge: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def practice_manager_tenants(tenants: Iterable[Tenant]) -> list[Tenant]:
    """The tenants that are Practice Manager practices (`tenantType == "PRACTICEMANAGER"`)."""
    return [tenant for tenant in tenants if tenant.is_practice_manager]


class XeroOAuth:
    """Talks to Xero's identity endpoints. Stateless apart from its HTTP session (`http`)."""

    def __init__(
        self,
        config: OAuthConfig,
        *,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = (5, 30),
    ) -> None:
        if not config.client_id:
            raise XpmConfigurationError("Xero client id is not configured")
        self.config = config
        self.http = HttpSession(XERO_IDENTITY, session=session, timeout=timeout)

    # ----------------------------------------------------------------- authorisation

    def authorization_request(self, redirect_uri: str) -> AuthorizationRequest:
        """Build the consent URL. Keep `state` and `code_verifier` for the callback."""
        state = secrets.token_urlsafe(24)
        verifier = new_code_verifier()
        params = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self.config.scopes),
            "state": state,
            "code_challenge": code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        separator = "&" if urlsplit(self.config.authorize_url).query else "?"
        url = f"{self.config.authorize_url}{separator}{urlencode(params)}"
        return AuthorizationRequest(url=url, state=state, code_verifier=verifier)

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
        """Swap the callback's `code` for a token set (client credentials as Basic auth)."""
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        return TokenSet.from_token_response(self._token_request(data, "code exchange"))

    def refresh(self, token_set: TokenSet) -> TokenSet:
        """Use the refresh token once. Persist the result before using it (see TokenStore)."""
        data = {"grant_type": "refresh_token", "refresh_token": token_set.refresh_token}
        payload = self._token_request(data, "token refresh")
        return TokenSet.from_token_response(payload, previous=token_set)

    def revoke(self, token_set: TokenSet) -> None:
        """Revoke the refresh token (and with it every tenant connection of the grant)."""
        data = {"token": token_set.refresh_token, "token_type_hint": "refresh_token"}
        response = self._post_identity(self.config.revoke_url, data, "token revocation")
        with response:
            if response.status_code >= 400:
                self._raise_identity_error(response, "token revocation")

    # ----------------------------------------------------------------- connections

    def connections(self, token_set: TokenSet) -> list[Tenant]:
        """`GET /connections`: tenants this grant may call."""
        response = self._send(
            "GET",
            self.config.connections_url,
            "connections lookup",
            headers={
                "Authorization": f"Bearer {token_set.access_token}",
                "Accept": "application/json",
            },
        )
        with response:
            if response.status_code >= 400:
                self._raise_identity_error(response, "connections lookup")
            return parse_connections(self._read(response))

    def disconnect(self, token_set: TokenSet, connection_id: str) -> None:
        """`DELETE /connections/{id}`: disconnect one tenant, keeping the grant."""
        url = f"{self.config.connections_url.rstrip('/')}/{quote(connection_id, safe='')}"
        response = self._send(
            "DELETE",
            url,
            "disconnect",
            headers={"Authorization": f"Bearer {token_set.access_token}"},
        )
        with response:
            if response.status_code >= 400 and response.status_code != 404:
                self._raise_identity_error(response, "disconnect")

    # ----------------------------------------------------------------- HTTP

    def _token_request(self, data: dict[str, str], what: str) -> dict[str, Any]:
        response = self._post_identity(self.config.token_url, data, what)
        with response:
            if response.status_code >= 400:
                self._raise_identity_error(response, what)
            payload = parse_json(self._read(response))
        if not isinstance(payload, dict):
            raise XpmResponseError(f"Xero {what} returned unexpected JSON")
        return payload

    def _post_identity(self, url: str, data: dict[str, str], what: str) -> requests.Response:
        return self._send(
            "POST",
            url,
            what,
            data=data,
            auth=(self.config.client_id, self.config.client_secret),
            headers={"Accept": "application/json"},
        )

    def _send(self, method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
        response = self.http.send(method, url, label=f"Xero {what}", **kwargs)
        logger.debug("Xero %s: HTTP %s", what, response.status_code)
        return response

    def _read(self, response: requests.Response) -> bytes:
        return self.http.read(response, MAX_IDENTITY_BODY_BYTES)

    def _raise_identity_error(self, response: requests.Response, what: str) -> None:
        status = response.status_code
        correlation_id = response.headers.get("xero-correlation-id")
        body = self.http.error_body(response, MAX_IDENTITY_BODY_BYTES)
        detail = parse_problem(body, status).summary
        suffix = f": {detail}" if detail else ""
        unavailable = self.http.availability_error(response, label=f"Xero {what}", detail=detail)
        if unavailable is not None:
            raise unavailable
        # OAuth error codes come as {"error": "invalid_grant"}; use the code, not the prose.
        code = _oauth_error_code(body)
        if code == "invalid_grant":
            reason = (
                "the authorisation code is invalid, expired or already used; start again"
                if what == "code exchange"
                else "the refresh token was used, expired or revoked; reconnect to Xero"
            )
            raise XpmInvalidGrant(
                f"Xero refused the grant ({what}): {reason}",
                status=status,
                correlation_id=correlation_id,
            )
        if code in ("invalid_client", "unauthorized_client"):
            raise XpmConfigurationError(
                f"Xero rejected the app credentials ({what}); check CLIENT_ID/CLIENT_SECRET",
                status=status,
                correlation_id=correlation_id,
            )
        raise XpmAuthError(
            f"Xero {what} failed with HTTP {status}{suffix}",
            status=status,
            correlation_id=correlation_id,
        )


def _oauth_error_code(body: bytes) -> str:
    if not body.strip().startswith(b"{"):
        return ""
    try:
        data = parse_json(body)
    except XpmResponseError:
        return ""
    return str(data.get("error") or "").strip().lower() if isinstance(data, dict) else ""


# --------------------------------------------------------------------------- token stores


@runtime_checkable
class TokenStore(Protocol):
    """Where a connection's token set lives. Refreshing must be single-writer."""

    def load(self) -> TokenSet:
        """The current token set; raises `XpmReauthorizationRequired` when there is none."""
        ...

    def refresh(self, stale: TokenSet, refresher: Callable[[TokenSet], TokenSet]) -> TokenSet:
        """Single writer. Lock; re-read the stored set; if it differs from `stale` and is not
        expired, return it (someone else refreshed). Otherwise call `refresher(current)`,
        persist the result BEFORE returning it. On `XpmInvalidGrant`: re-read once (another
        process may have refreshed); if still unusable raise `XpmReauthorizationRequired`."""
        ...


class LockingTokenStore:
    """The refresh protocol of `TokenStore`, over three small storage hooks.

    Subclasses provide `lock()` (a context manager held across read-refresh-write: a thread
    lock, a database row lock, a Redis lock), `read()` and `write()`. Override
    `reauthorization_required()` to record that the connection needs a person.
    """

    def lock(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def read(self) -> TokenSet | None:
        raise NotImplementedError

    def write(self, token_set: TokenSet) -> None:
        raise NotImplementedError

    def reauthorization_required(self, reason: str) -> XpmReauthorizationRequired:
        """Build (and optionally record) the error raised when refreshing cannot succeed."""
        return XpmReauthorizationRequired(reason)

    def load(self) -> TokenSet:
        token_set = self.read()
        if token_set is None:
            raise self.reauthorization_required("no Xero connection is stored")
        return token_set

    def refresh(self, stale: TokenSet, refresher: Callable[[TokenSet], TokenSet]) -> TokenSet:
        with self.lock():
            current = self.read()
            if current is None:
                raise self.reauthorization_required("no Xero connection is stored")
            if current != stale and not current.is_expired():
                return current
            try:
                fresh = refresher(current)
            except XpmInvalidGrant as exc:
                # Another process may have rotated the token between our read and the call.
                again = self.read()
                if again is not None and again != current and not again.is_expired():
                    return again
                raise self.reauthorization_required(
                    "Xero no longer accepts the stored refresh token; reconnect to Xero"
                ) from exc
            self.write(fresh)
            return fresh


class InMemoryTokenStore(LockingTokenStore):
    """A process-local TokenStore (tests, the CLI, and the reference for the semantics)."""

    def __init__(self, token_set: TokenSet | None = None) -> None:
        self._token_set = token_set
        self._lock = threading.Lock()
        self.refresh_count = 0

    @contextmanager
    def lock(self) -> Iterator[None]:
        with self._lock:
            yield

    def read(self) -> TokenSet | None:
        return self._token_set

    def write(self, token_set: TokenSet) -> None:
        self._token_set = token_set
        self.refresh_count += 1

    def save(self, token_set: TokenSet) -> None:
        """Store a token set obtained outside a refresh (after connecting)."""
        with self._lock:
            self._token_set = token_set

    def clear(self) -> None:
        with self._lock:
            self._token_set = None
