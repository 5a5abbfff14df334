"""The lead form as a StreamField block, for any page.

Add it to a page's StreamField (at the top level, where blocks have ids)::

    body = StreamField([("lead_form", LeadFormBlock()), ...], blank=True)

The block renders the same lead form as the contact page (name, email, phone, company,
message, marketing consent: which optional fields show is the editor's choice) and posts to
``wagtail_xpm.leads.urls`` (``/xpm/leads/<page id>/<block id>/`` on the example site). The
endpoint reads the block's settings from the saved page, never from the visitor's POST.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from .forms import LeadBlockForm

THANKS_PARAM = "enquiry-sent"
DEFAULT_THANK_YOU = (
    "<p>Thank you for getting in touch. One of our accountants will contact you shortly.</p>"
)


def anchor(block_id: str) -> str:
    return f"lead-form-{block_id}"


class LeadFormBlock(blocks.StructBlock):
    """A lead form; submissions go through the same spam gate and outbox as the form page."""

    heading = blocks.CharBlock(required=False, default="Ask us a question")
    intro = blocks.RichTextBlock(required=False, features=["bold", "italic", "link"])
    show_phone = blocks.BooleanBlock(required=False, default=True, label=_("Ask for a phone"))
    show_company = blocks.BooleanBlock(
        required=False, default=False, label=_("Ask for a business name")
    )
    consent_label = blocks.CharBlock(
        required=False,
        default="Send me occasional news and tips by email",
        label=_("Marketing consent checkbox"),
        help_text=_("Leave empty to not ask for marketing consent."),
    )
    button_label = blocks.CharBlock(default="Send")
    thank_you_text = blocks.RichTextBlock(
        default=DEFAULT_THANK_YOU, features=["bold", "italic", "link"]
    )
    send_to_xpm = blocks.BooleanBlock(
        required=False,
        default=True,
        label=_("Send enquiries to Xero Practice Manager"),
        help_text=_("Off: enquiries from this form are kept on the website only."),
    )

    class Meta:
        icon = "form"
        label = _("Lead form")
        template = "wagtail_xpm/leads/block.html"

    def make_form(self, value: Any, *args: Any, **kwargs: Any) -> LeadBlockForm:
        """The block's form configured by its settings (bound when POST data is passed)."""
        return LeadBlockForm(
            *args,
            show_phone=bool(value.get("show_phone")),
            show_company=bool(value.get("show_company")),
            consent_label=value.get("consent_label") or "",
            **kwargs,
        )

    def get_context(self, value: Any, parent_context: dict | None = None) -> dict:
        context = super().get_context(value, parent_context=parent_context)
        parent_context = parent_context or {}
        block_id = parent_context.get("id") or ""
        page = parent_context.get("page") or parent_context.get("self")
        request = parent_context.get("request")
        context["block_id"] = block_id
        context["anchor"] = anchor(block_id) if block_id else "lead-form"
        bound = getattr(request, "xpm_lead_forms", {}).get(block_id) if request else None
        context["form"] = bound or self.make_form(value)
        context["sent"] = bool(request and block_id and request.GET.get(THANKS_PARAM) == block_id)
        page_id = getattr(page, "pk", None)
        context["action"] = (
            reverse("wagtail_xpm_leads:submit", args=[page_id, block_id])
            if page_id and block_id
            else ""
        )
        return context
