"""A contact's campaign emails from the admin: unsubscribe or resubscribe them (through the one
funnel of marketing status, wagtail_xpm/campaigns/unsubscribe.py), and lift a bounce or complaint
suppression."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from wagtail.permissions import policy_registry

from ...models import Contact
from .. import tracking
from ..unsubscribe import set_subscribed


@require_POST
def lift_suppression(request: HttpRequest, pk: int) -> HttpResponse:
    """Send campaigns to a contact's bounced or complaining address again (an editor knows
    the mailbox works now, or the person asked)."""
    if not policy_registry.get_by_type(Contact).user_has_permission(request.user, "change"):
        raise PermissionDenied
    contact = get_object_or_404(Contact, pk=pk)
    if tracking.lift(contact.email):
        messages.success(
            request,
            _("Campaign emails will be sent to %(email)s again.") % {"email": contact.email},
        )
    return redirect(reverse("wagtail_xpm_contact:inspect", args=[contact.pk]))


@require_POST
def contact_subscription(request: HttpRequest, pk: int) -> HttpResponse:
    """Unsubscribe or resubscribe a contact from the admin (``subscribed=0|1``)."""
    if not policy_registry.get_by_type(Contact).user_has_permission(request.user, "change"):
        raise PermissionDenied
    contact = get_object_or_404(Contact, pk=pk)
    subscribed = request.POST.get("subscribed") == "1"
    if set_subscribed(contact.pk, subscribed, user=request.user, request=request):
        text = _("%(name)s is subscribed again.") if subscribed else _("%(name)s is unsubscribed.")
        messages.success(request, text % {"name": contact})
    back = request.POST.get("next") or request.headers.get("referer", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
        back = reverse("wagtail_xpm_contact:inspect", args=[contact.pk])
    if request.headers.get("accept", "").startswith("application/json"):
        return JsonResponse({"id": contact.pk, "subscribed": subscribed})
    return redirect(back)
