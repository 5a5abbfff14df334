"""The campaigns' admin viewset (a snippet), grouped with the segments' under one "Campaigns"
menu (``CampaignViewSetGroup``, registered in ``wagtail_hooks`` with ``register_snippet``).

Every URL naming a record or a practice is guarded here (``adminkit/guards.py``): the
permission, on that record's site (docs/permissions.md).
"""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, HelpPanel, ObjectList
from wagtail.admin.ui.tables import Column, DateColumn, StatusTagColumn
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from ... import access
from ...adminkit.guards import all_of, guarded_urls, record_kwarg, requires
from ...adminkit.scoped import scoped_chooser_viewset, site_filterset
from ...models import Campaign, Contact
from ...segments.admin.forms import ConnectionPanel
from ...segments.admin.viewsets import SegmentViewSet
from . import editor, sending, subscriptions

CAMPAIGNS = (*access.CAMPAIGN_PERMISSIONS, access.SEND_CAMPAIGN)


class CampaignViewSet(SnippetViewSet):
    """Campaign emails: write, test, send now or later, follow progress."""

    model = Campaign
    icon = "mail"
    menu_label = _("Campaigns")
    menu_order = 10
    base_url_path = "xpm/campaigns"
    admin_url_namespace = "wagtail_xpm_campaigns"
    index_view_class = editor.CampaignIndexView
    index_template_name = "wagtail_xpm/admin/campaign_index.html"
    add_view_class = editor.CampaignCreateView
    edit_view_class = editor.CampaignEditView
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
            ConnectionPanel("connection"),
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
        base_form_class=editor.CampaignForm,
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
            path("<int:pk>/send/", sending.CampaignSendView.as_view(), name="send"),
            path("<int:pk>/progress/", sending.campaign_progress, name="progress"),
            path("<int:pk>/recipients.csv", sending.recipients_csv, name="recipients"),
            path(
                "contact/<int:pk>/subscription/",
                subscriptions.contact_subscription,
                name="contact_subscription",
            ),
            path(
                "contact/<int:pk>/suppression/lift/",
                subscriptions.lift_suppression,
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
