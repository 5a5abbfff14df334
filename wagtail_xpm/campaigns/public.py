"""The public unsubscribe page: no login, takes effect at once, RFC 8058 one-click POST."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from wagtail.models import Site

from ..models import Contact
from .unsubscribe import InvalidUnsubscribeToken, read_token, unsubscribe

TEMPLATE = "wagtail_xpm/campaigns/unsubscribe.html"


def masked(email: str) -> str:
    """Enough of the address for people to recognise it, not enough to harvest it."""
    local, _, domain = (email or "").partition("@")
    if not domain:
        return ""
    return f"{local[:1]}{'•' * max(2, min(len(local) - 1, 6))}@{domain}"


# Mail clients post the one-click request without any cookie or CSRF token (RFC 8058); the
# signed token in the URL is the only credential, and unsubscribing is all it can do.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks for confirmation; POST (the button, or a mail client's one-click) unsubscribes."""
    context: dict = {"site_name": _site_name(request, None)}
    try:
        wanted = read_token(token)
    except InvalidUnsubscribeToken:
        context["state"] = "invalid"
        return _respond(request, context, status=400)
    if wanted.test:
        context["state"] = "test"
        return _respond(request, context)
    contact = (
        Contact.objects.select_related("connection__site").filter(pk=wanted.contact_id).first()
    )
    if contact is None:
        # Deleted since: there is nobody left to email, which is what they asked for.
        context["state"] = "done"
        return _respond(request, context)
    context.update(site_name=_site_name(request, contact), email=masked(contact.email), token=token)
    if request.method == "POST":
        # A mail client's RFC 8058 one-click POST carries this body; the page's button not.
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        unsubscribe(wanted, one_click=one_click, http_request=request)
        context["state"] = "done"
    else:
        context["state"] = "confirm" if contact.subscribed else "already"
    return _respond(request, context)


def _site_name(request: HttpRequest, contact: Contact | None) -> str:
    site = contact.connection.site if contact is not None else Site.find_for_request(request)
    return (site.site_name or site.hostname) if site is not None else ""


def _respond(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    response = render(request, TEMPLATE, context, status=status)
    # The token is in the URL: keep it out of other sites' logs and search engines.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
