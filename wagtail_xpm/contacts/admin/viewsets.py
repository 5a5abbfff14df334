"""The contacts' admin viewset: listing, add, edit, inspect, the downloads, a person's access
request, erasure and consent ledger.

Registered in ``wagtail_hooks``. Who may use it is decided by the permission policies of
``policies.py`` and the helper in ``access.py`` (docs/permissions.md); it registers no
permissions in Wagtail's group editor tables: the app's own panel (``groups.py``) does.
"""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail.admin.viewsets.model import ModelViewSet

from ... import access
from ...adminkit.guards import all_of, guarded_urls, record_kwarg, requires
from ...consent import admin as consent_admin
from ...models import Contact, PracticeClient
from ...rights import admin as rights_admin
from . import downloads, editing, inspect, listing

CONTACTS = (access.VIEW_CONTACT, access.ADD_CONTACT, access.CHANGE_CONTACT, access.DELETE_CONTACT)


class ContactViewSet(ModelViewSet):
    """The website CRM's contacts (Django model permissions on Contact)."""

    model = Contact
    name = "wagtail_xpm_contact"
    url_prefix = "contacts"
    icon = "group"
    menu_label = _("Contacts")
    menu_order = 250
    add_to_admin_menu = True
    index_view_class = listing.ContactIndexView
    add_view_class = editing.ContactCreateView
    edit_view_class = editing.ContactEditView
    inspect_view_class = inspect.ContactInspectView
    inspect_view_enabled = True
    copy_view_enabled = False
    search_fields = ["name", "email", "client_name"]
    search_backend_name = None
    list_per_page = 50
    ordering = "name"
    export_filename = "contacts"

    def get_form_class(self, for_update: bool = False):
        return editing.ContactEditForm if for_update else editing.ContactCreateForm

    def get_permissions_to_register(self):
        return Permission.objects.none()  # the group editor's XPM panel (groups.py)

    @guarded_urls(
        model=Contact,
        default=CONTACTS,
        rules={
            # A background export: its requester's alone (contacts/admin/downloads.py: 404 for
            # anyone else), and only while they may export contacts.
            "export_progress": requires(access.EXPORT_CONTACT),
            "export_status": requires(access.EXPORT_CONTACT),
            "export_download": requires(access.EXPORT_CONTACT),
            "open_client": requires(
                access.SEE_CONTACTS, site=record_kwarg(PracticeClient, "client_pk")
            ),
            # A person's access request and erasure (docs/privacy.md, docs/permissions.md).
            "access_request": requires(rights_admin.EXPORTERS, site=record_kwarg(Contact)),
            "erase": requires(rights_admin.ERASERS, site=record_kwarg(Contact)),
            # The consent ledger as CSV: seeing and exporting the contact, on its site (another
            # site's contact is a 404, like every other record: docs/permissions.md).
            "consent_ledger": all_of(
                requires(access.SEE_CONTACTS, site=record_kwarg(Contact)),
                requires(access.EXPORT_CONTACT, site=record_kwarg(Contact)),
            ),
        },
    )
    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path(
                "exports/<str:token>/",
                downloads.ExportProgressView.as_view(),
                name="export_progress",
            ),
            path(
                "exports/<str:token>/status/",
                downloads.export_status,
                name="export_status",
            ),
            path(
                "exports/<str:token>/download/",
                downloads.export_download,
                name="export_download",
            ),
            path("xpm-client/<int:client_pk>/", inspect.open_client, name="open_client"),
            path("<int:pk>/access-request/", rights_admin.access_request, name="access_request"),
            path("<int:pk>/erase/", rights_admin.erase, name="erase"),
            path("<int:pk>/consent.csv", consent_admin.ledger_csv, name="consent_ledger"),
        ]
