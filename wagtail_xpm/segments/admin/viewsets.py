"""The segments' admin viewset (a snippet, in the "Campaigns" menu group of
``campaigns/admin/viewsets.py``): the form with the rule builder and its endpoints.

Every URL naming a record or a practice is guarded here (``adminkit/guards.py``): the
permission, on that record's site (docs/permissions.md).
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import Permission
from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.snippets.views.snippets import SnippetViewSet

from ... import access
from ...adminkit.guards import (
    all_of,
    connection_param,
    guarded_urls,
    member_values_need,
    record_kwarg,
    requires,
    rules_within_limits,
)
from ...adminkit.scoped import scoped_chooser_viewset, site_filterset
from ...models import Segment
from . import views
from .forms import BoundedSegmentForm, ConnectionPanel

SEGMENTS = access.SEGMENT_PERMISSIONS
# The builder's endpoints that show people (counts by rule, members, explain, the contact
# picker): segment permissions and View contacts, on the practice's site.
SEGMENT_MEMBERS = all_of(
    requires(SEGMENTS, site=connection_param()),
    requires(access.SEE_CONTACTS, site=connection_param()),
    rules_within_limits,
)


class SegmentViewSet(SnippetViewSet):
    """Saved segments with the visual rule builder, live count, preview and explain."""

    model = Segment
    icon = "group"
    menu_label = _("Segments")
    menu_order = 20
    base_url_path = "xpm/segments"
    admin_url_namespace = "wagtail_xpm_segments"
    edit_view_class = views.SegmentEditView
    create_template_name = "wagtail_xpm/admin/snippet_create.html"
    edit_template_name = "wagtail_xpm/admin/snippet_edit.html"
    list_display = [
        "name",
        Column("rules", label=_("Rules"), accessor=views.rules_summary),
        Column("client_scope", label=_("Checks"), accessor="get_client_scope_display"),
        DateColumn("updated_at", label=_("Updated")),
    ]
    filterset_class = site_filterset(Segment, SEGMENTS, ["client_scope"])
    chooser_viewset_class = scoped_chooser_viewset(SEGMENTS)
    search_fields = ["name", "description"]
    search_backend_name = None
    ordering = ["name"]
    edit_handler = ObjectList(
        [
            FieldPanel("name"),
            FieldPanel("description", widget=forms.Textarea(attrs={"rows": 2})),
            ConnectionPanel("connection"),
            FieldPanel("client_scope", widget=forms.RadioSelect),
            FieldPanel("definition"),
        ],
        base_form_class=BoundedSegmentForm,
    )

    def get_queryset(self, request):
        # The listing shows the segments of the user's sites only.
        return access.scope(Segment.objects.all(), request.user, SEGMENTS)

    def get_permissions_to_register(self):
        return Permission.objects.none()  # the group editor's XPM panel (groups.py)

    @guarded_urls(
        model=Segment,
        default=SEGMENTS,
        rules={
            "builder_fields": all_of(
                requires(SEGMENTS, site=connection_param()),
                member_values_need(access.SEE_CONTACTS, site=connection_param()),
                rules_within_limits,
            ),
            "builder_count": SEGMENT_MEMBERS,
            "builder_preview": SEGMENT_MEMBERS,
            "builder_explain": SEGMENT_MEMBERS,
            "builder_contacts": SEGMENT_MEMBERS,
            "export": all_of(
                requires(SEGMENTS, site=record_kwarg(Segment)),
                requires(access.EXPORT_CONTACT, site=record_kwarg(Segment)),
            ),
        },
    )
    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("builder/fields/", views.builder_fields, name="builder_fields"),
            path("builder/count/", views.builder_count, name="builder_count"),
            path("builder/preview/", views.builder_preview, name="builder_preview"),
            path("builder/explain/", views.builder_explain, name="builder_explain"),
            path("builder/contacts/", views.builder_contacts, name="builder_contacts"),
            path("<int:pk>/export.csv", views.export_members, name="export"),
        ]
