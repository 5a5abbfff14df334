"""Registration with the Wagtail admin (and nothing else)."""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem
from wagtail.contrib.settings.registry import register_setting
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet

from . import access, audit, urls
from .policies import build_policies

# Before any viewset asks for them (Wagtail refuses a policy once a fallback was created):
# Django permissions, held on every site or on some (wagtail_xpm/access.py).
for _model, _policy in build_policies().items():
    register_permission_policy(_model, _policy)

from .adminkit.menu import XPM_MENU_HOOK  # noqa: E402
from .adminkit.scoped import SiteScopedDeleteBulkAction  # noqa: E402
from .campaigns.admin.editor import StoppedCampaignsPanel  # noqa: E402
from .campaigns.admin.permissions import can_view_campaigns  # noqa: E402
from .campaigns.admin.viewsets import CampaignViewSetGroup  # noqa: E402
from .contacts.admin.viewsets import ContactViewSet  # noqa: E402
from .groups import XpmGroupPermissionsForm  # noqa: E402
from .leads.actions import DeleteEnquiryAction  # noqa: E402
from .leads.admin import formsaccess as lead_forms  # noqa: E402
from .leads.admin import site_settings as lead_settings  # noqa: E402
from .leads.admin.viewsets import LeadSubmissionViewSet, site_settings_edit_handler  # noqa: E402
from .models import LeadSubmission, XpmSiteSettings  # noqa: E402
from .sync.admin.viewsets import FieldMappingViewSet, SyncRunViewSet, SyncViewSet  # noqa: E402

register_setting(XpmSiteSettings, icon="link")


@hooks.register("register_admin_urls")
def register_admin_urls():
    return [path("xpm/", include(urls, namespace="wagtail_xpm"))]


@hooks.register("register_admin_viewset")
def register_viewsets():
    return [ContactViewSet(), SyncViewSet(), SyncRunViewSet(), FieldMappingViewSet()]


class XpmMenuItem(MenuItem):
    def is_shown(self, request):
        return access.holds(request.user, access.MANAGE_CONNECTION)


@hooks.register("register_admin_menu_item")
def register_menu_item():
    return SubmenuMenuItem(
        _("Xero Practice Manager"),
        Menu(register_hook_name=XPM_MENU_HOOK),
        name="xpm",
        icon_name="link",
        order=850,
    )


@hooks.register(XPM_MENU_HOOK)
def register_connection_menu_item():
    return XpmMenuItem(
        _("Connection"),
        reverse("wagtail_xpm:status"),
        name="xpm-connection",
        icon_name="link",
        order=1,
    )


@hooks.register("register_group_permission_panel")
def register_group_permission_panel():
    """The app's capabilities, on every site or on chosen sites (wagtail_xpm/groups.py).

    The app's permissions are edited there only: its viewsets register none of them in
    Wagtail's "Object permissions" table, so the two never disagree."""
    return XpmGroupPermissionsForm


# --- Website leads -----------------------------------------------------------------------------

# The settings page offers the lead owner and category from XPM's own lists (never typed).
XpmSiteSettings.edit_handler = site_settings_edit_handler()


@hooks.register("register_admin_viewset")
def register_lead_viewsets():
    return LeadSubmissionViewSet()


@hooks.register("register_actions")
def register_enquiry_delete(actions):
    """Website enquiries -> Delete: permitted on the enquiry's site, logged (leads/actions.py)."""
    actions.register(LeadSubmission, DeleteEnquiryAction)


@hooks.register("filter_form_submissions_for_user")
def enquiries_belong_to_the_app(user, editable_forms):
    """Wagtail's Forms screens list a lead form page only to users who may view enquiries on
    its site (its submissions are website enquiries: wagtail_xpm/leads/pages.py)."""
    return lead_forms.visible_form_pages(user, editable_forms)


@hooks.register("after_edit_setting")
def send_leads_waiting_for_an_owner(request, instance):
    lead_settings.requeue_after_settings_change(request, instance)


# --- Segments and campaigns ----------------------------------------------------------------

register_snippet(CampaignViewSetGroup)
# After Wagtail's own snippet bulk delete (order): segments and campaigns get the site-aware one.
hooks.register("register_bulk_action", SiteScopedDeleteBulkAction, order=100)


@hooks.register("construct_homepage_panels")
def add_stopped_campaigns_panel(request, panels):
    if can_view_campaigns(request.user):
        panels.append(StoppedCampaignsPanel())


@hooks.register("register_log_actions")
def register_audit_actions(actions):
    """Exports, sends, consent, mapping and connection changes in "Site history"."""
    audit.register(actions)
