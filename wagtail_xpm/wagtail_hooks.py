"""Registration with the Wagtail admin (and nothing else)."""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.contrib.settings.registry import register_setting

from . import urls
from .models import XpmSiteSettings
from .views.connection import MANAGE_PERMISSION

register_setting(XpmSiteSettings, icon="link")


@hooks.register("register_admin_urls")
def register_admin_urls():
    return [path("xpm/", include(urls, namespace="wagtail_xpm"))]


class XpmMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm(MANAGE_PERMISSION)


@hooks.register("register_admin_menu_item")
def register_menu_item():
    return XpmMenuItem(
        _("Xero Practice Manager"),
        reverse("wagtail_xpm:status"),
        name="xpm",
        icon_name="link",
        order=850,
    )


@hooks.register("register_permissions")
def register_permissions():
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(
        content_type__app_label="wagtail_xpm", codename="manage_connection"
    )
