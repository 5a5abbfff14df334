"""Registration with the Wagtail admin (and nothing else)."""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem
from wagtail.contrib.settings.registry import register_setting
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet

from . import urls
from .campaign_viewsets import CampaignViewSetGroup
from .leads import admin_views as lead_admin_views
from .leads.viewsets import LeadSubmissionViewSet, site_settings_edit_handler
from .models import FieldMapping, SyncRun, XpmSiteSettings
from .views.connection import MANAGE_PERMISSION
from .viewsets import (
    XPM_MENU_HOOK,
    ContactViewSet,
    FieldMappingViewSet,
    ManageConnectionPermissionPolicy,
    SyncRunViewSet,
    SyncViewSet,
)

# Before any viewset asks for them (Wagtail refuses a policy once a fallback was created).
register_permission_policy(FieldMapping, ManageConnectionPermissionPolicy(FieldMapping))
register_permission_policy(
    SyncRun, ManageConnectionPermissionPolicy(SyncRun, actions=frozenset({"view"}))
)

register_setting(XpmSiteSettings, icon="link")


@hooks.register("register_admin_urls")
def register_admin_urls():
    return [path("xpm/", include(urls, namespace="wagtail_xpm"))]


@hooks.register("register_admin_viewset")
def register_viewsets():
    return [ContactViewSet(), SyncViewSet(), SyncRunViewSet(), FieldMappingViewSet()]


class XpmMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm(MANAGE_PERMISSION)


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


@hooks.register("register_permissions")
def register_permissions():
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(
        content_type__app_label="wagtail_xpm", codename="manage_connection"
    )


# --- Website leads -----------------------------------------------------------------------------

# The settings page offers the lead owner and category from XPM's own lists (never typed).
XpmSiteSettings.edit_handler = site_settings_edit_handler()


@hooks.register("register_admin_viewset")
def register_lead_viewsets():
    return LeadSubmissionViewSet()


@hooks.register("after_edit_setting")
def send_leads_waiting_for_an_owner(request, instance):
    lead_admin_views.requeue_after_settings_change(request, instance)


# --- Segments and campaigns ----------------------------------------------------------------

register_snippet(CampaignViewSetGroup)


@hooks.register("construct_homepage_panels")
def add_stopped_campaigns_panel(request, panels):
    from .views.campaigns import StoppedCampaignsPanel, can_view_campaigns

    if can_view_campaigns(request.user):
        panels.append(StoppedCampaignsPanel())
