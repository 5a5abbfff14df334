"""Encryption of token sets at rest (Fernet, with key rotation through MultiFernet)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .conf import get_setting
from .xpm.errors import XpmConfigurationError


class TokenDecryptionError(XpmConfigurationError):
    """The stored ciphertext could not be decrypted with any configured key.

    An XPM configuration error, so every caller that explains XPM failures (the sync
    history, Check connection, the CLI) explains this one instead of crashing."""


def _debug_key() -> bytes:
    # Development only (checks.py refuses this when DEBUG is off): a stable key derived from
    # SECRET_KEY so a fresh clone works without extra configuration.
    digest = hashlib.sha256(b"wagtail_xpm.tokens:" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def configured_keys() -> list[bytes]:
    keys = [k.encode() if isinstance(k, str) else k for k in get_setting("TOKEN_KEYS")]
    if keys:
        return keys
    if settings.DEBUG or getattr(settings, "WAGTAIL_XPM_ALLOW_DERIVED_KEY", False):
        return [_debug_key()]
    raise ImproperlyConfigured("WAGTAIL_XPM['TOKEN_KEYS'] must list at least one Fernet key.")


def fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in configured_keys()])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "WAGTAIL_XPM['TOKEN_KEYS'] holds a value that is not a Fernet key "
            "(generate one with cryptography.fernet.Fernet.generate_key())."
        ) from exc


def encrypt_json(data: dict[str, Any]) -> str:
    return fernet().encrypt(json.dumps(data, separators=(",", ":")).encode()).decode()


def decrypt_json(ciphertext: str) -> dict[str, Any]:
    try:
        return json.loads(fernet().decrypt(ciphertext.encode()))
    except InvalidToken as exc:
        raise TokenDecryptionError(
            "Stored Xero tokens cannot be decrypted with the configured TOKEN_KEYS; "
            "keep the old key in the list (after the new one) or reconnect."
        ) from exc


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the newest key (any configured key may decrypt)."""
    try:
        return fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise TokenDecryptionError(
            "Stored Xero tokens cannot be decrypted with the configured TOKEN_KEYS; "
            "keep the old key in the list (after the new one) or reconnect."
        ) from exc
