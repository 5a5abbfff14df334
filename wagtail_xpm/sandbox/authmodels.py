"""Dataclasses for the identity side: authorization codes, grants, connections, tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class AuthCode:
    """A single-use authorization code waiting to be exchanged at the token endpoint."""

    code: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    issued_at: datetime
    expires_at: datetime
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    nonce: str | None = None
    used: bool = False
    # Set once exchanged, so a replayed code can revoke what it produced (RFC 6749 4.1.2).
    grant_id: str | None = None


@dataclass(slots=True)
class Grant:
    """One consent: an auth event that owns connections and a chain of tokens."""

    id: str
    client_id: str
    scopes: list[str]
    created_at: datetime
    user_id: str
    revoked_at: datetime | None = None
    # A PKCE (public) client may refresh without a client secret.
    public_client: bool = False


@dataclass(slots=True)
class Connection:
    """A tenant connected by a grant (``GET /connections`` rows)."""

    id: str
    grant_id: str
    tenant_id: str
    tenant_type: str
    tenant_name: str
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class AccessToken:
    """A bearer token; looked up by its exact string."""

    token: str
    grant_id: str
    scopes: list[str]
    issued_at: datetime
    expires_at: datetime


@dataclass(slots=True)
class RefreshToken:
    """A rotating refresh token; ``successor`` is replayed inside the grace window."""

    token: str
    grant_id: str
    scopes: list[str]
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    successor: dict[str, Any] | None = None


@dataclass
class AuthState:
    """Everything the identity endpoints remember; persisted with the practice."""

    codes: dict[str, AuthCode] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
