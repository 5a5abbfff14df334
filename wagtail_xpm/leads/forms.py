"""Lead forms: the anti-spam fields every lead form carries, and the form block's own form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from ..limits import MAX_PUBLIC_MESSAGE, MAX_PUBLIC_TEXT
from .spam import HONEYPOT_FIELD, PROTECTION_FIELDS, TIMESTAMP_FIELD, form_started_token


class LeadProtectionMixin(forms.Form):
    """Adds the honeypot and the signed "shown at" stamp; they never reach ``lead_data()``.

    The gate in ``spam.check`` reads them from the raw POST: a filled honeypot is not a form
    error (a bot would learn from it), it is a reason to file the submission as spam.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bound_text_lengths()
        self.fields[HONEYPOT_FIELD] = forms.CharField(
            label=_("Leave this field empty"),
            required=False,
            max_length=MAX_PUBLIC_TEXT,
            widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
        )
        self.fields[TIMESTAMP_FIELD] = forms.CharField(
            required=False,
            max_length=MAX_PUBLIC_TEXT,
            widget=forms.HiddenInput,
            initial=form_started_token,
        )

    def bound_text_lengths(self) -> None:
        """Every text field a visitor fills in has a length limit: its own, else
        ``MAX_PUBLIC_MESSAGE`` characters for a text area and ``MAX_PUBLIC_TEXT`` for a line
        (Wagtail's form builder gives none; XPM refuses a description that is too long)."""
        for field in self.fields.values():
            if not isinstance(field, forms.CharField) or field.max_length is not None:
                continue
            limit = (
                MAX_PUBLIC_MESSAGE if isinstance(field.widget, forms.Textarea) else MAX_PUBLIC_TEXT
            )
            field.max_length = limit
            field.validators.append(MaxLengthValidator(limit))
            field.widget.attrs.setdefault("maxlength", str(limit))

    def lead_data(self) -> dict[str, Any]:
        """The visitor's answers, without the protection fields."""
        return {k: v for k, v in self.cleaned_data.items() if k not in PROTECTION_FIELDS}

    def visible_lead_fields(self) -> list[forms.BoundField]:
        return [f for f in self.visible_fields() if f.name not in PROTECTION_FIELDS]

    @property
    def honeypot(self) -> forms.BoundField:
        return self[HONEYPOT_FIELD]

    @property
    def started(self) -> forms.BoundField:
        return self[TIMESTAMP_FIELD]


#: Browser autofill hints by lead role (WHATWG "autofill detail tokens").
AUTOCOMPLETE = {"name": "name", "email": "email", "phone": "tel", "company": "organization"}


def add_autocomplete(form: forms.BaseForm, roles: dict[str, str]) -> forms.BaseForm:
    """Tell browsers which field is the visitor's name, email, phone and business, so they
    can fill them in (``roles`` maps a role to a field name)."""
    for role, token in AUTOCOMPLETE.items():
        field = form.fields.get(roles.get(role) or "")
        if field is not None:
            field.widget.attrs.setdefault("autocomplete", token)
            if role == "phone" and getattr(field.widget, "input_type", "") == "text":
                field.widget.input_type = "tel"
    return form


def protect(form_class: type[forms.BaseForm]) -> type[forms.BaseForm]:
    """``form_class`` with the anti-spam fields (used on Wagtail's form-builder classes)."""
    if issubclass(form_class, LeadProtectionMixin):
        return form_class
    return type(f"Protected{form_class.__name__}", (LeadProtectionMixin, form_class), {})


class LeadBlockForm(LeadProtectionMixin):
    """The form block's fields: name, email, phone, company, message, marketing consent.

    Which optional fields show, and the consent wording, come from the block's settings.
    Field names follow the contact page (docs/contracts.md 4.4): ``name``, ``email``, ``phone``,
    ``company``, ``message``, ``consent``.
    """

    name = forms.CharField(
        label=_("Your name"),
        max_length=255,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    company = forms.CharField(
        label=_("Business name"),
        max_length=255,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    message = forms.CharField(
        label=_("How can we help?"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000
    )
    consent = forms.BooleanField(required=False)

    def __init__(
        self,
        *args: Any,
        show_phone: bool = True,
        show_company: bool = False,
        consent_label: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not show_phone:
            del self.fields["phone"]
        if not show_company:
            del self.fields["company"]
        if consent_label:
            self.fields["consent"].label = consent_label
        else:
            del self.fields["consent"]
