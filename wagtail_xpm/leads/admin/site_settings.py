"""The leads part of the XPM site settings page: the lead owner, lead category and opt-out
field picked from XPM's own lists (read once on the first visit, or on "Refresh from XPM"), the
missing-owner warning, and sending the enquiries that waited for an owner once one is chosen."""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from wagtail.admin.forms.models import WagtailAdminModelForm
from wagtail.admin.panels import Panel
from wagtail.models import Site
from wagtail.permissions import policy_registry

from ... import services
from ...consent import xpm_settings
from ...models import (
    LeadSubmission,
    PracticeLeadCategory,
    PracticeStaff,
    XpmConnection,
    XpmSiteSettings,
)
from ...wording import explain_lead_failure
from ...xpm.errors import XpmError
from .. import configsection as lead_section
from .. import pipeline, reference
from ..intake import enqueue
from .enquiries import settings_url

logger = logging.getLogger(__name__)

# --- Lead settings (the XPM site settings page) --------------------------------------------


class XpmSiteSettingsForm(xpm_settings.OptOutFieldFormMixin, WagtailAdminModelForm):
    """The site settings form: lead owner, lead category and the opt-out field are picked,
    never typed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        instance = kwargs.get("instance")
        site_id = getattr(instance, "site_id", None)
        connection = XpmConnection.objects.filter(site_id=site_id).first() if site_id else None
        self.connection = connection
        if connection is not None and connection.is_usable:
            load_reference_once(connection)
            xpm_settings.load_definitions_once(
                connection, services.refresh_custom_field_definitions
            )
            # An owner/category imported before the site was connected can be applied now.
            if (
                lead_section.apply_pending(connection, client_factory=services.client_for)
                and instance is not None
            ):
                instance.refresh_from_db()
        super().__init__(*args, **kwargs)
        self.setup_opt_out_field(connection)
        if "lead_owner_uuid" in self.fields:
            current = getattr(self.instance, "lead_owner_uuid", "")
            staff = reference.staff_choices(connection, current)
            self.fields["lead_owner_uuid"] = forms.ChoiceField(
                label=_("Lead owner"),
                choices=[("", _("Choose a staff member…"))] + staff,
                required=False,
                help_text=_(
                    "The XPM staff member who owns leads from the website (XPM needs one). "
                    "The list is your practice's staff in XPM."
                ),
            )
        if "lead_category_uuid" in self.fields:
            current = getattr(self.instance, "lead_category_uuid", "")
            self.fields["lead_category_uuid"] = forms.ChoiceField(
                label=_("Lead category"),
                choices=[("", _("No category"))] + reference.category_choices(connection, current),
                required=False,
                help_text=_("Optional: from your XPM lead categories."),
            )


class LeadSettingsStatusPanel(Panel):
    """Above the lead fields: the missing-owner warning and "Refresh from XPM"."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_xpm/leads/admin/settings_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            site_settings = self.instance
            site = getattr(site_settings, "site", None)
            connection = XpmConnection.objects.filter(site=site).first() if site else None
            context["connection"] = connection
            context["site"] = site
            context["staff_count"] = (
                PracticeStaff.objects.filter(connection=connection, is_current=True).count()
                if connection
                else 0
            )
            context["category_count"] = (
                PracticeLeadCategory.objects.filter(connection=connection, is_current=True).count()
                if connection
                else 0
            )
            context["missing_owner"] = (
                site_settings.leads_enabled and not site_settings.lead_owner_uuid
            )
            context["waiting"] = pipeline.waiting_for_owner(site.pk) if site else 0
            context["refresh_url"] = (
                reverse("wagtail_xpm_leadsubmission:refresh_reference", args=[site.pk])
                if site
                else ""
            )
            context["enquiries_url"] = reverse("wagtail_xpm_leadsubmission:index")
            return context


def load_reference_once(connection: XpmConnection) -> None:
    """First visit: read staff and categories from XPM so the lists are not empty."""
    try:
        if not PracticeStaff.objects.filter(connection=connection).exists():
            services.refresh_staff(connection)
        if not PracticeLeadCategory.objects.filter(connection=connection).exists():
            services.refresh_lead_categories(connection)
    except XpmError as exc:
        logger.info("Could not load XPM staff or lead categories for the settings: %s", exc)


@require_POST
def refresh_reference(request: HttpRequest, site_id: int) -> HttpResponse:
    """Read the staff list and lead categories from XPM again."""
    site = get_object_or_404(Site, pk=site_id)
    policy = policy_registry.get_by_type(XpmSiteSettings)
    if not policy.user_has_permission_for_instance(request.user, "change", site):
        raise PermissionDenied
    connection = XpmConnection.objects.filter(site=site).first()
    if connection is None or not connection.is_usable:
        messages.error(
            request,
            _("Connect this site to Xero Practice Manager first (Xero Practice Manager page)."),
        )
        return redirect(settings_url(site))
    try:
        # The opt-out field chooser's list, and how a field deleted in XPM is noticed.
        services.refresh_custom_field_definitions(connection)
    except XpmError as exc:
        messages.warning(
            request,
            _("XPM's custom fields could not be read: %(reason)s")
            % {"reason": explain_lead_failure(exc)},
        )
    try:
        staff = services.refresh_staff(connection)
        categories = services.refresh_lead_categories(connection)
        lead_section.apply_pending(connection, client_factory=services.client_for)
    except XpmError as exc:
        messages.error(request, explain_lead_failure(exc))
    else:
        messages.success(
            request,
            # Translators: %(staff)s is "N staff members", %(categories)s "N lead categories".
            _("Read %(staff)s and %(categories)s from XPM.")
            % {
                "staff": ngettext("%(count)d staff member", "%(count)d staff members", staff)
                % {"count": staff},
                "categories": ngettext(
                    "%(count)d lead category", "%(count)d lead categories", categories
                )
                % {"count": categories},
            },
        )
    return redirect(settings_url(site))


def requeue_after_settings_change(request: HttpRequest, instance: Any) -> None:
    """After the site settings are saved: send what was waiting for a lead owner now."""
    if not isinstance(instance, XpmSiteSettings) or not instance.lead_owner_uuid:
        return
    result = pipeline.sweep()
    for submission_id in result.healed:
        enqueue(submission_id)
    # Told about this site's enquiries only.
    mine = LeadSubmission.objects.filter(pk__in=result.healed, site_id=instance.site_id).count()
    if mine:
        messages.success(
            request,
            ngettext(
                "%(count)d waiting website enquiry is being sent to XPM now.",
                "%(count)d waiting website enquiries are being sent to XPM now.",
                mine,
            )
            % {"count": mine},
        )
