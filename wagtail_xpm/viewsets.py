"""Admin viewsets: contacts, field mappings, sync history and the Sync pages.

Registered in ``wagtail_hooks``; permission policies for the integration's own records live
here too (they are registered there, before any viewset asks for them).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail.admin.menu import MenuItem
from wagtail.admin.viewsets.base import ViewSet
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies.base import BaseDjangoAuthPermissionPolicy

from .models import Contact, FieldMapping, SyncRun, XpmConnection
from .views import contacts, mappings, sync
from .views.connection import MANAGE_PERMISSION

# Sub-items of the "Xero Practice Manager" menu register with this hook.
XPM_MENU_HOOK = "register_wagtail_xpm_menu_item"


class ManageConnectionPermissionPolicy(BaseDjangoAuthPermissionPolicy):
    """Everything on the model is for people who may run the integration
    (``wagtail_xpm.manage_connection``); ``actions`` limits what even they may do."""

    def __init__(self, model, *, actions: frozenset[str] | None = None) -> None:
        super().__init__(model, auth_model=XpmConnection)
        self.actions = actions

    def _allowed(self, actions) -> bool:
        return self.actions is None or bool(set(actions) & self.actions)

    def user_has_permission(self, user, action: str) -> bool:
        return self._allowed([action]) and user.is_active and user.has_perm(MANAGE_PERMISSION)

    def user_has_any_permission(self, user, actions) -> bool:
        return self._allowed(actions) and user.is_active and user.has_perm(MANAGE_PERMISSION)

    def users_with_any_permission(self, actions):
        if not self._allowed(actions):
            return get_user_model().objects.none()
        return self._get_users_with_any_permission_codenames(["manage_connection"])


class ContactViewSet(ModelViewSet):
    """The website CRM's contacts (Django model permissions on Contact)."""

    model = Contact
    name = "wagtail_xpm_contact"
    url_prefix = "contacts"
    icon = "group"
    menu_label = _("Contacts")
    menu_order = 250
    add_to_admin_menu = True
    index_view_class = contacts.ContactIndexView
    add_view_class = contacts.ContactCreateView
    edit_view_class = contacts.ContactEditView
    inspect_view_class = contacts.ContactInspectView
    inspect_view_enabled = True
    copy_view_enabled = False
    search_fields = ["name", "email", "client_name"]
    search_backend_name = None
    list_per_page = 50
    ordering = "name"
    export_filename = "contacts"

    def get_form_class(self, for_update: bool = False):
        return contacts.ContactEditForm if for_update else contacts.ContactCreateForm

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("xpm-client/<int:client_pk>/", contacts.open_client, name="open_client"),
        ]


class FieldMappingViewSet(ModelViewSet):
    """Which XPM fields become contact fields, per connection (the mapping editor)."""

    model = FieldMapping
    name = "wagtail_xpm_fieldmapping"
    url_prefix = "xpm/field-mappings"
    icon = "list-ul"
    menu_label = _("Field mappings")
    menu_order = 30
    menu_hook = XPM_MENU_HOOK
    index_view_class = mappings.FieldMappingIndexView
    add_view_class = mappings.FieldMappingCreateView
    edit_view_class = mappings.FieldMappingEditView
    copy_view_enabled = False
    sort_order_field = "sort_order"
    ordering = "sort_order"
    list_filter = ["connection"]

    def get_form_class(self, for_update: bool = False):
        return mappings.FieldMappingForm

    def get_permissions_to_register(self):
        # Governed by manage_connection; the model's own permissions would mislead.
        return Permission.objects.none()


class SyncRunViewSet(ModelViewSet):
    """The sync history: read-only, newest first, with a detail page per run."""

    model = SyncRun
    name = "wagtail_xpm_syncrun"
    url_prefix = "xpm/sync-history"
    icon = "history"
    menu_label = _("Sync history")
    menu_order = 20
    menu_hook = XPM_MENU_HOOK
    index_view_class = sync.SyncRunIndexView
    inspect_view_class = sync.SyncRunInspectView
    inspect_view_enabled = True
    copy_view_enabled = False
    add_to_reference_index = False
    list_filter = ["connection", "status", "trigger", "dry_run", "full"]
    list_per_page = 30
    ordering = "-created_at"

    def get_urlpatterns(self):
        # Runs are made by syncing, never typed in, edited or deleted.
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("inspect/<int:pk>/", self.inspect_view, name="inspect"),
        ]

    def get_common_view_kwargs(self, **kwargs):
        kwargs = super().get_common_view_kwargs(**kwargs)
        for name in ("add_url_name", "edit_url_name", "delete_url_name", "copy_url_name",
                     "history_url_name", "usage_url_name"):  # fmt: skip
            kwargs[name] = None
        return kwargs

    def get_permissions_to_register(self):
        return Permission.objects.none()

    def register_admin_url_finder(self):
        pass  # there is no edit view to find


class SyncMenuItem(MenuItem):
    """Shown to people who may run the integration."""

    def is_shown(self, request) -> bool:
        return request.user.has_perm(MANAGE_PERMISSION)


class SyncViewSet(ViewSet):
    """The Sync pages: Sync now / Full sync / Dry run and the live progress JSON."""

    name = "wagtail_xpm_sync"
    url_prefix = "xpm/sync"
    icon = "resubmit"
    menu_label = _("Sync")
    menu_order = 10
    menu_hook = XPM_MENU_HOOK
    menu_item_class = SyncMenuItem

    def get_urlpatterns(self):
        return [
            path("", sync.sync_sites, name="index"),
            path("<int:site_id>/", sync.sync_site, name="site"),
            path("<int:site_id>/start/", sync.start_sync, name="start"),
            path("runs/<int:pk>/progress/", sync.run_progress, name="progress"),
        ]
