"""Wagtail permission policies for the app's records: Django permissions, per site.

Every listing, detail page and action Wagtail builds for contacts, segments, campaigns,
enquiries, field mappings and sync runs asks these policies; they answer from
:mod:`wagtail_xpm.access` (global permissions, or Wagtail's ``GroupSitePermission`` rows for
groups limited to some sites). Registered in ``wagtail_hooks`` before any viewset asks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from wagtail.permission_policies.base import BaseDjangoAuthPermissionPolicy

from . import access


class SitePermissionPolicy(BaseDjangoAuthPermissionPolicy):
    """A model's actions (``add``, ``change``, ``delete``, ``view``, ``export``...) mapped to
    this app's permission names, held on every site or on some (``access.py``).

    ``actions`` maps each action to the permission names that allow it (any of them); an
    action missing from it is allowed to nobody but superusers.
    """

    def __init__(
        self,
        model,
        actions: Mapping[str, Iterable[str]],
        *,
        auth_model=None,
    ) -> None:
        super().__init__(model, auth_model=auth_model)
        self.actions = {action: tuple(names) for action, names in actions.items()}

    def codenames(self, actions: Iterable[str]) -> tuple[str, ...]:
        names: list[str] = []
        for action in actions:
            names.extend(self.actions.get(action, ()))
        return tuple(dict.fromkeys(names))

    def _user_ok(self, user: Any) -> bool:
        return bool(user is not None and user.is_authenticated and user.is_active)

    # --- some or all instances --------------------------------------------------------------

    def user_has_permission(self, user, action):
        return self.user_has_any_permission(user, [action])

    def user_has_any_permission(self, user, actions):
        if not self._user_ok(user):
            return False
        if user.is_superuser:
            return True
        names = self.codenames(actions)
        return bool(names) and access.holds(user, names)

    def users_with_any_permission(self, actions):
        from django.contrib.auth.models import Permission

        names = self.codenames(actions)
        permissions = Permission.objects.filter(
            content_type__app_label=access.APP_LABEL, codename__in=names
        )
        return (
            get_user_model()
            .objects.filter(
                (
                    Q(is_superuser=True)
                    | Q(user_permissions__in=permissions)
                    | Q(groups__permissions__in=permissions)
                    | Q(groups__site_permissions__permission__in=permissions)
                )
                & Q(is_active=True)
            )
            .distinct()
        )

    # --- one instance -----------------------------------------------------------------------

    def user_has_permission_for_instance(self, user, action, instance):
        return self.user_has_any_permission_for_instance(user, [action], instance)

    def user_has_any_permission_for_instance(self, user, actions, instance):
        if not self._user_ok(user):
            return False
        if user.is_superuser:
            return True
        names = self.codenames(actions)
        return bool(names) and access.holds(user, names, access.site_id_of(instance))

    def instances_user_has_any_permission_for(self, user, actions):
        queryset = self.model._default_manager.all()
        if not self._user_ok(user):
            return queryset.none()
        if user.is_superuser:
            return queryset
        names = self.codenames(actions)
        if not names:
            return queryset.none()
        return access.scope(queryset, user, names)

    def users_with_any_permission_for_instance(self, actions, instance):
        from django.contrib.auth.models import Permission

        names = self.codenames(actions)
        permissions = Permission.objects.filter(
            content_type__app_label=access.APP_LABEL, codename__in=names
        )
        site_id = access.site_id_of(instance)
        return (
            get_user_model()
            .objects.filter(
                (
                    Q(is_superuser=True)
                    | Q(user_permissions__in=permissions)
                    | Q(groups__permissions__in=permissions)
                    | Q(
                        groups__site_permissions__permission__in=permissions,
                        groups__site_permissions__site_id=site_id,
                    )
                )
                & Q(is_active=True)
            )
            .distinct()
        )


def model_actions(model_name: str, *, extra: Mapping[str, Iterable[str]] | None = None):
    """``add``/``change``/``delete``/``view`` -> the model's own permission names."""
    actions = {action: (f"{action}_{model_name}",) for action in ("add", "change", "delete")}
    # Wagtail's generic views list and inspect with "view"; whoever may change may see.
    actions["view"] = (f"view_{model_name}", f"change_{model_name}")
    actions.update(extra or {})
    return actions


def build_policies() -> dict[type, SitePermissionPolicy]:
    """The policy of each model the admin shows (registered in ``wagtail_hooks``)."""
    from .models import (
        Campaign,
        Contact,
        FieldMapping,
        LeadSubmission,
        Segment,
        SyncRun,
        XpmConnection,
    )

    manage = (access.MANAGE_CONNECTION,)
    return {
        Contact: SitePermissionPolicy(
            Contact, model_actions("contact", extra={"export": (access.EXPORT_CONTACT,)})
        ),
        LeadSubmission: SitePermissionPolicy(
            LeadSubmission,
            {
                "view": (access.VIEW_ENQUIRY,),
                "change": (access.CHANGE_ENQUIRY,),
                "delete": (access.DELETE_ENQUIRY,),
            },
        ),
        Segment: SitePermissionPolicy(Segment, model_actions("segment")),
        Campaign: SitePermissionPolicy(
            Campaign, model_actions("campaign", extra={"send": (access.SEND_CAMPAIGN,)})
        ),
        # Field mappings belong to whoever manages the connection.
        FieldMapping: SitePermissionPolicy(
            FieldMapping,
            {action: manage for action in ("add", "change", "delete", "view")},
            auth_model=XpmConnection,
        ),
        # Sync runs are made by syncing, never typed in, edited or deleted.
        SyncRun: SitePermissionPolicy(SyncRun, {"view": access.SYNC}, auth_model=XpmConnection),
        XpmConnection: SitePermissionPolicy(
            XpmConnection,
            {action: manage for action in ("add", "change", "delete", "view")},
        ),
    }
