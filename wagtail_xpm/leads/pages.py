"""The lead form page: Wagtail's form builder, with submissions delivered to XPM as leads.

Use it as a mixin in front of Wagtail's form page machinery, with your own form field model::

    class ContactFormField(AbstractFormField):
        page = ParentalKey("ContactPage", on_delete=models.CASCADE, related_name="form_fields")

    class ContactPage(LeadFormPageMixin, AbstractEmailForm):
        content_panels = [*AbstractEmailForm.content_panels, *LeadFormPageMixin.lead_panels]

Editors add fields as with any Wagtail form, say which field is the visitor's name, email,
phone, company, message and marketing consent (or leave it to detection by field type and
name), and write the thank-you text. Every submission passes the spam gate, is stored as a
``LeadSubmission`` and is delivered in the background; the visitor never waits for XPM.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.forms.forms import WagtailAdminFormPageForm
from wagtail.contrib.forms.panels import FormSubmissionsPanel
from wagtail.fields import RichTextField

from .. import access, limits
from ..models import LeadSubmission
from . import intake, pagecache
from .blocks import THANKS_PARAM
from .forms import add_autocomplete, protect

ROLE_FIELDS = {
    "name": "name_field",
    "email": "email_field",
    "phone": "phone_field",
    "company": "company_field",
    "message": "message_field",
    "consent": "consent_field",
}
# Words that give a field's role away when the editor did not say (in its name or label).
ROLE_HINTS = {
    "phone": {"phone", "mobile", "telephone", "tel", "cell"},
    "company": {"company", "business", "organisation", "organization", "firm", "trading"},
    "message": {
        "message",
        "enquiry",
        "inquiry",
        "question",
        "questions",
        "comment",
        "comments",
        "help",
        "details",
    },  # fmt: skip
    "name": {"name"},
}
# Form classes built by the form builder, by page type and field definitions (per process).
_FORM_CLASSES: dict[tuple, type] = {}
DEFAULT_THANK_YOU = (
    "<p>Thank you for getting in touch. One of our accountants will contact you shortly.</p>"
)


def detect_roles(fields: list[Any]) -> dict[str, str]:
    """Guess which form-builder field holds each role, from field types, names and labels."""
    roles: dict[str, str] = {}
    used: set[str] = set()

    def take(role: str, field: Any) -> None:
        roles[role] = field.clean_name
        used.add(field.clean_name)

    for field in fields:
        if field.field_type == "email" and "email" not in roles:
            take("email", field)
        elif field.field_type == "checkbox" and "consent" not in roles:
            take("consent", field)
    for role in ("phone", "company", "message", "name"):
        for field in fields:
            if field.clean_name in used or field.field_type not in (
                "singleline",
                "multiline",
                "number",
            ):
                continue
            words = set(re.split(r"[^a-z0-9]+", f"{field.clean_name} {field.label}".lower()))
            if words & ROLE_HINTS[role]:
                take(role, field)
                break
    if "message" not in roles:
        multiline = next(
            (f for f in fields if f.field_type == "multiline" and f.clean_name not in used), None
        )
        if multiline is not None:
            take("message", multiline)
    return roles


class LeadFormPageForm(WagtailAdminFormPageForm):
    """The page editor's form: the role fields offer the page's own form fields; where
    copies of enquiries are emailed is for people who may read enquiries on the site."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.protect_copies()
        try:
            form_fields = list(self.instance.get_form_fields())
        except (AttributeError, ValueError):
            form_fields = []
        options = [(f.clean_name, f"{f.label} ({f.clean_name})") for f in form_fields]
        for name in ROLE_FIELDS.values():
            if name not in self.fields:
                continue
            model_field = self.fields[name]
            current = getattr(self.instance, name, "") or ""
            choices = [("", _("Detect automatically"))] + options
            if current and current not in {value for value, _label in options}:
                choices.append((current, current))
            self.fields[name] = forms.ChoiceField(
                label=model_field.label,
                help_text=model_field.help_text,
                choices=choices,
                required=False,
            )

    def protect_copies(self) -> None:
        """An editor who may not read enquiries cannot send their copies to themselves."""
        field = self.fields.get("to_address")
        if field is None or self.for_user is None:
            return
        page = self.instance
        site = page.get_site() if page.pk else None
        if site is None and getattr(self, "parent_page", None) is not None:
            site = self.parent_page.get_site()
        if access.holds(self.for_user, access.VIEW_ENQUIRY, site or 0):
            return
        field.disabled = True
        field.help_text = _(
            "Copies of enquiries go to this address. Only someone who may view website "
            "enquiries on this site can change it."
        )


class LeadFormPageMixin(models.Model):
    """A form page whose submissions become XPM leads (see the module docstring).

    Put it before Wagtail's ``AbstractForm`` / ``AbstractEmailForm`` in the bases. Extension
    points: :meth:`get_lead_roles`, :meth:`get_lead_form`, :meth:`get_submission_class` and
    :meth:`process_form_submission`.
    """

    intro = RichTextField(_("introduction"), blank=True)
    thank_you_text = RichTextField(
        _("thank-you text"),
        blank=True,
        default=DEFAULT_THANK_YOU,
        help_text=_("Shown to the visitor after they send the form."),
    )
    send_to_xpm = models.BooleanField(
        _("send enquiries to Xero Practice Manager"),
        default=True,
        help_text=_("Off: enquiries from this form are kept on the website only."),
    )
    name_field = models.CharField(_("name field"), max_length=255, blank=True)
    email_field = models.CharField(_("email field"), max_length=255, blank=True)
    phone_field = models.CharField(_("phone field"), max_length=255, blank=True)
    company_field = models.CharField(_("company field"), max_length=255, blank=True)
    message_field = models.CharField(_("message field"), max_length=255, blank=True)
    consent_field = models.CharField(
        _("marketing consent field"),
        max_length=255,
        blank=True,
        help_text=_("A checkbox: ticked means the visitor agreed to receive marketing email."),
    )

    base_form_class = LeadFormPageForm

    lead_panels = [
        MultiFieldPanel(
            [
                FieldPanel("send_to_xpm"),
                FieldPanel("name_field"),
                FieldPanel("email_field"),
                FieldPanel("phone_field"),
                FieldPanel("company_field"),
                FieldPanel("message_field"),
                FieldPanel("consent_field"),
            ],
            heading=_("Website lead"),
            help_text=_(
                "Which form field holds what XPM needs. Fields left on 'Detect automatically' "
                "are recognised by their type and label; save the page to choose new fields."
            ),
        )
    ]
    # A ready-made content tab for a concrete page (add email panels as you wish).
    lead_content_panels = [
        FormSubmissionsPanel(),
        FieldPanel("intro"),
        InlinePanel("form_fields", label=_("Form fields")),
        FieldPanel("thank_you_text"),
        *lead_panels,
    ]

    class Meta:
        abstract = True

    # -- extension points ---------------------------------------------------------------

    def get_form_fields(self):
        # Read once per page object: building the form, the roles and the labels all use
        # them, and the visitor's POST should cost as few queries as possible.
        cached = self.__dict__.get("_lead_form_fields")
        if cached is None:
            cached = self.__dict__["_lead_form_fields"] = list(super().get_form_fields())
        return cached

    def get_submissions_list_view_class(self):
        """Wagtail's Forms screens: the submissions are website enquiries, shown (with the
        enquiry permissions) by Website enquiries."""
        from .admin.formsviews import EnquiriesInsteadOfSubmissions  # admin views load late

        return EnquiriesInsteadOfSubmissions

    def get_submission_class(self) -> type[LeadSubmission]:
        """The outbox model submissions are stored in (a subclass of LeadSubmission)."""
        return LeadSubmission

    def get_submissions(self):
        # Spam is reviewed in the enquiries listing, not in Wagtail's Forms menu.
        return super().get_submissions().exclude(status=LeadSubmission.Status.SPAM)

    def get_lead_roles(self) -> dict[str, str]:
        """Role -> form field name: the editor's choices, the rest detected."""
        fields = list(self.get_form_fields())
        names = {f.clean_name for f in fields}
        roles = detect_roles(fields)
        for role, attribute in ROLE_FIELDS.items():
            chosen = getattr(self, attribute, "")
            if chosen and chosen in names:
                roles[role] = chosen
        return roles

    def get_lead_form(self) -> intake.LeadForm:
        """How intake sees this page's form (title, roles, labels, on/off switch)."""
        return intake.LeadForm(
            page=self,
            title=self.title,
            kind=LeadSubmission.Kind.PAGE,
            send_to_xpm=self.send_to_xpm,
            roles=self.get_lead_roles(),
            labels={f.clean_name: f.label for f in self.get_form_fields()},
        )

    # -- Wagtail's form page hooks --------------------------------------------------------

    #: Reuse the built form class while the page's fields are unchanged (set False when a
    #: ``form_builder`` makes fields that depend on anything else, e.g. choices from the DB).
    cache_form_class = True

    def get_form(self, *args, **kwargs):
        """Wagtail's form, with autofill hints on the name, email, phone and business."""
        return add_autocomplete(super().get_form(*args, **kwargs), self.get_lead_roles())

    def get_form_class(self):
        if not self.cache_form_class:
            return protect(super().get_form_class())
        key = (
            type(self),
            self.form_builder,
            tuple(
                (f.clean_name, f.label, f.field_type, f.required, f.choices, f.default_value)
                + (f.help_text,)
                for f in self.get_form_fields()
            ),
        )
        form_class = _FORM_CLASSES.get(key)
        if form_class is None:
            if len(_FORM_CLASSES) > 256:
                _FORM_CLASSES.clear()
            form_class = _FORM_CLASSES[key] = protect(super().get_form_class())
        return form_class

    def process_form_submission(self, form):
        """Store the submission in the outbox (the spam gate decides its status).

        Email notification (``AbstractEmailForm``'s ``to_address``) is sent for anything that
        is not spam.
        """
        request = getattr(form, "lead_request", None)
        submission = intake.receive(request, form=self.get_lead_form(), data=form.lead_data())
        is_spam = submission is None or submission.status == LeadSubmission.Status.SPAM
        if not is_spam and getattr(self, "to_address", ""):
            self.send_mail(form)
        return submission

    def get_lead_form_action(self) -> str:
        """Where the form posts: the lean endpoint in ``wagtail_xpm.leads.urls``, which
        answers with a redirect to the thank-you page (so a reload never resends), or ""
        (this page's own URL) when those URLs are not installed."""
        if pagecache.has_view_restrictions(self):
            return ""  # private pages: Wagtail's routing applies the restriction
        try:
            return reverse("wagtail_xpm_leads:submit_page", args=[self.pk])
        except NoReverseMatch:
            return ""

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict:
        context = super().get_context(request, *args, **kwargs)
        context["lead_form_action"] = self.get_lead_form_action()
        return context

    def thank_you_url(self, request: HttpRequest | None = None) -> str:
        """This page showing its thank-you text (relative when the visitor is on its site).

        Built from the site root paths already read for the request (no query on the POST).
        """
        parts = self.get_url_parts(request)
        if parts is None or parts[2] is None:
            return f"/?{THANKS_PARAM}=1"
        _site_id, root_url, page_path = parts
        single_site = len({p.site_id for p in self._get_site_root_paths(request)}) == 1
        same_host = request is not None and urlsplit(root_url).netloc == request.get_host()
        base = page_path if single_site or same_host else f"{root_url}{page_path}"
        return f"{base}?{THANKS_PARAM}=1"

    def accept(self, request: HttpRequest, form) -> HttpResponse:
        """Process a submitted form: the thank-you page, or the page with the form's errors."""
        form.lead_request = request
        if form.is_valid():
            self.process_form_submission(form)
            return HttpResponseRedirect(self.thank_you_url(request))
        return self.render_with_form(request, form)

    def render_with_form(self, request: HttpRequest, form) -> HttpResponse:
        context = self.get_context(request)
        context["form"] = form
        return TemplateResponse(request, self.get_template(request), context)

    def serve(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST" and limits.body_too_large(request):
            return limits.too_large_response()
        if request.method == "POST":
            # Posting to the page itself works too (forms rendered by older templates).
            form = self.get_form(request.POST, request.FILES, page=self, user=request.user)
            return self.accept(request, form)
        if request.GET.get(THANKS_PARAM):
            return self.render_landing_page(request, None, *args, **kwargs)
        return self.render_with_form(request, self.get_form(page=self, user=request.user))
