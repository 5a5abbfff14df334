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
    reconcile_every_days = models.PositiveIntegerField(
        _("check for clients deleted in XPM every (days)"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text=_(
            "A light check of XPM's client list (base fields only) that finds clients deleted "
            "in XPM. Syncs in between read only the clients changed in XPM."
        ),
    )
    egress_allowance_gb = models.DecimalField(
        _("monthly XPM download allowance (GB)"),
        max_digits=9,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_(
            "The data egress your Xero plan includes each month (the Advanced tier: 250 GB), "
            "or the part of it this site may use. The Xero Practice Manager page warns before "
            "the month's downloads reach it. Empty: no warning."
        ),
    )
    egress_allowance_shared = models.BooleanField(
        _("allowance shared by all sites"),
        default=False,
        help_text=_(
            "On for an agency hosting several firms on one Xero app: the allowance is "
            "compared with all sites' downloads together."
        ),
    )
    daily_call_reserve = models.PositiveIntegerField(
        _("daily API calls kept in reserve"),
        default=100,
        help_text=_(
            "Syncs stop when XPM's daily budget falls to this many calls, so website leads "
            "can still be delivered."
        ),
    )
    # Website leads (wagtail_xpm.leads): the owner is an XPM staff UUID picked from the
    # synced staff list in the admin, never typed by hand.
    leads_enabled = models.BooleanField(
        _("send website enquiries to XPM"),
        default=True,
        help_text=_("Off: enquiries are kept on the website only."),
    )
    lead_owner_uuid = models.CharField(
        _("lead owner"),
        max_length=64,
        blank=True,
        help_text=_("The XPM staff member who looks after leads from the website."),
    )
    lead_category_uuid = models.CharField(
        _("lead category"),
        max_length=64,
        blank=True,
        help_text=_("Optional: the XPM lead category given to website leads."),
    )

    # Consent (wagtail_xpm/consent, docs/privacy.md).
    single_opt_in = models.BooleanField(
        _("single opt-in"),
        default=False,
        help_text=_(
            "Off (recommended): consent ticked on a form subscribes a person only once they "
            "click the link in a confirmation email. On: the tick alone subscribes them, "
            "except someone who unsubscribed before."
        ),
    )
    xpm_opt_out_field_uuid = models.CharField(
        _("XPM opt-out field"),
        max_length=64,
        blank=True,
        help_text=_(
            'A yes/no custom field on XPM contacts (for example "Marketing opt-out"). An '
            "unsubscribe on the website ticks it in XPM; ticked in XPM, it unsubscribes the "
            "person here. Empty: opt-outs are not shared with XPM."
        ),
    )
    xpm_opt_out_field_name = models.CharField(max_length=255, blank=True, editable=False)

    class Meta:
        verbose_name = _("Xero Practice Manager settings")
