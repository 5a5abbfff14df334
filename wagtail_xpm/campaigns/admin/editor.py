"""The campaign editor: the form (merge fields checked against the practice's fields), the
listing with its banner for campaigns that stopped sending (and the dashboard's), add and edit;
a campaign no longer editable sends people to its Send page (``sending.py``)."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.shortcuts import redirect
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from wagtail.admin.forms.models import WagtailAdminModelForm
from wagtail.admin.ui.components import Component
from wagtail.admin.widgets.button import HeaderButton
from wagtail.snippets.views.snippets import CreateView, EditView, IndexView

from ... import access
from ...models import Campaign, Segment
from ...segments.admin.forms import PracticeFieldMixin
from ..render import merge_fields, merge_tag, unknown_merge_tags
from .sending import send_page_url

# --- the editor -----------------------------------------------------------------------------


class CampaignForm(PracticeFieldMixin, WagtailAdminModelForm):
    """Content and audience; merge fields are checked against the practice's mappings."""

    class Meta:
        model = Campaign
        fields = ["name", "connection", "segment", "subject", "from_email", "body"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        connection = self.setup_connection_field()
        segments = self.fields["segment"]
        segments.required = True
        if connection is not None:
            segments.queryset = Segment.objects.filter(connection=connection)
        elif self.for_user is not None:
            # Several practices: the segments of the user's sites only.
            segments.queryset = access.scope(
                segments.queryset, self.for_user, access.CAMPAIGN_PERMISSIONS
            )
        segments.help_text = _("Who receives it. Archived and unsubscribed contacts never do.")
        if connection is not None:
            tags = ", ".join(merge_tag(key) for key in merge_fields(connection))
            self.fields["body"].help_text = _(
                "Merge fields: %(tags)s. Add a fallback for blanks: {{ first_name|there }}. "
                "Every email gets an unsubscribe link at the bottom."
            ) % {"tags": tags}
            self.fields["subject"].help_text = _("Merge fields work here too.")

    def clean_from_email(self) -> str:
        value = (self.cleaned_data.get("from_email") or "").strip()
        if value:
            address = parseaddr(value)[1]
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(
                    _('Enter an email address, optionally with a name: "Firm <news@firm.com>".')
                ) from None
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        connection = cleaned.get("connection") or (
            self.instance.connection if self.instance.connection_id else None
        )
        if connection is None:
            return cleaned
        segment = cleaned.get("segment")
        if segment is not None and segment.connection_id != connection.pk:
            self.add_error("segment", _("Choose a segment of this site's practice."))
        fields = merge_fields(connection)
        for name in ("subject", "body"):
            unknown = unknown_merge_tags(cleaned.get(name) or "", fields)
            if unknown:
                self.add_error(
                    name,
                    _("Unknown merge fields: %(tags)s.")
                    % {"tags": ", ".join(merge_tag(key) for key in unknown)},
                )
        return cleaned


def stopped_campaigns(user=None) -> list[Campaign]:
    """Campaigns that stopped on a mail server problem and wait for someone (newest first);
    with ``user``, those of the sites where they may see campaigns."""
    campaigns = Campaign.objects.filter(status=Campaign.Status.PAUSED)
    if user is not None:
        campaigns = access.scope(
            campaigns, user, (*access.CAMPAIGN_PERMISSIONS, access.SEND_CAMPAIGN)
        )
    return list(campaigns.order_by("-updated_at")[:5])


class CampaignIndexView(IndexView):
    """The campaign list, with a banner for campaigns that stopped sending."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not self.results_only:
            context["stopped_campaigns"] = stopped_campaigns(self.request.user)
        return context


class StoppedCampaignsPanel(Component):
    """The dashboard's banner for campaigns that stopped sending (nothing when none did)."""

    name = "xpm_stopped_campaigns"
    template_name = "wagtail_xpm/admin/stopped_campaigns_panel.html"
    order = 50

    def get_context_data(self, parent_context=None):
        request = (parent_context or {}).get("request")
        return {"stopped_campaigns": stopped_campaigns(getattr(request, "user", None))}

    def render_html(self, parent_context=None):
        context = self.get_context_data(parent_context)
        if not context["stopped_campaigns"]:
            return ""
        from django.template.loader import render_to_string

        return render_to_string(self.template_name, context)


class CampaignCreateView(CreateView):
    """After saving a new campaign, carry on to the Send page."""

    def get_success_url(self):
        return send_page_url(self.object)


def not_editable_message(campaign: Campaign) -> str:
    """Why the editor sends people to the Send page, in the campaign's own terms."""
    Status = Campaign.Status
    if campaign.status == Status.SENT:
        return _("This campaign was sent, so it can no longer be changed.")
    if campaign.status in (Status.QUEUED, Status.SENDING):
        return _("This campaign is being sent, so it can no longer be changed.")
    if campaign.status == Status.PAUSED:
        return _(
            "This campaign stopped while sending. Its recipient list is frozen, so it can no "
            "longer be changed; resume or stop it here."
        )
    if campaign.status == Status.CANCELLED:
        return _(
            "This campaign was stopped before everyone was sent it; it can no longer be changed."
        )
    return _("This campaign could not be sent; it can no longer be changed.")


class CampaignEditView(EditView):
    """Editable until sent; afterwards the Send page shows the campaign's report."""

    def dispatch(self, request, *args, **kwargs):
        campaign = Campaign.objects.filter(pk=kwargs.get("pk")).first()
        if campaign is not None and not campaign.is_editable:
            messages.info(request, not_editable_message(campaign))
            return redirect(send_page_url(campaign))
        return super().dispatch(request, *args, **kwargs)

    @cached_property
    def header_buttons(self):
        return [
            *super().header_buttons,
            HeaderButton(_("Send…"), url=send_page_url(self.object), icon_name="mail"),
        ]
