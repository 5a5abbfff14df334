"""Minimal HS256 JWTs, so tokens look like Xero's (clients may decode, never verify)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JWTs use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def encode(claims: dict[str, Any], key: bytes) -> str:
    """Sign ``claims`` with HMAC-SHA256."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = b64url(hmac.new(key, signing_input, hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


def decode_unverified(token: str) -> dict[str, Any]:
    """The claims of a token, without checking the signature (for tests and tooling)."""
    payload = token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))
