"""The website's CRM contacts and their links to XPM clients."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def email_key(email: str | None) -> str:
    """How emails are compared everywhere: trimmed and case-insensitive."""
    return (email or "").strip().lower()


class Contact(models.Model):
    """One person the firm can reach; from XPM (one per XPM contact), a form, or by hand.

    ``xpm_client_id`` and ``xpm_contact_id`` are the XPM client UUID and contact UUID of the
    contact's primary record. ``data`` holds the mapped "extra information" of the primary
    client by mapping key (Account Manager, Balance Month, Plan Level...).
    """

    class Source(models.TextChoices):
        XPM = "xpm", _("XPM")
        FORM = "form", _("Website form")
        MANUAL = "manual", _("Manual")

    connection = models.ForeignKey(
        "wagtail_xpm.XpmConnection", on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=254, blank=True)
    email_key = models.CharField(max_length=254, blank=True, editable=False)
    phone = models.CharField(max_length=64, blank=True)
    mobile = models.CharField(max_length=64, blank=True)
    position = models.CharField(max_length=255, blank=True)
    xpm_client_id = models.CharField(_("XPM ClientID"), max_length=64, blank=True)
    xpm_contact_id = models.CharField(_("XPM ContactID"), max_length=64, blank=True)
    client_name = models.CharField(max_length=255, blank=True)
    primary_client = models.ForeignKey(
        "wagtail_xpm.PracticeClient",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="primary_contacts",
    )
    data = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.XPM)
    subscribed = models.BooleanField(default=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # Fields a visitor typed into a form: a sync never overwrites them.
    form_locked_fields = models.JSONField(default=list, blank=True)
    is_archived = models.BooleanField(default=False)
    is_prospect = models.BooleanField(default=False)
    # The XPM contact record no longer exists in XPM (deleted or unlinked everywhere).
    xpm_removed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("contact")
        ordering = ["name", "pk"]
        # Downloading contacts (CSV, Excel, a segment's members, a campaign's recipients) is
        # a capability of its own: seeing a contact does not let anyone take the list away.
        permissions = [
            ("export_contact", "Can export contacts"),
            # Tax numbers (IRD, TFN, ABN) are masked everywhere without it (docs/privacy.md).
            ("view_tax_number", "Can see tax numbers"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "email_key"],
                condition=~Q(email_key=""),
                name="contact_email_unique",
            ),
            models.UniqueConstraint(
                fields=["connection", "xpm_contact_id"],
                condition=~Q(xpm_contact_id=""),
                name="contact_xpm_contact_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["connection", "is_archived", "subscribed"]),
            # The contacts listing's default sort (name, then id), over every practice the
            # user sees and within one: a page is read off the index, not sorted (docs/
            # benchmarks.md, "Admin at scale").
            models.Index(fields=["name", "id"], name="contact_name_idx"),
            models.Index(fields=["connection", "name", "id"], name="contact_conn_name_idx"),
            models.Index(fields=["connection", "source"], name="contact_conn_source_idx"),
        ]

    def __str__(self) -> str:
        return self.name or self.email or f"Contact {self.pk}"

    def save(self, *args, **kwargs):
        self.email_key = email_key(self.email)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "email" in update_fields:
            kwargs["update_fields"] = {*update_fields, "email_key"}
        super().save(*args, **kwargs)


class ContactClientLink(models.Model):
    """A person's membership of one XPM client (position and primary flag as in XPM)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="client_links")
    client = models.ForeignKey(
        "wagtail_xpm.PracticeClient", on_delete=models.CASCADE, related_name="contact_links"
    )
    xpm_contact_id = models.CharField(max_length=64, blank=True)
    position = models.CharField(max_length=255, blank=True)
    is_primary = models.BooleanField(default=False)
    # The XPM opt-out custom field on this contact record, as last read (wagtail_xpm/consent).
    xpm_opted_out = models.BooleanField(default=False)
    opt_out_read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("contact's XPM client")
        constraints = [
            models.UniqueConstraint(fields=["contact", "client"], name="contact_client_unique")
        ]
        # "Any linked client" segments go from the matching clients to their contacts
        # (wagtail_xpm/segments/compile.py): read off this index alone.
        indexes = [models.Index(fields=["client", "contact"], name="link_client_contact_idx")]

    def __str__(self) -> str:
        return f"{self.contact} @ {self.client}"
