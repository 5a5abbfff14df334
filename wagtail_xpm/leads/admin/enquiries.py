"""Website enquiries in the admin: the listing with its filters and XPM links, an enquiry's
details, retry and mark as spam, and opening its client in XPM (registered in wagtail_hooks)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import django_filters
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.ui.tables import Column, DateColumn, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.models import Site
from wagtail.permissions import policy_registry

from ... import access, services
from ...conf import get_setting
from ...models import LeadSubmission, XpmConnection, XpmSiteSettings
from ...wording import explain_lead_failure
from ...xpm.errors import XpmError
from .. import pipeline
from ..intake import enqueue

Status = LeadSubmission.Status
TONES = {
    Status.SENT: "ok",
    Status.FAILED: "error",
    Status.SPAM: "warn",
    Status.PENDING: "neutral",
    Status.SENDING: "neutral",
    Status.LOCAL: "neutral",
}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Not sent because something a person fixes elsewhere (a lead owner to pick, a connection to
# restore): the enquiry waits and goes by itself once it is fixed. Not a failure.
WAITING_CODES = frozenset(pipeline.SELF_HEALING)
# Reading enquiries is its own capability: retrying or deleting them does not include it.
ENQUIRY_READERS = (access.VIEW_ENQUIRY,)
WAITING = "waiting"


# --- Links to XPM --------------------------------------------------------------------------


def lead_web_url(submission: LeadSubmission) -> str:
    """Where the lead can be seen: LEAD_URL_TEMPLATE, or the sandbox's page for a sandbox."""
    if not submission.xpm_lead_uuid:
        return ""
    template = get_setting("LEAD_URL_TEMPLATE")
    if template:
        return template.format(uuid=submission.xpm_lead_uuid)
    api = urlsplit(get_setting("API_URL") or "")
    if api.hostname in LOOPBACK_HOSTS and api.path.rstrip("/").endswith("/practicemanager/3.1"):
        return f"{api.scheme}://{api.netloc}/_sandbox/"
    return ""


def client_web_url(submission: LeadSubmission) -> str:
    if submission.xpm_client_url:
        return submission.xpm_client_url
    if submission.xpm_client_uuid:
        return reverse("wagtail_xpm_leadsubmission:open_client", args=[submission.pk])
    return ""


def is_waiting(submission: LeadSubmission) -> bool:
    """Waiting for a person to fix something elsewhere (see WAITING_CODES)."""
    return submission.status == Status.FAILED and submission.error_code in WAITING_CODES


def status_label(submission: LeadSubmission) -> str:
    if is_waiting(submission):
        return _("Waiting")
    return str(submission.get_status_display())


def status_tone(submission: LeadSubmission) -> str:
    if is_waiting(submission):
        return "warn"
    if submission.status == Status.PENDING and submission.last_error:
        return "warn"
    return TONES.get(submission.status, "neutral")


def status_detail(submission: LeadSubmission) -> str:
    if submission.status == Status.SPAM:
        return submission.spam_reason
    if submission.status in (Status.FAILED, Status.PENDING):
        return submission.last_error
    if submission.status == Status.LOCAL:
        return _("Sending to XPM is switched off for this form or site.")
    return ""


# --- Listing -------------------------------------------------------------------------------


def status_choices() -> list[tuple[str, str]]:
    """The statuses, with "Waiting" (for a lead owner, a connection) apart from "Failed"."""
    choices: list[tuple[str, str]] = []
    for value, label in Status.choices:
        choices.append((value, label))
        if value == Status.FAILED:
            choices.append((WAITING, gettext_lazy("Waiting")))
    return choices


def filter_status(queryset, name: str, value: str):
    if not value:
        return queryset
    waiting = Q(status=Status.FAILED, error_code__in=WAITING_CODES)
    if value == WAITING:
        return queryset.filter(waiting)
    if value == Status.FAILED:
        return queryset.filter(status=Status.FAILED).exclude(waiting)
    return queryset.filter(status=value)


class LeadSubmissionFilterSet(WagtailFilterSet):
    status = django_filters.ChoiceFilter(
        label=gettext_lazy("Status"),
        choices=status_choices,
        empty_label=gettext_lazy("All"),
        widget=forms.Select,
        method=filter_status,
    )
    submit_time = django_filters.DateFromToRangeFilter(
        label=gettext_lazy("Received"), widget=DateRangePickerWidget
    )

    class Meta:
        model = LeadSubmission
        fields = ["status", "kind", "submit_time"]

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        self.filters["kind"].label = _("Form type")
        user = getattr(request, "user", None)
        sites = list(
            access.allowed_sites(user, access.VIEW_ENQUIRY).order_by("-is_default_site", "hostname")
        )
        if len(sites) > 1:
            self.filters["site"] = django_filters.ChoiceFilter(
                field_name="site_id",
                label=_("Site"),
                choices=[(s.pk, s.site_name or s.hostname) for s in sites],
                empty_label=_("All"),
                widget=forms.Select,
            )


class StatusColumn(Column):
    """The status as a badge, with the reason underneath when there is one."""

    cell_template_name = "wagtail_xpm/leads/admin/cells/status.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["tone"] = status_tone(instance)
        context["label"] = status_label(instance)
        context["detail"] = status_detail(instance)
        return context


class XpmLinksColumn(Column):
    """The XPM client (how it was found) and the lead, linked to XPM where known."""

    cell_template_name = "wagtail_xpm/leads/admin/cells/xpm_links.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["client_url"] = client_web_url(instance)
        context["lead_url"] = lead_web_url(instance)
        return context


class PersonColumn(TitleColumn):
    """Name (linked to the details) with the email underneath."""

    cell_template_name = "wagtail_xpm/leads/admin/cells/person.html"


def sites_missing_owner(user: Any = None) -> list[dict[str, Any]]:
    """Connected sites that send leads but have no lead owner: the listing's warning (only
    the sites whose enquiries ``user`` may see, when given)."""
    warnings = []
    connections = XpmConnection.objects.select_related("site")
    if user is not None:
        connections = access.scope(connections, user, access.VIEW_ENQUIRY)
    for connection in connections:
        site_settings = XpmSiteSettings.for_site(connection.site)
        if not site_settings.leads_enabled or site_settings.lead_owner_uuid:
            continue
        warnings.append(
            {
                "site": connection.site,
                "waiting": pipeline.waiting_for_owner(connection.site_id),
                "settings_url": settings_url(connection.site),
            }
        )
    return warnings


def settings_url(site: Site) -> str:
    return reverse("wagtailsettings:edit", args=["wagtail_xpm", "xpmsitesettings", site.pk])


class LeadSubmissionIndexView(generic.IndexView):
    """Every enquiry, newest first, with its delivery status and links into XPM."""

    template_name = "wagtail_xpm/leads/admin/index.html"
    filterset_class = LeadSubmissionFilterSet

    def get_base_queryset(self):
        # Only the enquiries of the sites where the user may read them.
        queryset = access.scope(super().get_base_queryset(), self.request.user, ENQUIRY_READERS)
        return queryset.select_related("site", "connection")

    @cached_property
    def columns(self):
        return [
            self._get_title_column_class(PersonColumn)(
                "name",
                label=_("From"),
                accessor=lambda s: s.name or s.email or _("(no name)"),
                sort_key="name",
                get_url=lambda s: self.get_inspect_url(s),
            ),
            Column("form_title", label=_("Form"), sort_key="form_title", classname="xpm-nowrap"),
            StatusColumn("status", label=_("Status"), sort_key="status"),
            XpmLinksColumn("xpm_client_name", label=_("In XPM")),
            DateColumn("submit_time", label=_("Received"), sort_key="submit_time"),
        ]

    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        if can_change(self.request.user, instance):
            if instance.status in (Status.FAILED, Status.SPAM, Status.LOCAL, Status.PENDING):
                buttons.append(
                    MenuItem(
                        _("Retry") if instance.status != Status.SPAM else _("Not spam: send"),
                        url=reverse("wagtail_xpm_leadsubmission:retry", args=[instance.pk]),
                        icon_name="resubmit",
                        priority=5,
                    )
                )
            if instance.status in (Status.FAILED, Status.PENDING, Status.LOCAL):
                buttons.append(
                    MenuItem(
                        _("Mark as spam"),
                        url=reverse("wagtail_xpm_leadsubmission:spam", args=[instance.pk]),
                        icon_name="warning",
                        priority=6,
                    )
                )
        return buttons

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["missing_owner"] = sites_missing_owner(self.request.user)
        return context


def can_change(user, submission: LeadSubmission | None = None) -> bool:
    """Retry / Mark as spam: on some site, or on ``submission``'s site."""
    policy = policy_registry.get_by_type(LeadSubmission)
    if submission is None:
        return policy.user_has_permission(user, "change")
    return policy.user_has_permission_for_instance(user, "change", submission)


# --- Details -------------------------------------------------------------------------------


class LeadSubmissionInspectView(generic.InspectView):
    """One enquiry: what the visitor sent, what delivery did, and Retry / Mark as spam."""

    template_name = "wagtail_xpm/leads/admin/inspect.html"

    def get_object(self, queryset=None):
        return get_object_or_404(
            LeadSubmission.objects.select_related("site", "connection", "page", "contact"),
            pk=self.pk,
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        sub: LeadSubmission = self.object
        labels = sub.field_labels or {}
        # The consent answer has a row of its own below (Yes/No), so it is shown once.
        consent_field = (sub.field_roles or {}).get("consent")
        context["submission"] = sub
        context["answers"] = [
            {"label": labels.get(name) or name, "value": pipeline.display_value(value)}
            for name, value in (sub.form_data or {}).items()
            if name != consent_field
        ]
        context["tone"] = status_tone(sub)
        context["status_label"] = status_label(sub)
        context["waiting"] = is_waiting(sub)
        context["detail"] = status_detail(sub)
        context["client_url"] = client_web_url(sub)
        context["lead_url"] = lead_web_url(sub)
        context["owner"] = pipeline.owner_label(sub.connection, sub.owner_uuid)
        context["can_change"] = can_change(self.request.user, sub)
        context["can_retry"] = sub.status in (
            Status.FAILED,
            Status.SPAM,
            Status.LOCAL,
            Status.PENDING,
        )
        context["can_spam"] = sub.status in (Status.FAILED, Status.PENDING, Status.LOCAL)
        context["description"] = pipeline.describe(sub)
        if sub.contact_id:
            context["contact_url"] = reverse("wagtail_xpm_contact:inspect", args=[sub.contact_id])
        if sub.site_id:
            context["missing_owner"] = [
                w for w in sites_missing_owner(self.request.user) if w["site"].pk == sub.site_id
            ]
        return context


# --- Actions -------------------------------------------------------------------------------


class SubmissionActionView(WagtailAdminTemplateMixin, TemplateView):
    """Retry / Mark as spam: GET asks for confirmation (listing menu), POST does it."""

    template_name = "wagtail_xpm/leads/admin/confirm.html"
    action = "retry"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_change(request.user):
            raise PermissionDenied
        self.submission = get_object_or_404(LeadSubmission, pk=kwargs["pk"])
        self.inspect_url = reverse("wagtail_xpm_leadsubmission:inspect", args=[kwargs["pk"]])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self) -> str:
        return _("Retry enquiry") if self.action == "retry" else _("Mark enquiry as spam")

    def get_header_icon(self) -> str:
        return "resubmit" if self.action == "retry" else "warning"

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("wagtail_xpm_leadsubmission:index"), "label": _("Website enquiries")},
            {"url": self.inspect_url, "label": str(self.submission)},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(submission=self.submission, action=self.action, inspect_url=self.inspect_url)
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        submission = self.submission
        if self.action == "retry":
            self.retry(request, submission)
        elif pipeline.mark_spam(
            submission, _("Marked as spam by %(user)s") % {"user": request.user}
        ):
            messages.success(request, _("Marked as spam; it will not be sent to XPM."))
        else:
            messages.warning(
                request, _("Only an enquiry that was not sent yet can be marked as spam.")
            )
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
            back = self.inspect_url
        return redirect(back)

    @staticmethod
    def retry(request: HttpRequest, submission: LeadSubmission) -> None:
        if not pipeline.requeue(submission):
            messages.warning(request, _("This enquiry is being sent or was sent already."))
            return
        enqueue(submission.pk)
        submission.refresh_from_db()
        if submission.status == Status.SENT:
            messages.success(request, _("The enquiry was sent to Xero Practice Manager."))
        elif submission.status == Status.FAILED:
            messages.error(
                request, _("It failed again: %(error)s") % {"error": submission.last_error}
            )
        else:
            messages.success(request, _("The enquiry is queued to be sent."))


retry = SubmissionActionView.as_view(action="retry")
mark_spam = SubmissionActionView.as_view(action="spam")


def open_client(request: HttpRequest, pk: int) -> HttpResponse:
    """Go to the enquiry's client in XPM; its address is looked up once (one API call)."""
    policy = policy_registry.get_by_type(LeadSubmission)
    if not policy.user_has_any_permission(request.user, ["view", "change"]):
        raise PermissionDenied
    submission = get_object_or_404(LeadSubmission.objects.select_related("connection"), pk=pk)
    inspect_url = reverse("wagtail_xpm_leadsubmission:inspect", args=[pk])
    if submission.xpm_client_url:
        return redirect(submission.xpm_client_url)
    if not submission.xpm_client_uuid or submission.connection is None:
        messages.warning(request, _("This enquiry is not attached to an XPM client yet."))
        return redirect(inspect_url)
    try:
        url = services.client_web_url(submission.connection, submission.xpm_client_uuid)
    except XpmError as exc:
        messages.error(request, explain_lead_failure(exc))
        return redirect(inspect_url)
    if not url:
        messages.warning(request, _("XPM did not give a web address for this client."))
        return redirect(inspect_url)
    LeadSubmission.objects.filter(xpm_client_uuid=submission.xpm_client_uuid).update(
        xpm_client_url=url
    )
    return redirect(url)
