"""Admin viewsets for segments and campaigns (snippets), grouped under one "Campaigns" menu.

Registered in ``wagtail_hooks`` with ``register_snippet(CampaignViewSetGroup)``. Every URL
naming a record or a practice is guarded here (``views/guards.py``): the permission, on that
record's site (docs/permissions.md).
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, HelpPanel, ObjectList
from wagtail.admin.ui.tables import Column, DateColumn, StatusTagColumn
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from . import access, limits
from .adminkit.guards import (
    all_of,
    connection_param,
    guarded_urls,
    member_values_need,
    record_kwarg,
    requires,
    rules_within_limits,
)
from .adminkit.scoped import scoped_chooser_viewset, site_filterset
from .models import Campaign, Contact, Segment
from .views import campaigns, segments

SEGMENTS = access.SEGMENT_PERMISSIONS
CAMPAIGNS = (*access.CAMPAIGN_PERMISSIONS, access.SEND_CAMPAIGN)
# The builder's endpoints that show people (counts by rule, members, explain, the contact
# picker): segment permissions and View contacts, on the practice's site.
SEGMENT_MEMBERS = all_of(
    requires(SEGMENTS, site=connection_param()),
    requires(access.SEE_CONTACTS, site=connection_param()),
    rules_within_limits,
)


class BoundedSegmentForm(segments.SegmentForm):
    """The segment form, with the rule tree's limits checked before anything reads it
    (wagtail_xpm/limits.py)."""

    def clean_definition(self):
        try:
            limits.load_rule_definition(self.cleaned_data.get("definition") or "{}")
        except limits.LimitExceeded as exc:
            raise ValidationError(str(exc)) from None
        return super().clean_definition()


class SegmentViewSet(SnippetViewSet):
    """Saved segments with the visual rule builder, live count, preview and explain."""

    model = Segment
    icon = "group"
    menu_label = _("Segments")
    menu_order = 20
    base_url_path = "xpm/segments"
    admin_url_namespace = "wagtail_xpm_segments"
    edit_view_class = campaigns.SegmentEditView
    create_template_name = "wagtail_xpm/admin/snippet_create.html"
    edit_template_name = "wagtail_xpm/admin/snippet_edit.html"
    list_display = [
        "name",
        Column("rules", label=_("Rules"), accessor=segments.rules_summary),
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
            segments.ConnectionPanel("connection"),
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
            path("builder/fields/", segments.builder_fields, name="builder_fields"),
            path("builder/count/", segments.builder_count, name="builder_count"),
            path("builder/preview/", segments.builder_preview, name="builder_preview"),
            path("builder/explain/", segments.builder_explain, name="builder_explain"),
            path("builder/contacts/", segments.builder_contacts, name="builder_contacts"),
            path("<int:pk>/export.csv", segments.export_members, name="export"),
        ]


class CampaignViewSet(SnippetViewSet):
    """Campaign emails: write, test, send now or later, follow progress."""

    model = Campaign
    icon = "mail"
    menu_label = _("Campaigns")
    menu_order = 10
    base_url_path = "xpm/campaigns"
    admin_url_namespace = "wagtail_xpm_campaigns"
    index_view_class = campaigns.CampaignIndexView
    index_template_name = "wagtail_xpm/admin/campaign_index.html"
    add_view_class = campaigns.CampaignCreateView
    edit_view_class = campaigns.CampaignEditView
    create_template_name = "wagtail_xpm/admin/snippet_create.html"
    edit_template_name = "wagtail_xpm/admin/snippet_edit.html"
    list_display = [
        "name",
        StatusTagColumn(
            "status",
            label=_("Status"),
            accessor="get_status_display",
            primary=lambda c: c.status in ("sent", "sending"),
        ),
        Column("segment", label=_("Send to")),
        Column("sent_count", label=_("Sent")),
        DateColumn("updated_at", label=_("Updated")),
    ]
    filterset_class = site_filterset(Campaign, CAMPAIGNS, ["status"])
    chooser_viewset_class = scoped_chooser_viewset(CAMPAIGNS)
    search_fields = ["name", "subject"]
    search_backend_name = None
    ordering = ["-created_at"]
    edit_handler = ObjectList(
        [
            FieldPanel("name"),
            segments.ConnectionPanel("connection"),
            FieldPanel("segment"),
            FieldPanel("subject"),
            FieldPanel("from_email"),
            FieldPanel("body"),
            HelpPanel(
                _(
                    "Save, then use Send… to send yourself a test, send now or schedule. "
                    "The recipient list is frozen when sending starts."
                )
            ),
        ],
        base_form_class=campaigns.CampaignForm,
    )

    def get_queryset(self, request):
        # The listing shows the campaigns of the user's sites only.
        return access.scope(Campaign.objects.all(), request.user, CAMPAIGNS)

    def get_permissions_to_register(self):
        return Permission.objects.none()  # the group editor's XPM panel (groups.py)

    @guarded_urls(
        model=Campaign,
        default=CAMPAIGNS,
        rules={
            # The frozen recipient list is an export of people.
            "recipients": all_of(
                requires(CAMPAIGNS, site=record_kwarg(Campaign)),
                requires(access.EXPORT_CONTACT, site=record_kwarg(Campaign)),
            ),
            "contact_subscription": requires(access.CHANGE_CONTACT, site=record_kwarg(Contact)),
            "lift_suppression": requires(access.CHANGE_CONTACT, site=record_kwarg(Contact)),
        },
    )
    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("<int:pk>/send/", campaigns.CampaignSendView.as_view(), name="send"),
            path("<int:pk>/progress/", campaigns.campaign_progress, name="progress"),
            path("<int:pk>/recipients.csv", campaigns.recipients_csv, name="recipients"),
            path(
                "contact/<int:pk>/subscription/",
                campaigns.contact_subscription,
                name="contact_subscription",
            ),
            path(
                "contact/<int:pk>/suppression/lift/",
                campaigns.lift_suppression,
                name="lift_suppression",
            ),
        ]


class CampaignViewSetGroup(SnippetViewSetGroup):
    """The "Campaigns" menu: campaigns and the segments they are sent to."""

    items = (CampaignViewSet, SegmentViewSet)
    menu_label = _("Campaigns")
    menu_icon = "mail"
    menu_order = 260
    menu_name = "xpm-campaigns"
