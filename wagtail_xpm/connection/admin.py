"""Admin views: connection status, Connect to Xero (OAuth), choose practice, check, disconnect."""

from __future__ import annotations

import logging
import secrets

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.models import Site

from .. import access, services
from ..adminkit.guards import check as check_access
from ..adminkit.guards import requires, site_kwarg
from ..conf import get_setting
from ..models import XpmConnection
from ..sync import egress
from ..xpm.errors import XpmError

logger = logging.getLogger(__name__)

MANAGE_PERMISSION = "wagtail_xpm.manage_connection"
manage_required = requires(access.MANAGE_CONNECTION)
manage_site_required = requires(access.MANAGE_CONNECTION, site=site_kwarg())
SESSION_KEY = "wagtail_xpm_oauth"


class ConnectionStatusView(WagtailAdminTemplateMixin, TemplateView):
    """One row per Wagtail site: which practice it is connected to and how healthy that is."""

    template_name = "wagtail_xpm/admin/connection_status.html"
    page_title = _("Xero Practice Manager")
    header_icon = "link"

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        connections = {
            c.site_id: c
            for c in access.scope(
                XpmConnection.objects.select_related("connected_by"), user, access.MANAGE_CONNECTION
            )
        }
        sites = access.allowed_sites(user, access.MANAGE_CONNECTION)
        now = timezone.now()
        context["rows"] = [
            {
                "site": site,
                "connection": connections.get(site.pk),
                # What syncing this site downloaded this month (Xero prices egress).
                "egress": egress.egress_for(connections[site.pk], now=now)
                if site.pk in connections
                else None,
            }
            for site in sites.order_by("-is_default_site", "hostname")
        ]
        # An agency hosting several firms pays for all their downloads together.
        context["total_egress"] = egress.total_egress(connections.values(), now=now)
        context["show_total"] = len(connections) > 1 or context["total_egress"].allowance
        context["api_url"] = get_setting("API_URL")
        context["credentials_configured"] = bool(
            get_setting("CLIENT_ID") and get_setting("CLIENT_SECRET")
        )
        return context


status = manage_required(ConnectionStatusView.as_view())


def _redirect_uri(request: HttpRequest) -> str:
    return get_setting("REDIRECT_URI") or request.build_absolute_uri(
        reverse("wagtail_xpm:oauth_callback")
    )


@require_POST
@manage_site_required
def connect(request: HttpRequest, site_id: int) -> HttpResponse:
    site = get_object_or_404(Site, pk=site_id)
    redirect_uri = _redirect_uri(request)
    try:
        auth = services.begin_connect(redirect_uri)
    except XpmError as exc:
        messages.error(request, str(exc))
        return redirect("wagtail_xpm:status")
    # The verifier and state never leave the server: a forged callback cannot match them.
    request.session[SESSION_KEY] = {
        "state": auth.state,
        "code_verifier": auth.code_verifier,
        "redirect_uri": redirect_uri,
        "site_id": site.pk,
    }
    return redirect(auth.url)


@require_GET
@manage_required
def oauth_callback(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(SESSION_KEY)
    state = request.GET.get("state", "")
    if (
        not isinstance(pending, dict)
        or not isinstance(pending.get("state"), str)
        or not secrets.compare_digest(state.encode(), pending["state"].encode())
    ):
        # Left in place: a forged callback must not cancel the Connect an admin started.
        logger.warning("Rejected an XPM OAuth callback with an unknown state")
        return _callback_error(
            request,
            _(
                "This sign-in response from Xero does not match a Connect started here, so it "
                "was ignored. Start again with Connect to Xero."
            ),
        )
    # The state is single-use: this callback consumes the Connect it belongs to.
    request.session.pop(SESSION_KEY, None)
    check_access(request.user, access.MANAGE_CONNECTION, pending.get("site_id"))
    if request.GET.get("error"):
        messages.warning(
            request,
            _("Xero did not grant access (%(error)s). Nothing was changed.")
            % {"error": request.GET["error"]},
        )
        return redirect("wagtail_xpm:status")
    site = get_object_or_404(Site, pk=pending["site_id"])
    try:
        connection = services.complete_connect(
            site=site,
            code=request.GET.get("code", ""),
            redirect_uri=pending["redirect_uri"],
            code_verifier=pending["code_verifier"],
            user=request.user,
        )
    except XpmError as exc:
        messages.error(request, _("Connecting to Xero failed: %(reason)s") % {"reason": exc})
        return redirect("wagtail_xpm:status")
    if connection.status == XpmConnection.Status.CHOOSE_TENANT:
        messages.info(request, _("Xero gave access to several practices: choose one."))
    else:
        messages.success(
            request,
            _("%(site)s is connected to %(practice)s.")
            % {"site": site, "practice": connection.tenant_name},
        )
    return redirect("wagtail_xpm:status")


def _callback_error(request: HttpRequest, message: str) -> HttpResponse:
    response = TemplateResponse(
        request, "wagtail_xpm/admin/callback_error.html", {"message": message}
    )
    response.status_code = HttpResponseBadRequest.status_code
    return response


@require_POST
@manage_site_required
def choose_tenant(request: HttpRequest, site_id: int) -> HttpResponse:
    connection = get_object_or_404(XpmConnection, site_id=site_id)
    try:
        services.choose_tenant(connection, request.POST.get("tenant_id", ""), user=request.user)
    except XpmError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Using %(practice)s.") % {"practice": connection.tenant_name})
    return redirect("wagtail_xpm:status")


@require_POST
@manage_site_required
def check(request: HttpRequest, site_id: int) -> HttpResponse:
    connection = get_object_or_404(XpmConnection, site_id=site_id)
    result = services.check_connection(connection)
    (messages.success if result.ok else messages.error)(request, result.message)
    return redirect("wagtail_xpm:status")


@require_POST
@manage_site_required
def disconnect(request: HttpRequest, site_id: int) -> HttpResponse:
    connection = get_object_or_404(XpmConnection, site_id=site_id)
    warning = services.disconnect(connection, user=request.user)
    if warning:
        messages.warning(request, warning)
    else:
        messages.success(request, _("Disconnected from Xero Practice Manager."))
    return redirect("wagtail_xpm:status")
