"""Admin viewset for website enquiries and the lead settings panels (registered in
``wagtail_hooks``)."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel, ObjectList
from wagtail.admin.panels.model_utils import extract_panel_definitions_from_model_class
from wagtail.admin.viewsets.model import ModelViewSet

from ... import access
from ...adminkit.guards import guarded_urls, record_kwarg, requires
from ...consent import xpm_settings
from ...models import LeadSubmission, XpmSiteSettings
from . import enquiries, site_settings

LEAD_SETTING_FIELDS = ("leads_enabled", "lead_owner_uuid", "lead_category_uuid")


class LeadSubmissionViewSet(ModelViewSet):
    """Website enquiries: listing, details, Retry, Mark as spam, delete (the enquiry
    capabilities of docs/permissions.md: view to look, change to retry or mark, delete to
    delete; each on the enquiry's site)."""

    model = LeadSubmission
    name = "wagtail_xpm_leadsubmission"
    url_prefix = "enquiries"
    icon = "mail"
    menu_label = _("Website enquiries")
    menu_order = 260
    add_to_admin_menu = True
    index_view_class = enquiries.LeadSubmissionIndexView
    inspect_view_class = enquiries.LeadSubmissionInspectView
    inspect_view_enabled = True
    copy_view_enabled = False
    add_to_reference_index = False
    search_fields = ["name", "email", "company", "message"]
    search_backend_name = None
    list_per_page = 50
    ordering = ["-submit_time", "-pk"]

    @guarded_urls(
        model=LeadSubmission,
        default=(access.VIEW_ENQUIRY,),
        rules={
            "delete": requires(access.DELETE_ENQUIRY, site=record_kwarg(LeadSubmission)),
            "retry": requires(access.CHANGE_ENQUIRY, site=record_kwarg(LeadSubmission)),
            "spam": requires(access.CHANGE_ENQUIRY, site=record_kwarg(LeadSubmission)),
        },
    )
    def get_urlpatterns(self):
        # Enquiries come from visitors: never typed in or edited here.
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("inspect/<int:pk>/", self.inspect_view, name="inspect"),
            path("delete/<int:pk>/", self.delete_view, name="delete"),
            path("retry/<int:pk>/", enquiries.retry, name="retry"),
            path("spam/<int:pk>/", enquiries.mark_spam, name="spam"),
            path("xpm-client/<int:pk>/", enquiries.open_client, name="open_client"),
            path(
                "refresh-xpm/<int:site_id>/",
                site_settings.refresh_reference,
                name="refresh_reference",
            ),
        ]

    def get_common_view_kwargs(self, **kwargs):
        kwargs = super().get_common_view_kwargs(**kwargs)
        for name in ("add_url_name", "edit_url_name", "copy_url_name", "history_url_name",
                     "usage_url_name"):  # fmt: skip
            kwargs[name] = None
        return kwargs

    def get_permissions_to_register(self):
        return Permission.objects.none()  # the group editor's XPM panel (groups.py)

    def register_admin_url_finder(self):
        pass  # there is no edit view to find


def site_settings_edit_handler() -> ObjectList:
    """The XPM site settings page: every other field as Wagtail would show it, then a
    "Website leads" section whose owner and category are picked from XPM's lists."""
    others = extract_panel_definitions_from_model_class(
        XpmSiteSettings, exclude=["site", *LEAD_SETTING_FIELDS, xpm_settings.FIELD]
    )
    leads = MultiFieldPanel(
        [
            site_settings.LeadSettingsStatusPanel(),
            FieldPanel("leads_enabled"),
            FieldPanel("lead_owner_uuid"),
            FieldPanel("lead_category_uuid"),
        ],
        heading=_("Website leads"),
    )
    opt_outs = MultiFieldPanel(
        [xpm_settings.OptOutSettingsPanel(), FieldPanel(xpm_settings.FIELD)],
        heading=_("Opt-outs shared with XPM"),
    )
    return ObjectList([*others, leads, opt_outs], base_form_class=site_settings.XpmSiteSettingsForm)
