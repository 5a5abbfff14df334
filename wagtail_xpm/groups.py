"""The group editor's "Xero Practice Manager" panel: each capability, on every site or on
chosen sites (registered in ``wagtail_hooks`` with ``register_group_permission_panel``).

"Every site" stores the capability's permissions on the group itself (Django's own group
permissions); a site column stores Wagtail ``GroupSitePermission`` rows for that site, the
way Wagtail limits site settings to a site. Only the boxes someone changed are written, so
a permission set elsewhere (a data migration, ``manage.py shell``) is left as it was.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import Permission
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from wagtail.models import GroupSitePermission, Site

from . import access

EVERY = "all"


class XpmGroupPermissionsForm(forms.Form):
    """One checkbox per capability and site (plus "Every site")."""

    template_name = "wagtail_xpm/admin/group_permissions.html"

    def __init__(self, *args: Any, instance=None, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "wagtail_xpm_access")
        self.instance = instance
        self.sites = list(Site.objects.order_by("-is_default_site", "hostname", "port"))
        self.permissions = {
            p.codename: p
            for p in Permission.objects.filter(
                content_type__app_label=access.APP_LABEL, codename__in=access.ALL_CODENAMES
            )
        }
        kwargs["initial"] = self._held() if instance is not None and instance.pk else {}
        super().__init__(*args, **kwargs)
        for capability in access.CAPABILITIES:
            for column in self.columns():
                self.fields[self.field_name(capability.key, column)] = forms.BooleanField(
                    required=False, label=capability.label
                )

    def columns(self) -> list[str]:
        return [EVERY, *(str(site.pk) for site in self.sites)]

    @staticmethod
    def field_name(capability: str, column: str) -> str:
        return f"{capability}__{column}"

    def _held(self) -> dict[str, bool]:
        group = self.instance
        everywhere = set(
            group.permissions.filter(content_type__app_label=access.APP_LABEL).values_list(
                "codename", flat=True
            )
        )
        per_site: dict[str, set[str]] = {}
        rows = GroupSitePermission.objects.filter(
            group=group, permission__content_type__app_label=access.APP_LABEL
        ).values_list("site_id", "permission__codename")
        for site_id, codename in rows:
            per_site.setdefault(str(site_id), set()).add(codename)
        initial = {}
        for capability in access.CAPABILITIES:
            needed = set(capability.codenames)
            initial[self.field_name(capability.key, EVERY)] = needed <= everywhere
            for site in self.sites:
                held = per_site.get(str(site.pk), set())
                initial[self.field_name(capability.key, str(site.pk))] = needed <= held
        return initial

    # --- rendering ------------------------------------------------------------------------

    def column_labels(self) -> list[str]:
        return [str(_("Every site")), *(site.site_name or site.hostname for site in self.sites)]

    def rows(self) -> list[dict[str, Any]]:
        labels = self.column_labels()
        return [
            {
                "capability": capability,
                "cells": [
                    {"field": self[self.field_name(capability.key, column)], "column": label}
                    for column, label in zip(self.columns(), labels, strict=True)
                ],
            }
            for capability in access.CAPABILITIES
        ]

    def as_admin_panel(self) -> str:
        return render_to_string(
            self.template_name,
            {
                "form": self,
                "rows": self.rows(),
                "sites": self.sites,
                "heading": _("Xero Practice Manager"),
                "panel_id": "wagtail-xpm-permissions",
            },
        )

    # --- saving ---------------------------------------------------------------------------

    def save(self) -> None:
        group = self.instance
        for name in self.changed_data:
            key, _sep, column = name.rpartition("__")
            capability = next(c for c in access.CAPABILITIES if c.key == key)
            permissions = [
                self.permissions[code] for code in capability.codenames if code in self.permissions
            ]
            ticked = bool(self.cleaned_data.get(name))
            if column == EVERY:
                if ticked:
                    group.permissions.add(*permissions)
                else:
                    group.permissions.remove(*permissions)
                continue
            site_id = int(column)
            if ticked:
                for permission in permissions:
                    GroupSitePermission.objects.get_or_create(
                        group=group, site_id=site_id, permission=permission
                    )
            else:
                GroupSitePermission.objects.filter(
                    group=group, site_id=site_id, permission__in=permissions
                ).delete()
