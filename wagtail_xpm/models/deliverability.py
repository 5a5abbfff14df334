"""What email service providers reported about sent campaign emails: suppressed addresses
(hard bounces, complaints, repeated soft bounces) and the events behind them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class EmailSuppression(models.Model):
    """An email address the site must not send campaigns to any more (or a count of its soft
    bounces, before it is suppressed).

    Kept per address, not per contact: a hard bounce means the mailbox does not exist and a
    complaint means the person reported the firm as spam, whichever contact record (or site)
    the address belongs to, and a contact created later with the address is left out too.
    Gmail's and Yahoo's bulk-sender rules block domains whose complaints pass 0.3%.
    """

    class Reason(models.TextChoices):
        BOUNCED = "bounced", _("Bounced")
        COMPLAINED = "complained", _("Complained (marked as spam)")
        ERASED = "erased", _("Erased on request (never email again)")

    email_key = models.CharField(_("email"), max_length=254, unique=True)
    # Blank while only soft bounces were counted: not suppressed yet.
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    suppressed_at = models.DateTimeField(null=True, blank=True)
    soft_bounces = models.PositiveIntegerField(default=0)
    # What the ESP or the receiving server said (e.g. "550 5.1.1 mailbox does not exist").
    detail = models.CharField(max_length=255, blank=True)
    esp = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("suppressed email address")
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"{self.email_key} ({self.get_reason_display() or 'soft bounces'})"

    @property
    def is_suppressed(self) -> bool:
        return bool(self.reason)


class DeliveryEvent(models.Model):
    """One bounce, complaint or unsubscribe an ESP reported through its tracking webhook.

    ``(esp, event_id)`` is unique, so a webhook delivered twice changes nothing the second
    time. Opens, clicks and deliveries are not stored.
    """

    esp = models.CharField(max_length=50)
    event_id = models.CharField(max_length=255, blank=True)
    event_type = models.CharField(max_length=30)
    email_key = models.CharField(max_length=254, blank=True)
    campaign = models.ForeignKey(
        "wagtail_xpm.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="delivery_events",
    )
    occurred_at = models.DateTimeField(null=True, blank=True)
    detail = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("delivery event")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["esp", "event_id"],
                condition=~Q(event_id=""),
                name="delivery_event_unique",
            )
        ]
        indexes = [models.Index(fields=["campaign", "event_type"], name="delivery_event_campaign")]

    def __str__(self) -> str:
        return f"{self.esp} {self.event_type} {self.email_key}"
