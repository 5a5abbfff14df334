"""The link between one Wagtail site and one XPM practice (tenant)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..crypto import decrypt_json, encrypt_json
from ..xpm.types import TokenSet


class XpmConnection(models.Model):
    """One site's connection to an XPM practice, with its rotating token set encrypted.

    The row is never deleted when something goes wrong: a failed refresh marks it
    ``needs_reauth`` so an admin can reconnect, and history that points at it stays intact.
    """

    class Status(models.TextChoices):
        CONNECTED = "connected", _("Connected")
        CHOOSE_TENANT = "choose_tenant", _("Choose a practice")
        NEEDS_REAUTH = "needs_reauth", _("Needs re-authorisation")
        DISCONNECTED = "disconnected", _("Disconnected")

    site = models.OneToOneField(
        "wagtailcore.Site", on_delete=models.CASCADE, related_name="xpm_connection"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DISCONNECTED)
    tenant_id = models.CharField(max_length=64, blank=True)
    tenant_name = models.CharField(max_length=255, blank=True)
    xero_connection_id = models.CharField(max_length=64, blank=True)
    # Practice Manager tenants offered by the last consent, for choosing when there are several.
    available_tenants = models.JSONField(default=list, blank=True)
    token_ciphertext = models.TextField(blank=True, editable=False)
    # Not secret; kept in clear so the status page can show token health without decrypting.
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.TextField(blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    connected_at = models.DateTimeField(null=True, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    refresh_count = models.PositiveIntegerField(default=0)
    day_calls_remaining = models.IntegerField(null=True, blank=True)
    day_calls_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Sections of the xpm_config document kept until their feature uses them (segments, leads).
    config_extras = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("XPM connection")
        verbose_name_plural = _("XPM connections")
        permissions = [
            ("manage_connection", "Can connect and disconnect Xero Practice Manager"),
            ("run_sync", "Can run syncs and see the sync history"),
        ]

    def __str__(self) -> str:
        return self.tenant_name or f"XPM connection for {self.site}"

    @property
    def is_usable(self) -> bool:
        return self.status == self.Status.CONNECTED and bool(self.token_ciphertext)

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    def get_token_set(self) -> TokenSet:
        return TokenSet.from_dict(decrypt_json(self.token_ciphertext))

    def set_token_set(self, token_set: TokenSet) -> None:
        """Encrypt and attach a token set (the caller saves)."""
        self.token_ciphertext = encrypt_json(token_set.to_dict())
        self.access_token_expires_at = token_set.expires_at
        self.scopes = " ".join(token_set.scopes)

    def clear_tokens(self) -> None:
        self.token_ciphertext = ""
        self.access_token_expires_at = None
