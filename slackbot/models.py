"""Explicit links between Slack users and Wagtail users, made by an admin."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SlackUserLink(models.Model):
    """This Slack user (in this workspace) acts as this Wagtail user.

    Without a link, a Slack user acts as the active Wagtail user whose email matches their
    Slack profile email; a link is for people whose emails differ, and it wins over the
    email match. Commands still need the Wagtail user's permissions.
    """

    team_id = models.CharField(
        _("Slack workspace ID"), max_length=32, help_text=_("Starts with T, e.g. T0123ABCD.")
    )
    slack_user_id = models.CharField(
        _("Slack user ID"),
        max_length=32,
        help_text=_("Starts with U or W; in Slack: profile → ⋮ → Copy member ID."),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="slack_links",
        verbose_name=_("Wagtail user"),
    )
    note = models.CharField(
        _("note"), max_length=255, blank=True, help_text=_("e.g. the person's Slack name.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("Slack user link")
        verbose_name_plural = _("Slack user links")
        ordering = ["team_id", "slack_user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team_id", "slack_user_id"], name="slack_user_link_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.slack_user_id} ({self.team_id}) → {self.user}"

    def save(self, *args, **kwargs) -> None:
        # IDs are shown upper-case by Slack; a pasted lower-case id would never match.
        self.team_id = self.team_id.strip().upper()
        self.slack_user_id = self.slack_user_id.strip().upper()
        super().save(*args, **kwargs)
