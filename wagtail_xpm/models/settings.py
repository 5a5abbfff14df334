"""Per-site settings editable in the Wagtail admin."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.contrib.settings.models import BaseSiteSetting


class XpmSiteSettings(BaseSiteSetting):
    """What a site does with its XPM connection (registered in wagtail_hooks)."""

    sync_enabled = models.BooleanField(
        _("scheduled sync"), default=True, help_text=_("Sync XPM clients on a schedule.")
    )
    sync_interval_minutes = models.PositiveIntegerField(
        _("sync interval (minutes)"),
        default=60,
        validators=[MinValueValidator(5), MaxValueValidator(7 * 24 * 60)],
    )
    daily_call_reserve = models.PositiveIntegerField(
        _("daily API calls kept in reserve"),
        default=100,
        help_text=_(
            "Syncs stop when XPM's daily budget falls to this many calls, so website leads "
            "can still be delivered."
        ),
    )

    class Meta:
        verbose_name = _("Xero Practice Manager settings")
