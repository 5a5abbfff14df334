"""Website enquiries: the outbox of form submissions on their way to XPM as leads."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import swapper
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.contrib.forms.models import AbstractFormSubmission

from .contacts import email_key

# Set only while an explicit, permitted, logged enquiry delete runs (the admin's Delete:
# wagtail_xpm/leads/actions.py). Every other way of deleting outbox rows is refused.
_DELETE_ALLOWED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "wagtail_xpm_enquiry_delete", default=False
)


class EnquiryDeleteRefused(PermissionDenied):
    """An enquiry was about to be deleted some other way than Website enquiries -> Delete
    (Wagtail's Forms screens, a bulk queryset delete): refused, nothing is deleted."""


@contextlib.contextmanager
def enquiry_delete_allowed() -> Iterator[None]:
    token = _DELETE_ALLOWED.set(True)
    try:
        yield
    finally:
        _DELETE_ALLOWED.reset(token)


def _refuse_unless_allowed() -> None:
    if not _DELETE_ALLOWED.get():
        raise EnquiryDeleteRefused(
            "Website enquiries are deleted one at a time from Website enquiries, by someone "
            "allowed to delete them (docs/permissions.md)."
        )


class LeadSubmissionQuerySet(models.QuerySet):
    def delete(self):
        _refuse_unless_allowed()
        return super().delete()


class LeadSubmission(AbstractFormSubmission):
    """One visitor's enquiry, stored before anything talks to XPM (the outbox row).

    A Wagtail form submission (``form_data`` holds every field the visitor sent, by field
    name; ``submit_time`` is when), so lead form pages list it in Wagtail's Forms menu too.
    Delivery stores each step's result on the row before taking the next one, which is what
    makes a retry safe: a client found or created is never created again, a lead never added
    twice. ``client_add_started_at`` / ``lead_add_started_at`` are set *before* the create
    call, so after a lost answer or a dead worker the next attempt looks the record up first.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SPAM = "spam", _("Spam")
        LOCAL = "local", _("Website only")

    class MatchedBy(models.TextChoices):
        CRM = "crm", _("Website contact")
        SEARCH = "search", _("Found in XPM")
        CREATED = "created", _("New prospect")

    class Kind(models.TextChoices):
        PAGE = "page", _("Form page")
        BLOCK = "block", _("Form block")

    # Why a submission failed, for the admin and for automatic re-queueing once fixed.
    ERROR_NO_OWNER = "no_owner"
    ERROR_OWNER_INVALID = "owner_invalid"
    ERROR_NOT_CONNECTED = "not_connected"
    ERROR_CONNECTION = "connection"
    ERROR_REFUSED = "xpm_refused"
    ERROR_UNREACHABLE = "unreachable"
    ERROR_UNEXPECTED = "unexpected"

    # Kept when the page goes: an enquiry outlives the page it came from.
    page = models.ForeignKey(
        swapper.get_model_name("wagtailcore", "Page"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    form_data = models.JSONField(encoder=DjangoJSONEncoder, default=dict, blank=True)
    connection = models.ForeignKey(
        "wagtail_xpm.XpmConnection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="lead_submissions",
    )
    site = models.ForeignKey(
        "wagtailcore.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=5, choices=Kind.choices, default=Kind.PAGE)
    block_id = models.CharField(max_length=64, blank=True)
    form_title = models.CharField(max_length=255, blank=True)
    source_url = models.CharField(_("page address"), max_length=500, blank=True)
    # Labels of the visitor's fields at the time, so the description reads like the form,
    # and which field held each role (name, email, phone, company, message, consent).
    field_labels = models.JSONField(default=dict, blank=True)
    field_roles = models.JSONField(default=dict, blank=True)

    name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=254, blank=True)
    email_key = models.CharField(max_length=254, blank=True, editable=False)
    phone = models.CharField(max_length=64, blank=True)
    company = models.CharField(max_length=255, blank=True)
    message = models.TextField(blank=True)
    consent = models.BooleanField(_("marketing consent"), default=False)

    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    spam_reason = models.CharField(max_length=255, blank=True)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    notes = models.TextField(blank=True)

    # Step 1: the XPM client and contact the lead is attached to.
    client_matched_by = models.CharField(max_length=10, choices=MatchedBy.choices, blank=True)
    xpm_client_uuid = models.CharField(_("XPM client"), max_length=64, blank=True)
    xpm_contact_uuid = models.CharField(_("XPM contact"), max_length=64, blank=True)
    xpm_client_name = models.CharField(max_length=255, blank=True)
    xpm_client_url = models.URLField(max_length=500, blank=True)
    client_created = models.BooleanField(default=False)
    client_add_started_at = models.DateTimeField(null=True, blank=True)
    # Step 2: the lead.
    xpm_lead_name = models.CharField(max_length=255, blank=True)
    xpm_lead_uuid = models.CharField(_("XPM lead"), max_length=64, blank=True)
    lead_add_started_at = models.DateTimeField(null=True, blank=True)
    owner_uuid = models.CharField(max_length=64, blank=True)
    category_uuid = models.CharField(max_length=64, blank=True)

    contact = models.ForeignKey(
        "wagtail_xpm.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="lead_submissions",
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LeadSubmissionQuerySet.as_manager()

    class Meta:
        verbose_name = _("website enquiry")
        verbose_name_plural = _("website enquiries")
        ordering = ["-submit_time", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="lead_status_due_idx"),
            models.Index(fields=["connection", "email_key"], name="lead_email_idx"),
        ]

    def __str__(self) -> str:
        who = self.name or self.email or _("anonymous visitor")
        return f"{who} ({self.get_status_display()})"

    @property
    def created_at(self):
        return self.submit_time

    def save(self, *args, **kwargs):
        self.email_key = email_key(self.email)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "email" in update_fields:
            kwargs["update_fields"] = {*update_fields, "email_key"}
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        _refuse_unless_allowed()
        return super().delete(*args, **kwargs)

    def get_data(self) -> dict:
        return {**self.form_data, "submit_time": self.submit_time}


class PracticeLeadCategory(models.Model):
    """A lead category read from ``lead.api/categories`` (not a job category)."""

    connection = models.ForeignKey(
        "wagtail_xpm.XpmConnection", on_delete=models.CASCADE, related_name="lead_categories"
    )
    uuid = models.CharField(max_length=64)
    name = models.CharField(max_length=255, blank=True)
    is_current = models.BooleanField(default=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("XPM lead category")
        verbose_name_plural = _("XPM lead categories")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "uuid"], name="xpm_lead_category_unique")
        ]

    def __str__(self) -> str:
        return self.name or self.uuid
