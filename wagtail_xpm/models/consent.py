"""Proof of marketing consent: the ledger of every change of a person's status, the pending
confirmations of double opt-in, and the outbox of opt-outs on their way to XPM.

The rules that write these rows live in ``wagtail_xpm/consent/`` (docs/privacy.md); the
models only hold what happened.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ConsentEvent(models.Model):
    """One change of a person's marketing status, kept as evidence (Spam Act 2003, UEMA 2007).

    Rows are only ever added. ``email_key`` is kept beside the contact so the row still says
    whose consent it was after an erasure removed the contact.
    """

    class Action(models.TextChoices):
        REQUESTED = "requested", _("Consent given on a form, confirmation sent")
        CONFIRMED = "confirmed", _("Consent confirmed")
        SUBSCRIBED_FORM = "subscribed_form", _("Subscribed by a form (single opt-in)")
        SUBSCRIBED_EDITOR = "subscribed_editor", _("Subscribed by an editor")
        UNSUBSCRIBED_LINK = "unsubscribed_link", _("Unsubscribed by the email's link")
        UNSUBSCRIBED_ONE_CLICK = "unsubscribed_one_click", _("Unsubscribed by the one-click header")
        UNSUBSCRIBED_ESP = "unsubscribed_esp", _("Unsubscribed through the email service")
        UNSUBSCRIBED_EDITOR = "unsubscribed_editor", _("Unsubscribed by an editor")
        SUPPRESSED_BOUNCE = "suppressed_bounce", _("Suppressed by a bounce")
        SUPPRESSED_COMPLAINT = "suppressed_complaint", _("Suppressed by a complaint")
        OPTED_OUT_XPM = "opted_out_xpm", _("Opted out in XPM")
        OPT_OUT_SENT_XPM = "opt_out_sent_xpm", _("Opt-out written to XPM")
        OPT_OUT_CLEARED_XPM = "opt_out_cleared_xpm", _("Opt-out removed in XPM")
        IMPORTED = "imported", _("Imported from XPM (existing client relationship)")
        ERASED = "erased", _("Website data erased on request")

    class Actor(models.TextChoices):
        PERSON = "person", _("The person")
        USER = "user", _("A user of the site")
        SYNC = "sync", _("The XPM sync")
        ESP = "esp", _("The email service")
        SYSTEM = "system", _("The website")

    connection = models.ForeignKey(
        "wagtail_xpm.XpmConnection", on_delete=models.CASCADE, related_name="consent_events"
    )
    contact = models.ForeignKey(
        "wagtail_xpm.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="consent_events",
    )
    email_key = models.CharField(_("email"), max_length=254, db_index=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    # The person's status after this change: True subscribed, False not.
    subscribed = models.BooleanField()
    actor = models.CharField(max_length=10, choices=Actor.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Where consent was given: the form page (a page, or the page holding a form block)...
    page = models.ForeignKey(
        "wagtailcore.Page", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # ...and what it said, word for word, as the person saw it.
    wording = models.TextField(blank=True)
    # The request's address with its host part dropped (IPv4 /24, IPv6 /48).
    ip_prefix = models.CharField(max_length=64, blank=True)
    # Anything else that explains the row (campaign id, XPM contact ids, ESP event id...).
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["connection", "email_key", "created_at"])]

    def __str__(self) -> str:
        return f"{self.email_key}: {self.get_action_display()}"


class ConsentConfirmation(models.Model):
    """A double opt-in in flight: consent given on a form, waiting for the person's click.

    The emailed link is signed and expires (Django's signing); this row makes it single-use
    (``used_at``) and lets a later unsubscribe void it (``voided_at``).
    """

    connection = models.ForeignKey(
        "wagtail_xpm.XpmConnection", on_delete=models.CASCADE, related_name="+"
    )
    contact = models.ForeignKey(
        "wagtail_xpm.Contact",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="consent_confirmations",
    )
    email_key = models.CharField(max_length=254)
    nonce = models.CharField(max_length=64, unique=True)
    page = models.ForeignKey(
        "wagtailcore.Page", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    wording = models.TextField(blank=True)
    ip_prefix = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("consent confirmation")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email_key} ({self.nonce[:8]})"


class XpmOptOutWrite(models.Model):
    """An opt-out (or its withdrawal) on its way to one XPM contact record: the outbox row.

    One person may be a contact of several clients, so one unsubscribe makes one row per XPM
    contact record. Rows are written before any call and kept after: a refused write is
    retried (``next_attempt_at``) and the website stays unsubscribed meanwhile.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    connection = models.ForeignKey(
        "wagtail_xpm.XpmConnection", on_delete=models.CASCADE, related_name="opt_out_writes"
    )
    contact = models.ForeignKey(
        "wagtail_xpm.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opt_out_writes",
    )
    xpm_contact_id = models.CharField(max_length=64)
    # The custom field's value to write: True opted out, False not.
    opted_out = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("opt-out sent to XPM")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.xpm_contact_id}: {self.get_status_display()}"
