"""Campaign emails to a segment, and the frozen recipient list of each send."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail.fields import RichTextField

# What a campaign body's rich text editor offers: enough for a newsletter, nothing that
# needs the site's pages to render (emails are read far from the website).
BODY_FEATURES = ["h2", "h3", "bold", "italic", "ol", "ul", "hr", "link"]


class Campaign(models.Model):
    """An email to the members of a segment, with merge fields such as ``{{ first_name }}``.

    Sending freezes the recipient list into :class:`CampaignRecipient` rows (the snapshot),
    then a Huey task sends them in batches. The counts below are refreshed after each batch
    so the admin can show progress without counting the snapshot.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Failed")
        # Stopped by a mail server or ESP problem: the unsent recipients wait for Resume.
        PAUSED = "paused", _("Stopped")

    connection = models.ForeignKey(
        "wagtail_xpm.XpmConnection", on_delete=models.CASCADE, related_name="campaigns"
    )
    name = models.CharField(_("name"), max_length=255, help_text=_("Only editors see this."))
    subject = models.CharField(_("subject"), max_length=255)
    from_email = models.CharField(
        _("from"),
        max_length=255,
        blank=True,
        help_text=_('e.g. "Example Accounting <news@example.com>". Blank: the site default.'),
    )
    body = RichTextField(_("body"), features=BODY_FEATURES, blank=True)
    segment = models.ForeignKey(
        "wagtail_xpm.Segment",
        verbose_name=_("send to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="campaigns",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    # Filled when the recipient list is frozen; a snapshot is taken once per campaign.
    snapshot_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The sender holding the campaign (one at a time) and when it last showed signs of life.
    sender_token = models.CharField(max_length=32, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    recipients_total = models.PositiveIntegerField(default=0)
    sent_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    excluded_count = models.PositiveIntegerField(default=0)
    pending_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    test_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        ordering = ["-created_at", "-pk"]
        permissions = [("send_campaign", "Can send campaign emails")]
        indexes = [models.Index(fields=["status", "scheduled_at"], name="campaign_status_due_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_editable(self) -> bool:
        """Content and audience can change until the recipient list is frozen."""
        return self.status in (self.Status.DRAFT, self.Status.SCHEDULED)

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.SENDING)

    @property
    def is_paused(self) -> bool:
        return self.status == self.Status.PAUSED

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SENT, self.Status.CANCELLED, self.Status.FAILED)

    @property
    def to_send(self) -> int:
        return self.recipients_total - self.excluded_count

    @property
    def percent(self) -> int | None:
        if not self.snapshot_at:
            return None
        if not self.to_send:
            return 100
        return min(100, round(100 * (self.sent_count + self.failed_count) / self.to_send))


class CampaignRecipient(models.Model):
    """One row of a campaign's frozen recipient list, and what happened to it.

    ``pending`` rows are waiting. A sender claims a batch (``claimed``, committed before any
    message goes out), sends it in primary-key order and records outcomes (``sent`` or
    ``failed``) every few messages. After a crash, the claimed rows that may have gone out
    are marked failed ("interrupted") and never sent again; see
    :mod:`wagtail_xpm.campaigns.send`.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        CLAIMED = "claimed", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        EXCLUDED = "excluded", _("Left out")

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        NO_EMAIL = "no_email", _("No email address")
        INVALID_EMAIL = "invalid_email", _("Email address not valid")
        ARCHIVED = "archived", _("Archived in XPM")
        DUPLICATE_EMAIL = "duplicate_email", _("Same email as another recipient")
        # The address is suppressed (EmailSuppression): an ESP reported it.
        BOUNCED = "bounced", _("Bounced")
        COMPLAINED = "complained", _("Complained (marked as spam)")
        INTERRUPTED = "interrupted", _("Interrupted while sending (not retried)")
        SEND_ERROR = "send_error", _("The email server refused it")
        CANCELLED = "cancelled", _("Campaign cancelled")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    contact = models.ForeignKey(
        "wagtail_xpm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Frozen with the list: later edits to the contact do not change who receives it.
    email = models.CharField(max_length=254, blank=True)
    name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    error = models.TextField(blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The ESP's id for the message when the email backend reports one (django-anymail).
    message_id = models.CharField(max_length=255, blank=True)
    # Set when the person used this email's unsubscribe link.
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("campaign recipient")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "contact"],
                condition=Q(contact__isnull=False),
                name="campaign_recipient_unique",
            )
        ]
        indexes = [
            models.Index(fields=["campaign", "status"], name="campaign_recipient_status_idx")
        ]

    def __str__(self) -> str:
        return f"{self.email or self.name} ({self.get_status_display()})"
