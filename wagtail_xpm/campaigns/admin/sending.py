"""The Send page of a campaign: checks, audience, a test, send now or later; then progress,
counts, who was left out and why, what the email service reported, and the recipients CSV."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import HeaderButton
from wagtail.permissions import policy_registry

from ... import access, audit, privacy
from ...contacts import exports
from ...models import Campaign, CampaignRecipient, Contact, DeliveryEvent
from .. import send
from ..snapshot import audience, excluded_breakdown
from .permissions import campaign_policy, can_send_campaign, can_view_campaigns

logger = logging.getLogger(__name__)

TONES = {
    Campaign.Status.DRAFT: "neutral",
    Campaign.Status.SCHEDULED: "warn",
    Campaign.Status.QUEUED: "warn",
    Campaign.Status.SENDING: "warn",
    Campaign.Status.SENT: "ok",
    Campaign.Status.CANCELLED: "neutral",
    Campaign.Status.FAILED: "error",
    Campaign.Status.PAUSED: "error",
}


def send_page_url(campaign: Campaign) -> str:
    return reverse("wagtail_xpm_campaigns:send", args=[campaign.pk])


# --- the Send page --------------------------------------------------------------------------


class ScheduleForm(forms.Form):
    send_at = forms.DateTimeField(
        label=gettext_lazy("Send at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )


class TestForm(forms.Form):
    """Where a test goes: anywhere for people who may see contacts (it carries a member's
    details), else only to the address of one of the site's staff (an admin account)."""

    to = forms.EmailField(label=gettext_lazy("Send a test to"))

    def __init__(self, *args: Any, may_view_contacts: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.may_view_contacts = may_view_contacts
        self.fields["to"].widget.attrs["autocomplete"] = "email"

    def clean_to(self) -> str:
        address = self.cleaned_data["to"]
        if not self.may_view_contacts and not is_staff_address(address):
            raise ValidationError(
                _(
                    "Send tests to your own address or a colleague's with an admin account: "
                    "this address is not one of the site's staff."
                )
            )
        return address


def _can_view_contacts(user) -> bool:
    return policy_registry.get_by_type(Contact).user_has_any_permission(
        user, ["view", "add", "change"]
    )


def is_staff_address(address: str) -> bool:
    """Whether ``address`` belongs to an active user who can sign in to the admin."""
    from django.contrib.auth import get_user_model

    model = get_user_model()
    field = model.get_email_field_name()
    return any(
        user.is_superuser or user.is_staff or user.has_perm("wagtailadmin.access_admin")
        for user in model.objects.filter(is_active=True, **{f"{field}__iexact": address})
    )


def delivery_reports(campaign: Campaign) -> list[tuple[str, str, int]]:
    """(kind, label, count) of what the ESP reported after sending: bounces, complaints."""
    from django.db.models import Count

    labels = {
        "hard": _("Bounced"),
        "soft": _("Soft bounces (mailbox full, server busy)"),
        "complaint": _("Complained (marked as spam)"),
        "unsubscribe": _("Unsubscribed through the email service"),
    }
    rows = (
        DeliveryEvent.objects.filter(campaign=campaign)
        .order_by()
        .values_list("event_type")
        .annotate(n=Count("pk"))
    )
    return [(kind, str(labels.get(kind, kind)), n) for kind, n in rows]


def progress_payload(campaign: Campaign) -> dict[str, Any]:
    return {
        "status": campaign.status,
        "status_label": str(campaign.get_status_display()),
        "tone": TONES.get(campaign.status, "neutral"),
        "finished": campaign.is_finished,
        "active": campaign.is_active,
        "percent": campaign.percent,
        "message": campaign.message,
        "counts": {
            "total": campaign.recipients_total,
            "to_send": campaign.to_send,
            "sent": campaign.sent_count,
            "failed": campaign.failed_count,
            "excluded": campaign.excluded_count,
            "pending": campaign.pending_count,
        },
    }


class CampaignSendView(WagtailAdminTemplateMixin, TemplateView):
    """Everything about sending one campaign: checks, audience, test, send now or later;
    then progress, counts and who was left out and why."""

    template_name = "wagtail_xpm/admin/campaign_send.html"
    header_icon = "mail"

    def setup(self, request: HttpRequest, *args, **kwargs) -> None:
        super().setup(request, *args, **kwargs)
        self.campaign = get_object_or_404(
            Campaign.objects.select_related("connection__site", "segment", "sent_by"),
            pk=kwargs["pk"],
        )

    def dispatch(self, request, *args, **kwargs):
        if not can_view_campaigns(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return self.campaign.name

    def get_page_subtitle(self):
        return _("Send")

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("wagtail_xpm_campaigns:list"), "label": _("Campaigns")},
            {"url": "", "label": self.campaign.name, "sublabel": _("Send")},
        ]

    @cached_property
    def header_buttons(self):
        if not self.campaign.is_editable:
            return []
        return [
            HeaderButton(
                _("Edit"),
                url=reverse("wagtail_xpm_campaigns:edit", args=[self.campaign.pk]),
                icon_name="edit",
            )
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        campaign = self.campaign
        context.update(
            campaign=campaign,
            can_send=can_send_campaign(self.request.user, campaign),
            problems=send.problems(campaign) if campaign.is_editable else [],
            progress=progress_payload(campaign),
            progress_url=reverse("wagtail_xpm_campaigns:progress", args=[campaign.pk]),
            recipients_csv_url=reverse("wagtail_xpm_campaigns:recipients", args=[campaign.pk]),
            test_form=kwargs.get("test_form")
            or TestForm(
                initial={"to": self.request.user.email},
                may_view_contacts=self.may_view_contacts,
            ),
            may_view_contacts=self.may_view_contacts,
            schedule_form=kwargs.get("schedule_form") or ScheduleForm(),
            now=timezone.localtime(),
        )
        if campaign.is_editable and campaign.segment_id:
            context["audience"] = audience(campaign.segment)
        context.update(self.preview_context())
        if campaign.snapshot_at:
            context["breakdown"] = excluded_breakdown(campaign)
            # Names and addresses: for people who may see contacts (the counts are for all).
            context["left_out"] = (
                list(
                    CampaignRecipient.objects.filter(campaign=campaign)
                    .exclude(reason="")
                    .order_by("pk")[:50]
                )
                if self.may_view_contacts
                else []
            )
            context["unsubscribed_after"] = CampaignRecipient.objects.filter(
                campaign=campaign, unsubscribed_at__isnull=False
            ).count()
            context["reported"] = delivery_reports(campaign)
        return context

    @cached_property
    def may_view_contacts(self) -> bool:
        # On this campaign's site (docs/permissions.md).
        return access.holds(self.request.user, access.SEE_CONTACTS, self.campaign)

    @cached_property
    def hidden_tax_keys(self) -> frozenset[str]:
        """Merge fields holding tax numbers this user may not see (docs/privacy.md)."""
        campaign = self.campaign
        return privacy.hidden_keys(
            campaign.connection_id, self.request.user, campaign.connection.site_id
        )

    def preview_context(self) -> dict[str, Any]:
        """The rendered email: with the first member's details for people who may see
        contacts, else with placeholders."""
        campaign = self.campaign
        if send.problems(campaign) and not (campaign.subject or campaign.body):
            return {}
        member = send.sample_member(campaign) if self.may_view_contacts else None
        try:
            rendered = send.preview(
                campaign, real=self.may_view_contacts, masked=self.hidden_tax_keys
            )
        except Exception:  # noqa: BLE001  (a broken preview must not hide the Send page)
            logger.exception("Could not render the preview of campaign %s", campaign.pk)
            return {}
        return {"preview": rendered, "preview_member": member}

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        campaign = self.campaign
        action = request.POST.get("action", "")
        if action == "test":
            return self._test()
        if not can_send_campaign(request.user, campaign):
            raise PermissionDenied
        try:
            if action == "send":
                send.start(campaign, user=request.user)
                messages.success(
                    request,
                    _("'%(name)s' is queued: it is sent in the background, progress shows here.")
                    % {"name": campaign.name},
                )
            elif action == "schedule":
                form = ScheduleForm(request.POST)
                if not form.is_valid():
                    return self.render_to_response(self.get_context_data(schedule_form=form))
                when = _aware(form.cleaned_data["send_at"])
                send.schedule(campaign, when, user=request.user)
                messages.success(
                    request,
                    _("'%(name)s' will be sent on %(when)s.")
                    % {
                        "name": campaign.name,
                        "when": timezone.localtime(when).strftime("%d %b %Y, %H:%M"),
                    },
                )
            elif action == "unschedule":
                send.unschedule(campaign)
                messages.success(request, _("The schedule was cancelled; it is a draft again."))
            elif action == "cancel" and send.cancel(campaign):
                messages.warning(request, _("Sending was cancelled."))
            elif action == "resume" and send.resume(campaign):
                messages.success(
                    request,
                    _("Sending resumed: the people not sent it yet are being sent it now."),
                )
        except send.CampaignNotReady as exc:
            for problem in exc.problems:
                messages.error(request, problem)
        return redirect(send_page_url(campaign))

    def _test(self) -> HttpResponse:
        request, campaign = self.request, self.campaign
        if not campaign_policy().user_has_any_permission(request.user, ["add", "change"]):
            raise PermissionDenied
        form = TestForm(request.POST, may_view_contacts=self.may_view_contacts)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(test_form=form))
        try:
            send.send_test(
                campaign,
                form.cleaned_data["to"],
                real=self.may_view_contacts,
                masked=self.hidden_tax_keys,
            )
        except send.EmailNotSent as exc:
            messages.error(
                request, _("The test email was not sent. %(reason)s") % {"reason": exc.reason}
            )
        else:
            messages.success(
                request, _("Test email sent to %(to)s.") % {"to": form.cleaned_data["to"]}
            )
        return redirect(send_page_url(campaign))


def _aware(value: datetime) -> datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value


@require_GET
def campaign_progress(request: HttpRequest, pk: int) -> JsonResponse:
    if not can_view_campaigns(request.user):
        raise PermissionDenied
    return JsonResponse(progress_payload(get_object_or_404(Campaign, pk=pk)))


def recipients_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The frozen recipient list with each row's outcome."""
    if not can_view_campaigns(request.user):
        raise PermissionDenied
    campaign = get_object_or_404(Campaign, pk=pk)
    columns = ["email", "name", "status", "reason", "sent_at", "error"]
    statuses = dict(CampaignRecipient.Status.choices)
    reasons = dict(CampaignRecipient.Reason.choices)
    rows = (
        {
            "email": row["email"],
            "name": row["name"],
            "status": str(statuses.get(row["status"], row["status"])),
            "reason": str(reasons.get(row["reason"], row["reason"])),
            "sent_at": row["sent_at"].isoformat() if row["sent_at"] else "",
            "error": row["error"],
        }
        for row in CampaignRecipient.objects.filter(campaign=campaign)
        .order_by("pk")
        .values(*columns)
        .iterator(chunk_size=2000)
    )
    response = StreamingHttpResponse(
        exports.csv_lines(columns, rows), content_type="text/csv; charset=utf-8"
    )
    name = slugify(campaign.name) or f"campaign-{campaign.pk}"
    response["Content-Disposition"] = f'attachment; filename="{name}-recipients.csv"'
    audit.record(
        campaign,
        audit.EXPORT,
        request.user,
        what=_("the recipients of campaign '%(name)s' as CSV") % {"name": campaign.name},
    )
    return response
