"""The sync's admin viewsets: the Sync pages, the sync history and the field mappings, all
under the "Xero Practice Manager" menu.

Registered in ``wagtail_hooks``. Who may use them is decided by the permission policies of
``policies.py`` and the helper in ``access.py`` (docs/permissions.md); none of them registers
permissions in Wagtail's group editor tables: the app's own panel (``groups.py``) does.
"""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail.admin.menu import MenuItem
from wagtail.admin.viewsets.base import ViewSet
from wagtail.admin.viewsets.model import ModelViewSet

from ... import access
from ...adminkit.guards import guarded_urls, record_kwarg, requires, site_kwarg
from ...adminkit.menu import XPM_MENU_HOOK
from ...adminkit.scoped import ScopedIndexMixin, site_filterset
from ...models import FieldMapping, SyncRun
from . import mappings, runs


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
    delete_view_class = mappings.FieldMappingDeleteView
    copy_view_enabled = False
    sort_order_field = "sort_order"
    ordering = "sort_order"
    filterset_class = site_filterset(FieldMapping, (access.MANAGE_CONNECTION,), [])

    def get_form_class(self, for_update: bool = False):
        return mappings.FieldMappingForm

    @guarded_urls(model=FieldMapping, default=(access.MANAGE_CONNECTION,))
    def get_urlpatterns(self):
        return super().get_urlpatterns()

    def get_permissions_to_register(self):
        # Governed by manage_connection; the model's own permissions would mislead.
        return Permission.objects.none()


class SyncRunIndexView(ScopedIndexMixin, runs.SyncRunIndexView):
    """The sync history of the sites where the user may run syncs."""

    scope_codenames = access.SYNC


class SyncRunViewSet(ModelViewSet):
    """The sync history: read-only, newest first, with a detail page per run."""

    model = SyncRun
    name = "wagtail_xpm_syncrun"
    url_prefix = "xpm/sync-history"
    icon = "history"
    menu_label = _("Sync history")
    menu_order = 20
    menu_hook = XPM_MENU_HOOK
    index_view_class = SyncRunIndexView
    inspect_view_class = runs.SyncRunInspectView
    inspect_view_enabled = True
    copy_view_enabled = False
    add_to_reference_index = False
    filterset_class = site_filterset(SyncRun, access.SYNC, ["status", "trigger", "dry_run", "full"])
    list_per_page = 30
    ordering = "-created_at"

    @guarded_urls(model=SyncRun, default=access.SYNC)
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
    """Shown to people who may run syncs (on some site)."""

    def is_shown(self, request) -> bool:
        return access.holds(request.user, access.SYNC)


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
        on_site = requires(access.SYNC, site=site_kwarg())
        return [
            path("", requires(access.SYNC)(runs.sync_sites), name="index"),
            path("<int:site_id>/", on_site(runs.sync_site), name="site"),
            path("<int:site_id>/start/", on_site(runs.start_sync), name="start"),
            path(
                "runs/<int:pk>/progress/",
                requires(access.SYNC, site=record_kwarg(SyncRun))(runs.run_progress),
                name="progress",
            ),
        ]
