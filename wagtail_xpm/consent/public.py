"""The public page of a double opt-in link (docs/privacy.md): GET asks, POST confirms.

Mail scanners and link previews open links in emails; a GET that subscribed would let them
confirm on the person's behalf. So GET only shows a button, and the POST behind it (with
Django's CSRF check, like any form of the site) is the person's confirmation.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from wagtail.models import Site

from ..models import ConsentConfirmation
from . import optin

TEMPLATE = "wagtail_xpm/consent/confirm.html"


@never_cache
@require_http_methods(["GET", "POST"])
def confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    context: dict = {"site_name": _site_name(request, None), "days": optin.MAX_AGE.days}
    try:
        nonce = optin.read_token(token)
    except optin.ExpiredLink:
        context["state"] = "expired"
        return _respond(request, context, status=410)
    except optin.InvalidLink:
        context["state"] = "invalid"
        return _respond(request, context, status=400)
    confirmation = (
        ConsentConfirmation.objects.select_related("connection__site", "page")
        .filter(nonce=nonce)
        .first()
    )
    if confirmation is not None:
        context["site_name"] = _site_name(request, confirmation)
        context["form_page"] = confirmation.page
    if request.method == "POST":
        context["state"] = optin.confirm(nonce, request)
    else:
        context["state"] = optin.pending_state(nonce)
    return _respond(request, context, status=400 if context["state"] == "invalid" else 200)


def _site_name(request: HttpRequest, confirmation: ConsentConfirmation | None) -> str:
    site = (
        confirmation.connection.site if confirmation is not None else Site.find_for_request(request)
    )
    return (site.site_name or site.hostname) if site is not None else ""


def _respond(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    response = render(request, TEMPLATE, context, status=status)
    # The token is in the URL: keep it out of other sites' logs and search engines.
    # "same-origin", not "no-referrer": with no referrer policy at all, browsers send the
    # Confirm button's POST with "Origin: null", which Django's CSRF check refuses
    # (tests/browser/test_consent_in_browser.py).
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
