"""A contact's page: its mapped data, linked XPM clients, suppression, consent ledger and
the access request and erasure (``rights/admin.py``); and opening a client in XPM."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from wagtail.admin.views import generic
from wagtail.permissions import policy_registry

from ... import privacy, services
from ...campaigns.tracking import suppression_for
from ...consent import admin as consent_admin
from ...models import Contact, ContactClientLink, EmailSuppression, FieldMapping, PracticeClient
from ...rights import admin as rights_admin
from ...segments.vocabulary import display
from ...wording import explain_xpm_error
from ...xpm.errors import XpmError

# --- Inspect -------------------------------------------------------------------------------


class ContactInspectView(generic.InspectView):
    """A contact with its mapped data (under the mapping labels) and every linked XPM client."""

    template_name = "wagtail_xpm/admin/contact_inspect.html"

    def get_object(self, queryset=None):
        return get_object_or_404(
            Contact.objects.select_related("primary_client", "connection__site"), pk=self.pk
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        contact: Contact = self.object
        # Tax numbers masked without See tax numbers on the contact's site (docs/privacy.md).
        hidden = privacy.hidden_keys(
            contact.connection_id, self.request.user, contact.connection.site_id
        )
        data = privacy.masked_data(contact.data or {}, hidden)
        mapped = []
        for mapping in FieldMapping.objects.filter(connection=contact.connection_id):
            mapped.append(
                {
                    "label": mapping.label,
                    "key": mapping.key,
                    "value": display(data.pop(mapping.key, None), blank=""),
                    "custom": mapping.is_custom,
                }
            )
        # Keys left over from a mapping that was since removed or renamed.
        for key, value in sorted(data.items()):
            mapped.append(
                {"label": key, "key": key, "value": display(value, blank=""), "old": True}
            )
        links = (
            ContactClientLink.objects.filter(contact=contact)
            .select_related("client")
            .order_by("-is_primary", "client__name")
        )
        context["contact"] = contact
        context["suppression"] = suppression_for(contact.email)
        context["can_lift_suppression"] = (
            context["suppression"] is not None
            # An address erased on request is never emailed again (wagtail_xpm/rights).
            and context["suppression"].reason != EmailSuppression.Reason.ERASED
            and policy_registry.get_by_type(Contact).user_has_permission(
                self.request.user, "change"
            )
        )
        context["privacy"] = rights_admin.contact_page(self.request.user, contact)
        context["mapped"] = mapped
        context["links"] = [
            {
                "link": link,
                "client": link.client,
                "is_contacts_primary": link.client_id == contact.primary_client_id,
                "xpm_url": link.client.web_url
                or reverse("wagtail_xpm_contact:open_client", args=[link.client_id]),
            }
            for link in links
        ]
        context["locked"] = [
            str(Contact._meta.get_field(name).verbose_name).capitalize()
            for name in contact.form_locked_fields or []
            if name in {f.name for f in Contact._meta.fields}
        ]
        # The consent ledger panel (wagtail_xpm/consent/admin.py).
        context["consent"] = consent_admin.ledger_context(contact, self.request.user)
        return context


# --- Open a client in XPM ------------------------------------------------------------------


def open_client(request: HttpRequest, client_pk: int) -> HttpResponse:
    """Go to the client in XPM; its web address is looked up once (one API call) if unknown.

    XPM's client list does not carry the client's web address, only ``client.api/get`` does.
    """
    policy = policy_registry.get_by_type(Contact)
    if not policy.user_has_any_permission(request.user, ["view", "change"]):
        raise PermissionDenied
    client = get_object_or_404(PracticeClient.objects.select_related("connection"), pk=client_pk)
    try:
        url = services.client_web_url(client.connection, client.uuid)
    except XpmError as exc:
        messages.error(
            request,
            _("Could not open %(client)s in XPM. %(reason)s")
            % {"client": client, "reason": explain_xpm_error(exc)},
        )
        back = request.headers.get("referer", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
            back = reverse("wagtail_xpm_contact:index")
        return redirect(back)
    if not url:
        messages.warning(
            request, _("XPM did not give a web address for %(client)s.") % {"client": client}
        )
        return redirect("wagtail_xpm_contact:index")
    return redirect(url)
