"""Helpers for the access tests: giving a group this app's permissions."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from wagtail.models import GroupSitePermission, Site

from wagtail_xpm import access


def grant(group: Group, codenames, site: Site | None = None) -> None:
    """Give ``group`` this app's permissions: on every site, or on ``site`` only."""
    permissions = Permission.objects.filter(
        content_type__app_label=access.APP_LABEL, codename__in=list(codenames)
    )
    if site is None:
        group.permissions.add(*permissions)
    else:
        for permission in permissions:
            GroupSitePermission.objects.get_or_create(group=group, site=site, permission=permission)


def admin_access() -> Permission:
    return Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
