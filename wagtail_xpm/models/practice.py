"""Local mirrors of the practice's XPM records, each owned by one connection."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PracticeClient(models.Model):
    """An XPM client as last seen by a sync; never hard-deleted (flags instead)."""

    connection = models.ForeignKey(
        "wagtail_xpm.XpmConnection", on_delete=models.CASCADE, related_name="practice_clients"
    )
    uuid = models.CharField(max_length=64)
    name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=254, blank=True)
    is_archived = models.BooleanField(default=False)
    is_deleted = models.BooleanField(default=False)
    is_prospect = models.BooleanField(default=False)
    # True when a complete full sync no longer found the client in XPM's list.
    is_missing = models.BooleanField(default=False)
    web_url = models.URLField(max_length=500, blank=True)
    # Mapped values for this client (by mapping key; JSON-safe), used by "any client" segments.
    data = models.JSONField(default=dict, blank=True)
    # Custom field values by custom field UUID, as last fetched.
    custom_values = models.JSONField(default=dict, blank=True)
    # The client changed in XPM but its custom fields were not fetched yet (budget ran out).
    custom_fields_pending = models.BooleanField(default=False, db_index=True)
    custom_fields_fetched_at = models.DateTimeField(null=True, blank=True)
    # Hash of everything the sync read, so an unchanged client costs no write.
    content_hash = models.CharField(max_length=64, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("XPM client")
        verbose_name_plural = _("XPM clients")
        constraints = [
            models.UniqueConstraint(fields=["connection", "uuid"], name="xpm_client_uuid_unique")
        ]

    def __str__(self) -> str:
        return self.name or self.uuid

    @property
    def is_active(self) -> bool:
        return not (self.is_archived or self.is_deleted or self.is_missing)


class PracticeStaff(models.Model):
    """An XPM staff member (lead owners are picked from these, never typed by hand)."""

    connection = models.ForeignKey(
        "wagtail_xpm.XpmConnection", on_delete=models.CASCADE, related_name="staff"
    )
    uuid = models.CharField(max_length=64)
    name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    is_current = models.BooleanField(default=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("XPM staff member")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "uuid"], name="xpm_staff_uuid_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name


class PracticeCustomField(models.Model):
    """A custom field definition read from ``customfield.api/definition``."""

    connection = models.ForeignKey(
        "wagtail_xpm.XpmConnection", on_delete=models.CASCADE, related_name="custom_fields"
    )
    uuid = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=64, blank=True)
    value_element = models.CharField(max_length=16, blank=True)
    options = models.JSONField(default=list, blank=True)
    use_client = models.BooleanField(default=False)
    use_contact = models.BooleanField(default=False)
    is_current = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("XPM custom field")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "uuid"], name="xpm_customfield_unique")
        ]

    def __str__(self) -> str:
        return self.name


class PracticeClientGroup(models.Model):
    connection = models.ForeignKey(
        "wagtail_xpm.XpmConnection", on_delete=models.CASCADE, related_name="client_groups"
    )
    uuid = models.CharField(max_length=64)
    name = models.CharField(max_length=255)

    class Meta:
        verbose_name = _("XPM client group")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "uuid"], name="xpm_group_unique")
        ]

    def __str__(self) -> str:
        return self.name
