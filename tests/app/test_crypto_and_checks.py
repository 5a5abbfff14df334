"""Tokens encrypted at rest with rotating keys; system checks for production settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from wagtail_xpm import crypto
from wagtail_xpm.checks import check_xpm_settings
from wagtail_xpm.models import XpmConnection
from wagtail_xpm.xpm.types import TokenSet

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
EXPIRES = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)


def token_set() -> TokenSet:
    return TokenSet(
        access_token="access-SECRET-123",
        refresh_token="refresh-SECRET-456",
        expires_at=EXPIRES,
        scopes=("offline_access", "practicemanager"),
    )


def use_keys(settings, *keys):
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, "TOKEN_KEYS": list(keys)}


def test_round_trip_and_no_plaintext(settings):
    use_keys(settings, NEW_KEY)
    ciphertext = crypto.encrypt_json(token_set().to_dict())
    assert "SECRET" not in ciphertext
    assert TokenSet.from_dict(crypto.decrypt_json(ciphertext)) == token_set()


@pytest.mark.django_db
def test_key_rotation_command(settings, default_site):
    use_keys(settings, OLD_KEY)
    connection = XpmConnection.objects.create(site=default_site, status="connected", tenant_id="t")
    connection.set_token_set(token_set())
    connection.save()

    use_keys(settings, NEW_KEY, OLD_KEY)  # new key first; the old one still decrypts
    assert XpmConnection.objects.get().get_token_set() == token_set()
    call_command("xpm_rotate_token_keys")

    use_keys(settings, NEW_KEY)  # old key dropped
    assert XpmConnection.objects.get().get_token_set() == token_set()


def test_wrong_key_gives_a_clear_error(settings):
    use_keys(settings, OLD_KEY)
    ciphertext = crypto.encrypt_json({"a": 1})
    use_keys(settings, NEW_KEY)
    with pytest.raises(crypto.TokenDecryptionError, match="TOKEN_KEYS"):
        crypto.decrypt_json(ciphertext)


def ids(messages):
    return {m.id for m in messages}


def test_checks_fail_in_production_without_keys_or_credentials(settings):
    settings.DEBUG = False
    settings.WAGTAIL_XPM = {"TOKEN_KEYS": []}
    assert {"wagtail_xpm.E001", "wagtail_xpm.E002"} <= ids(check_xpm_settings(None))


def test_checks_flag_an_invalid_key(settings):
    use_keys(settings, "not-a-fernet-key")
    assert "wagtail_xpm.E003" in ids(check_xpm_settings(None))


def test_checks_pass_with_complete_settings(settings):
    settings.DEBUG = False
    use_keys(settings, NEW_KEY)
    assert check_xpm_settings(None) == []


def test_debug_without_keys_only_warns_about_credentials(settings):
    settings.DEBUG = True
    settings.WAGTAIL_XPM = {}
    assert ids(check_xpm_settings(None)) == {"wagtail_xpm.W001"}


def test_a_lost_token_key_is_explained_not_a_crash(connected_site, settings):
    """The key the tokens were stored with was removed: Check connection and a sync say
    what to do, and the stored tokens are kept for when the key is restored."""
    from wagtail_xpm import services
    from wagtail_xpm.models import SyncRun

    stored = connected_site.token_ciphertext
    use_keys(settings, NEW_KEY)

    check = services.check_connection(XpmConnection.objects.get(pk=connected_site.pk))
    assert not check.ok
    assert "TOKEN_KEYS" in check.message

    run = services.run_sync(XpmConnection.objects.get(pk=connected_site.pk))
    assert run.status == SyncRun.Status.FAILED
    assert "TOKEN_KEYS" in run.message

    connected_site.refresh_from_db()
    assert connected_site.token_ciphertext == stored
