"""Adding a contact by hand and editing one: the email checks, the fields XPM owns (kept
from syncs once an editor changes them) and the "subscribed" box, which goes through the
one funnel of marketing status (wagtail_xpm/consent/status.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.forms.models import WagtailAdminModelForm
from wagtail.admin.views import generic

from ... import access
from ...adminkit.labels import connection_label
from ...campaigns.unsubscribe import set_subscribed
from ...models import Contact, XpmConnection
from ...models.contacts import email_key

# Fields the sync copies from XPM: an editor's change to one of them is kept (locked).
XPM_OWNED_FIELDS = ("name", "phone", "mobile", "position")


# --- Add and edit --------------------------------------------------------------------------


class ContactFormMixin:
    """Shared checks: a valid email that no other contact of the practice already has.

    The "subscribed" box is not saved with the other fields: a change goes through the one
    funnel of marketing status (wagtail_xpm/consent/status.py: ledger row by this user,
    audit log, XPM opt-out), after the contact is saved.
    """

    instance: Contact
    cleaned_data: dict
    for_user: Any
    # The editor's request, set by the add and edit views: the ledger keeps its IP prefix.
    consent_request: Any = None

    def _save_with_subscription(self, save, commit: bool, stored: bool) -> Contact:
        """Save with ``subscribed`` as ``stored``; then apply the editor's choice."""
        wanted = bool(self.instance.subscribed)
        self.instance.subscribed = stored
        contact = save(commit)
        if wanted == stored:
            return contact
        if commit:
            _set_subscription(contact, wanted, self.for_user, self.consent_request)
        else:
            save_m2m = self.save_m2m

            def save_m2m_then_subscription():
                save_m2m()
                _set_subscription(contact, wanted, self.for_user, self.consent_request)

            self.save_m2m = save_m2m_then_subscription
        return contact

    def _connection(self) -> XpmConnection | None:
        return self.cleaned_data.get("connection") or getattr(self.instance, "connection", None)

    def clean_email(self) -> str:
        email = (self.cleaned_data.get("email") or "").strip()
        if not email:
            return email
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError(_("Enter a valid email address.")) from None
        return email

    def clean(self) -> dict:
        cleaned = super().clean()
        email = cleaned.get("email")
        connection = self._connection() if "connection" not in self.errors else None
        if email and connection is not None:
            taken = (
                Contact.objects.filter(connection=connection, email_key=email_key(email))
                .exclude(pk=self.instance.pk)
                .first()
            )
            if taken is not None:
                self.add_error(
                    "email",
                    _("%(contact)s already has this email address.") % {"contact": taken},
                )
        if not cleaned.get("name") and not email and self.instance.source != Contact.Source.XPM:
            raise ValidationError(_("Give the contact a name or an email address."))
        return cleaned


class ContactCreateForm(ContactFormMixin, WagtailAdminModelForm):
    """A contact added by hand (source "manual"); XPM ids are never typed in."""

    connection = forms.ModelChoiceField(
        queryset=XpmConnection.objects.select_related("site"),
        label=gettext_lazy("Site"),
        empty_label=None,
    )

    class Meta:
        model = Contact
        fields = ["connection", "name", "email", "phone", "mobile", "position", "subscribed"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["connection"]
        # The practices of the sites where the user may add contacts.
        if self.for_user is not None:
            field.queryset = access.scope(field.queryset, self.for_user, access.ADD_CONTACT)
        field.label_from_instance = connection_label
        choices = list(field.queryset)
        if len(choices) == 1:
            self.initial["connection"] = choices[0].pk
            field.widget = forms.HiddenInput()

    def save(self, commit: bool = True) -> Contact:
        self.instance.source = Contact.Source.MANUAL
        # A new contact starts unsubscribed; the box ticked subscribes them as the editor.
        return self._save_with_subscription(super().save, commit, stored=False)


class ContactEditForm(ContactFormMixin, WagtailAdminModelForm):
    """Edit a contact; for XPM contacts the fields an editor changes are kept from syncs."""

    release_locks = forms.BooleanField(
        required=False,
        label=gettext_lazy("Take these fields from XPM again"),
        help_text=gettext_lazy(
            "Your earlier changes to these fields are kept when XPM syncs. Tick to let the next "
            "sync that sees this person overwrite them with XPM's values."
        ),
    )

    class Meta:
        model = Contact
        fields = ["name", "email", "phone", "mobile", "position", "subscribed"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        contact = self.instance
        from_xpm = contact.source == Contact.Source.XPM
        if from_xpm:
            email = self.fields["email"]
            email.disabled = True
            email.help_text = _(
                "Synced from XPM, where duplicates are matched by email: change it in XPM."
            )
            for name in XPM_OWNED_FIELDS:
                self.fields[name].help_text = _(
                    "From XPM. If you change it here, syncs keep your version."
                )
        locked = [n for n in contact.form_locked_fields or [] if n in self.fields]
        if not (from_xpm and locked):
            del self.fields["release_locks"]
        else:
            names = ", ".join(str(self.fields[n].label).lower() for n in locked)
            self.fields["release_locks"].label = _("Take %(fields)s from XPM again") % {
                "fields": names
            }

    def save(self, commit: bool = True) -> Contact:
        contact = self.instance
        if contact.source == Contact.Source.XPM:
            locked = set(contact.form_locked_fields or [])
            if self.cleaned_data.get("release_locks"):
                locked -= set(XPM_OWNED_FIELDS)
            locked |= {n for n in XPM_OWNED_FIELDS if n in self.changed_data}
            contact.form_locked_fields = sorted(locked)
        stored = self.initial.get("subscribed", contact.subscribed)
        return self._save_with_subscription(super().save, commit, stored=bool(stored))


def _set_subscription(contact: Contact, subscribed: bool, user: Any, request: Any) -> None:
    set_subscribed(contact.pk, subscribed, user=user, request=request)
    contact.refresh_from_db(fields=["subscribed", "unsubscribed_at"])


class ConsentRequestMixin:
    """Hands the request to the contact form, for the consent ledger's IP prefix."""

    def get_form(self, form_class=None):
        form = super().get_form(form_class)  # type: ignore[misc]
        form.consent_request = self.request  # type: ignore[attr-defined]
        return form


class ContactCreateView(ConsentRequestMixin, generic.CreateView):
    """Add a contact by hand; it needs a connected site to belong to."""

    def get_initial_form_instance(self):
        return Contact(source=Contact.Source.MANUAL)

    def get(self, request, *args, **kwargs):
        if not access.scope(XpmConnection.objects.all(), request.user, access.ADD_CONTACT).exists():
            messages.warning(
                request,
                _("Contacts belong to a site's practice: connect a site to XPM first."),
            )
            return redirect("wagtail_xpm:status")
        return super().get(request, *args, **kwargs)


class ContactEditView(ConsentRequestMixin, generic.EditView):
    """Edit a contact (the form decides which fields XPM owns)."""

    def get_object(self, queryset=None):
        return get_object_or_404(
            Contact.objects.select_related("connection__site"), pk=self.object_pk
        )
