"""Xero's identity server, minus HTTP: codes, grants, rotating tokens, connections
(docs/xpm-api.md 1 and 14.2). The WSGI layer in ``identity.py`` only translates."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from . import jwt
from .authmodels import AccessToken, AuthCode, Connection, Grant, RefreshToken
from .scopes import KNOWN_SCOPES, parse_scope
from .state import PracticeState

CODE_LIFETIME = timedelta(minutes=10)
REFRESH_GRACE = timedelta(minutes=30)
REFRESH_LIFETIME = timedelta(days=60)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class OAuthError(Exception):
    """A token/revocation endpoint error: ``{"error": code}`` with an HTTP status."""

    def __init__(self, error: str, description: str | None = None, status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        """The JSON body Xero sends."""
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


class AuthorizePageError(Exception):
    """The request cannot be trusted to redirect (bad client or redirect URI): show a page."""


class AuthorizeRedirectError(Exception):
    """An error to report back to the (valid) redirect URI as ``?error=``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(error)
        self.error = error
        self.description = description


class ApiAuthError(Exception):
    """The API gateway's JSON problem (401/403) for a bad token, tenant or scope."""

    TITLES = {401: "Unauthorized", 403: "Forbidden"}

    def __init__(self, status: int, detail: str, *, www_authenticate: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.title = self.TITLES.get(status, "Error")
        self.detail = detail
        self.www_authenticate = www_authenticate


@dataclass(frozen=True, slots=True)
class OAuthConfig:
    """The registered app, as the sandbox knows it."""

    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    app_name: str = "wagtail-xpm website"
    allowed_redirect_uris: tuple[str, ...] | None = None
    token_lifetime: int = 1800
    require_pkce: bool = False


@dataclass(frozen=True, slots=True)
class AuthorizeRequest:
    """A validated authorize request, ready for consent."""

    client_id: str
    redirect_uri: str
    scopes: list[str]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None


def s256(verifier: str) -> str:
    """The PKCE S256 transform of a code verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def connection_timestamp(value: datetime) -> str:
    """``/connections`` dates: UTC, no zone, seven fractional digits (like .NET)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


class OAuthServer:
    """Issues and checks codes and tokens against the practice's ``AuthState``."""

    def __init__(
        self,
        state: PracticeState,
        clock: Callable[[], datetime],
        config: OAuthConfig,
        lock: threading.RLock,
        issuer: str = "https://identity.xero.com",
    ) -> None:
        self.state = state
        self.clock = clock
        self.config = config
        self.lock = lock
        self.issuer = issuer
        self._signing_key = hashlib.sha256(f"sandbox:{config.client_secret}".encode()).digest()

    # -- authorize ----------------------------------------------------------------------

    def redirect_uri_allowed(self, uri: str) -> bool:
        """Exact match against the registered URIs; without a list, any loopback http(s) URI
        is accepted as a development convenience."""
        if self.config.allowed_redirect_uris is not None:
            return uri in self.config.allowed_redirect_uris
        try:
            parts = urlsplit(uri)
        except ValueError:
            return False
        return (
            parts.scheme in ("http", "https")
            and (parts.hostname or "") in LOOPBACK_HOSTS
            and not parts.fragment
        )

    def validate_authorize(self, params: dict[str, str]) -> AuthorizeRequest:
        """Check an authorize request; page errors first, then redirectable errors."""
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if not client_id or not hmac.compare_digest(client_id, self.config.client_id):
            raise AuthorizePageError("Unknown client or client not enabled (invalid client_id).")
        if not redirect_uri or not self.redirect_uri_allowed(redirect_uri):
            raise AuthorizePageError(
                "The redirect_uri is not registered for this app (it must match exactly)."
            )
        if params.get("response_type") != "code":
            raise AuthorizeRedirectError(
                "unsupported_response_type", "Only response_type=code is supported"
            )
        scopes = parse_scope(params.get("scope"))
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if not scopes or unknown:
            raise AuthorizeRedirectError(
                "invalid_scope", f"Unknown or missing scope: {' '.join(unknown) or '(none)'}"
            )
        challenge = params.get("code_challenge") or None
        method = params.get("code_challenge_method") or None
        if challenge is None and self.config.require_pkce:
            raise AuthorizeRedirectError("invalid_request", "code_challenge is required")
        if challenge is not None:
            if method != "S256":
                raise AuthorizeRedirectError(
                    "invalid_request", "code_challenge_method must be S256"
                )
            if not 43 <= len(challenge) <= 128:
                raise AuthorizeRedirectError("invalid_request", "Invalid code_challenge")
        return AuthorizeRequest(
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=params.get("state"),
            code_challenge=challenge,
            code_challenge_method=method if challenge else None,
            nonce=params.get("nonce") or None,
        )

    def issue_code(self, request: AuthorizeRequest) -> str:
        """The user allowed access: mint a single-use code."""
        now = self.clock()
        code = secrets.token_urlsafe(32)
        with self.lock:
            self.state.auth.codes[code] = AuthCode(
                code=code,
                client_id=request.client_id,
                redirect_uri=request.redirect_uri,
                scopes=list(request.scopes),
                issued_at=now,
                expires_at=now + CODE_LIFETIME,
                code_challenge=request.code_challenge,
                code_challenge_method=request.code_challenge_method,
                nonce=request.nonce,
            )
        return code

    # -- token endpoint -----------------------------------------------------------------

    def _authenticate_client(
        self, client_id: str | None, client_secret: str | None, *, public_ok: bool
    ) -> None:
        if not client_id or not hmac.compare_digest(client_id, self.config.client_id):
            raise OAuthError("invalid_client")
        if client_secret is None:
            if not public_ok:
                raise OAuthError("invalid_client")
            return
        if not hmac.compare_digest(client_secret, self.config.client_secret):
            raise OAuthError("invalid_client")

    def exchange_code(
        self,
        *,
        client_id: str | None,
        client_secret: str | None,
        code: str | None,
        redirect_uri: str | None,
        code_verifier: str | None,
    ) -> dict[str, Any]:
        """``grant_type=authorization_code``."""
        now = self.clock()
        with self.lock:
            auth_code = self.state.auth.codes.get(code or "")
            public_ok = bool(auth_code and auth_code.code_challenge)
            self._authenticate_client(client_id, client_secret, public_ok=public_ok)
            if auth_code is None or auth_code.client_id != client_id:
                raise OAuthError("invalid_grant")
            if auth_code.used:
                # A replayed code revokes what it produced (RFC 6749 4.1.2).
                if auth_code.grant_id and auth_code.grant_id in self.state.auth.grants:
                    self.state.auth.grants[auth_code.grant_id].revoked_at = now
                raise OAuthError("invalid_grant")
            if now >= auth_code.expires_at:
                raise OAuthError("invalid_grant")
            if redirect_uri != auth_code.redirect_uri:
                raise OAuthError("invalid_grant")
            if auth_code.code_challenge and (
                not code_verifier
                or not hmac.compare_digest(s256(code_verifier), auth_code.code_challenge)
            ):
                raise OAuthError("invalid_grant")
            auth_code.used = True
            grant = self._new_grant(auth_code.scopes, now, public_client=client_secret is None)
            auth_code.grant_id = grant.id
            return self._token_response(grant, now, nonce=auth_code.nonce)

    def refresh(
        self, *, client_id: str | None, client_secret: str | None, refresh_token: str | None
    ) -> dict[str, Any]:
        """``grant_type=refresh_token``, with rotation and the 30-minute replay window."""
        now = self.clock()
        with self.lock:
            record = self.state.auth.refresh_tokens.get(refresh_token or "")
            grant = self.state.auth.grants.get(record.grant_id) if record else None
            self._authenticate_client(
                client_id, client_secret, public_ok=bool(grant and grant.public_client)
            )
            if record is None or grant is None or grant.revoked_at is not None:
                raise OAuthError("invalid_grant")
            if record.used_at is not None:
                if now - record.used_at <= REFRESH_GRACE and record.successor is not None:
                    # The response was lost? Hand back the very same new pair.
                    return dict(record.successor)
                raise OAuthError("invalid_grant")
            if now >= record.expires_at:
                raise OAuthError("invalid_grant")
            response = self._token_response(grant, now)
            record.used_at = now
            record.successor = dict(response)
            return response

    def revoke(self, *, client_id: str | None, client_secret: str | None, token: str) -> None:
        """Revoke the grant behind a refresh token (all its tokens stop working)."""
        now = self.clock()
        with self.lock:
            self._authenticate_client(client_id, client_secret, public_ok=False)
            record = self.state.auth.refresh_tokens.get(token)
            if record is None:
                # RFC 7009: unknown tokens are not an error.
                return
            grant = self.state.auth.grants.get(record.grant_id)
            if grant is not None and grant.revoked_at is None:
                grant.revoked_at = now

    def issue_tokens(self, scopes: tuple[str, ...] | list[str]) -> dict[str, Any]:
        """A grant without the browser (tests): the token response a code would give."""
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if unknown:
            raise ValueError(f"unknown scopes: {unknown}")
        now = self.clock()
        with self.lock:
            grant = self._new_grant(list(scopes), now, public_client=False)
            return self._token_response(grant, now)

    # -- internals ----------------------------------------------------------------------

    def _new_grant(self, scopes: list[str], now: datetime, *, public_client: bool) -> Grant:
        state = self.state
        grant = Grant(
            id=state.new_uuid(),
            client_id=self.config.client_id,
            scopes=list(scopes),
            created_at=now,
            user_id=state.user_id,
            public_client=public_client,
        )
        state.auth.grants[grant.id] = grant
        # The practice, plus an accounting organisation the same user connected, so the
        # client has to pick the PRACTICEMANAGER tenant rather than the first row.
        for tenant_id, tenant_type, name in (
            (state.tenant_id, "PRACTICEMANAGER", state.practice_name),
            (state.org_tenant_id, "ORGANISATION", state.org_name),
        ):
            connection = Connection(
                id=state.new_uuid(),
                grant_id=grant.id,
                tenant_id=tenant_id,
                tenant_type=tenant_type,
                tenant_name=name,
                created_at=now,
                updated_at=now,
            )
            state.auth.connections[connection.id] = connection
        return grant

    def _token_response(
        self, grant: Grant, now: datetime, *, nonce: str | None = None
    ) -> dict[str, Any]:
        lifetime = self.config.token_lifetime
        expires_at = now + timedelta(seconds=lifetime)
        access = jwt.encode(
            {
                "nbf": int(now.timestamp()),
                "exp": int(expires_at.timestamp()),
                "iss": self.issuer,
                "aud": f"{self.issuer}/resources",
                "client_id": grant.client_id,
                "sub": grant.user_id,
                "auth_time": int(grant.created_at.timestamp()),
                "xero_userid": grant.user_id,
                "global_session_id": grant.id.replace("-", ""),
                "jti": secrets.token_hex(16),
                "authentication_event_id": grant.id,
                "scope": grant.scopes,
            },
            self._signing_key,
        )
        self.state.auth.access_tokens[access] = AccessToken(
            token=access,
            grant_id=grant.id,
            scopes=list(grant.scopes),
            issued_at=now,
            expires_at=expires_at,
        )
        response: dict[str, Any] = {}
        if "openid" in grant.scopes:
            response["id_token"] = self._id_token(grant, now, nonce)
        response.update(
            access_token=access,
            expires_in=lifetime,
            token_type="Bearer",
        )
        if "offline_access" in grant.scopes:
            refresh = secrets.token_urlsafe(32)
            self.state.auth.refresh_tokens[refresh] = RefreshToken(
                token=refresh,
                grant_id=grant.id,
                scopes=list(grant.scopes),
                issued_at=now,
                expires_at=now + REFRESH_LIFETIME,
            )
            response["refresh_token"] = refresh
        response["scope"] = " ".join(grant.scopes)
        return response

    def _id_token(self, grant: Grant, now: datetime, nonce: str | None) -> str:
        first, _, last = self.state.user_name.partition(" ")
        claims: dict[str, Any] = {
            "nbf": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=5)).timestamp()),
            "iss": self.issuer,
            "aud": grant.client_id,
            "iat": int(now.timestamp()),
            "auth_time": int(grant.created_at.timestamp()),
            "sub": grant.user_id,
            "xero_userid": grant.user_id,
            "global_session_id": grant.id.replace("-", ""),
        }
        if "email" in grant.scopes:
            claims["email"] = self.state.user_email
        if "profile" in grant.scopes:
            claims.update(
                given_name=first,
                family_name=last,
                preferred_username=claims.get("email", self.state.user_email),
            )
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode(claims, self._signing_key)

    # -- resource side ------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> tuple[AccessToken, Grant]:
        """Check a bearer token: 401 ``AuthenticationUnsuccessful`` or ``TokenExpired``."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiAuthError(401, "AuthenticationUnsuccessful", www_authenticate="Bearer")
        with self.lock:
            record = self.state.auth.access_tokens.get(token.strip())
            grant = self.state.auth.grants.get(record.grant_id) if record else None
        if record is None or grant is None or grant.revoked_at is not None:
            raise ApiAuthError(
                401,
                "AuthenticationUnsuccessful",
                www_authenticate='Bearer error="invalid_token"',
            )
        if self.clock() >= record.expires_at:
            expired = record.expires_at.strftime("%m/%d/%Y %H:%M:%S")
            raise ApiAuthError(
                401,
                f"TokenExpired: token expired at {expired}",
                www_authenticate=(
                    'Bearer error="invalid_token", error_description="The token is expired"'
                ),
            )
        return record, grant

    def check_tenant(self, grant: Grant, tenant_id: str | None) -> None:
        """The ``xero-tenant-id`` must be the practice, connected through this grant."""
        wanted = (tenant_id or "").strip().lower()
        with self.lock:
            connected = any(
                c.grant_id == grant.id
                and c.tenant_type == "PRACTICEMANAGER"
                and c.tenant_id == wanted
                for c in self.state.auth.connections.values()
            )
        if not wanted or not connected:
            raise ApiAuthError(403, "AuthenticationUnsuccessful")

    def connections_for(self, grant: Grant, auth_event_id: str | None = None) -> list[dict]:
        """``GET /connections`` rows for the grant's app and user."""
        with self.lock:
            rows = [
                c
                for c in self.state.auth.connections.values()
                if c.grant_id == grant.id and (auth_event_id is None or c.grant_id == auth_event_id)
            ]
        return [
            {
                "id": c.id,
                "authEventId": c.grant_id,
                "tenantId": c.tenant_id,
                "tenantType": c.tenant_type,
                "tenantName": c.tenant_name,
                "createdDateUtc": connection_timestamp(c.created_at),
                "updatedDateUtc": connection_timestamp(c.updated_at),
            }
            for c in rows
        ]

    def delete_connection(self, grant: Grant, connection_id: str) -> bool:
        """``DELETE /connections/{id}``: False when the id is not this grant's."""
        with self.lock:
            connection = self.state.auth.connections.get(connection_id.lower())
            if connection is None or connection.grant_id != grant.id:
                return False
            del self.state.auth.connections[connection.id]
            return True

    def prune(self) -> None:
        """Forget codes and tokens that can never be used again (before saving)."""
        now = self.clock()
        auth = self.state.auth
        with self.lock:
            auth.codes = {
                k: v for k, v in auth.codes.items() if v.expires_at > now - timedelta(hours=1)
            }
            auth.access_tokens = {
                k: v
                for k, v in auth.access_tokens.items()
                if v.expires_at > now - timedelta(days=1)
            }
            auth.refresh_tokens = {
                k: v
                for k, v in auth.refresh_tokens.items()
                if v.expires_at > now and (v.used_at is None or now - v.used_at <= REFRESH_GRACE)
            }
