"""A person's access request and erasure, from their contact page (docs/privacy.md).

* ``access_request``: everything the website holds about the contact as one JSON file
  (``rights/document.py``); needs Export contacts on the contact's site; logged
  (``audit.ACCESS_REQUEST``); tax numbers masked without See tax numbers on that site.
* ``EraseView``: GET shows what will be erased and what will remain, the POST (CSRF, the
  confirmation form) erases (``rights/erasure.py``); needs Edit contacts (its
  ``delete_contact`` permission) on the contact's site.

The URLs are guarded in ``contacts/admin/viewsets.py`` (``requires(...)`` on the contact's
site: 403 without the permission anywhere, 404 for another site's contact); the views check
again, so they stay safe wherever they are mounted.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from .. import access, audit, privacy
from ..adminkit.guards import check
from ..models import Contact
from . import document, erasure

ERASERS = (access.DELETE_CONTACT,)
EXPORTERS = (access.EXPORT_CONTACT,)


def _contact(pk: int) -> Contact:
    return get_object_or_404(
        Contact.objects.select_related("connection__site", "primary_client"), pk=pk
    )


def contact_page(user, contact: Contact) -> dict:
    """The contact page's "Privacy" card: the download and erase links the user may use,
    and, for those who may erase, what an erasure would erase and leave."""
    may_export = access.holds(user, EXPORTERS, contact)
    may_erase = access.holds(user, ERASERS, contact)
    return {
        "access_request_url": (
            reverse("wagtail_xpm_contact:access_request", args=[contact.pk]) if may_export else ""
        ),
        "erase_url": reverse("wagtail_xpm_contact:erase", args=[contact.pk]) if may_erase else "",
        "plan": erasure.plan(contact) if may_erase else None,
        "tax_numbers_masked": bool(
            privacy.hidden_keys(contact.connection_id, user, contact.connection.site_id)
            & set(contact.data or {})
        ),
    }


def access_request(request: HttpRequest, pk: int) -> HttpResponse:
    """Download everything held about the contact (one JSON document)."""
    contact = _contact(pk)
    check(request.user, EXPORTERS, contact)
    site = contact.connection.site_id
    hidden = privacy.hidden_keys(contact.connection_id, request.user, site)
    body = document.build(contact, hidden=hidden, by=request.user.get_username())
    audit.record(
        contact,
        audit.ACCESS_REQUEST,
        request.user,
        what=erasure.contact_label(contact.pk),
        title=erasure.contact_label(contact.pk),
        tax_numbers_masked=bool(hidden),
    )
    response = HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    stamp = timezone.now().strftime("%Y-%m-%d")
    response["Content-Disposition"] = (
        f'attachment; filename="access-request-contact-{contact.pk}-{stamp}.json"'
    )
    response["Cache-Control"] = "no-store"
    return response


class EraseView(WagtailAdminTemplateMixin, TemplateView):
    """The confirmation page (GET) and the erasure (POST)."""

    template_name = "wagtail_xpm/admin/contact_erase.html"
    page_title = gettext_lazy("Erase on request")
    header_icon = "bin"

    def dispatch(self, request, *args, **kwargs):
        self.contact = _contact(kwargs["pk"])
        check(request.user, ERASERS, self.contact)
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return str(self.contact)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("wagtail_xpm_contact:index"), "label": _("Contacts")},
            {
                "url": reverse("wagtail_xpm_contact:inspect", args=[self.contact.pk]),
                "label": str(self.contact),
            },
            {"url": "", "label": self.page_title},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["contact"] = self.contact
        context["plan"] = erasure.plan(self.contact)
        return context

    def post(self, request, *args, **kwargs):
        if request.POST.get("confirm") != "erase":
            return redirect(reverse("wagtail_xpm_contact:erase", args=[self.contact.pk]))
        result = erasure.erase(self.contact, user=request.user)
        if result.contact_deleted:
            messages.success(
                request,
                _(
                    "%(contact)s was erased: nothing about them is left on the website but the "
                    "proof that their address must not be emailed."
                )
                % {"contact": erasure.contact_label(result.contact_id)},
            )
            return redirect("wagtail_xpm_contact:index")
        messages.warning(
            request,
            _(
                "The website's own data about this person was erased. XPM still holds them as "
                "a contact of %(clients)s: erase them in XPM, then erase again here after the "
                "next sync."
            )
            % {"clients": ", ".join(result.xpm_clients)},
        )
        return redirect("wagtail_xpm_contact:inspect", self.contact.pk)


erase = EraseView.as_view()
