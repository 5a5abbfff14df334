"""Admin views for the website CRM contacts: listing (search, filters, CSV), inspect, edit."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db.models import QuerySet
from django.db.models.fields.json import KeyTransform
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.forms.models import WagtailAdminModelForm
from wagtail.admin.ui.tables import BooleanColumn, Column, StatusFlagColumn, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.widgets import BooleanRadioSelect
from wagtail.admin.widgets.button import HeaderButton
from wagtail.permissions import policy_registry

from .. import access, exports, fieldvalues, privacy, services
from ..campaigns.tracking import suppression_for
from ..campaigns.unsubscribe import set_subscribed
from ..consent import admin as consent_admin
from ..models import (
    Contact,
    ContactClientLink,
    EmailSuppression,
    FieldMapping,
    PracticeClient,
    XpmConnection,
)
from ..models.contacts import email_key
from ..segments.jsonsql import JsonText
from ..segments.vocabulary import display
from ..wording import explain_xpm_error
from ..xpm.errors import XpmError
from . import contact_exports
from . import privacy as privacy_views

logger = logging.getLogger(__name__)

# Beyond this many distinct values a dropdown stops helping; a "contains" box is offered.
MAX_FILTER_CHOICES = 60
# Fields the sync copies from XPM: an editor's change to one of them is kept (locked).
XPM_OWNED_FIELDS = ("name", "phone", "mobile", "position")
# Whoever may list contacts (Wagtail's index asks for any of these).
CONTACT_READERS = (
    access.VIEW_CONTACT,
    access.ADD_CONTACT,
    access.CHANGE_CONTACT,
    access.DELETE_CONTACT,
)


def connection_label(connection: XpmConnection) -> str:
    site = connection.site
    site_name = site.site_name or site.hostname
    return f"{site_name} · {connection.tenant_name}" if connection.tenant_name else site_name


# --- Filters -------------------------------------------------------------------------------


def _ordered(values: list[str], known: Iterable[str]) -> list[str]:
    """Values in the mapping's own order when it has one (months in calendar order)."""
    order = {str(v): index for index, v in enumerate(known or ())}
    return sorted(values, key=lambda v: (order.get(v, len(order)), v.casefold()))


# The mapped key is read with explicit transforms, never spelled into a lookup string: a
# key named like a lookup ("contains", "isnull") or holding "__" is still just a key.
KEY_ALIAS = "_xpm_key"


def _key_text(queryset: QuerySet, key: str) -> QuerySet:
    # The same lookups as ``data__<key>__...``, with the key taken literally.
    return queryset.alias(**{KEY_ALIAS: KeyTransform(key, "data")})


def _filter_text_equals(key: str, value_type: str):
    def apply(queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return queryset
        if value_type == FieldMapping.ValueType.LIST:
            # Lists are stored as JSON arrays: match one quoted item.
            return _key_text(queryset, key).filter(**{f"{KEY_ALIAS}__icontains": json.dumps(value)})
        if value_type == FieldMapping.ValueType.NUMBER:
            try:
                number = float(value)
            except ValueError:
                return queryset.none()
            return _key_text(queryset, key).filter(
                **{f"{KEY_ALIAS}__exact": int(number) if number.is_integer() else number}
            )
        # One JSON_EXTRACT (->> on PostgreSQL) per row: a third of the JSON work of Django's
        # JSON exact lookup, which the listing's count pays on every row of the practice.
        return queryset.alias(**{KEY_ALIAS: JsonText("data", key)}).filter(
            **{f"{KEY_ALIAS}__exact": value}
        )

    return apply


def _filter_text_contains(key: str):
    def apply(queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return queryset
        return _key_text(queryset, key).filter(**{f"{KEY_ALIAS}__icontains": value})

    return apply


def _filter_boolean(key: str):
    def apply(queryset: QuerySet, name: str, value) -> QuerySet:
        if value is None:
            return queryset
        return _key_text(queryset, key).filter(**{f"{KEY_ALIAS}__exact": value})

    return apply


def mapped_field_filter(mapping: FieldMapping, values: list[str]) -> django_filters.Filter:
    """A filter on one mapped key of ``Contact.data`` (``?data__account_manager=John Smith``),
    offering ``values`` (those synced for the contacts the user may see)."""
    key, label = mapping.key, mapping.label
    if mapping.value_type == FieldMapping.ValueType.BOOLEAN:
        return django_filters.BooleanFilter(
            method=_filter_boolean(key), label=label, widget=BooleanRadioSelect
        )
    if len(values) > MAX_FILTER_CHOICES:
        return django_filters.CharFilter(
            label=_("%(label)s contains") % {"label": label}, method=_filter_text_contains(key)
        )
    return django_filters.ChoiceFilter(
        label=label,
        choices=[(v, v) for v in _ordered(values, mapping.choices)],
        method=_filter_text_equals(key, mapping.value_type),
        empty_label=_("All"),
        widget=forms.Select,
    )


def mappings_by_key(
    connections: Iterable[XpmConnection] | None = None,
) -> dict[str, list[FieldMapping]]:
    """The mappings of ``connections`` (all when None) grouped by key, in editor order: one
    filter per key, offering the values of every practice that maps it (one query)."""
    mappings = FieldMapping.objects.order_by("sort_order", "pk")
    if connections is not None:
        mappings = mappings.filter(connection__in=list(connections))
    grouped: dict[str, list[FieldMapping]] = {}
    for mapping in mappings:
        grouped.setdefault(mapping.key, []).append(mapping)
    return grouped


def mapped_fields(connections: Iterable[XpmConnection] | None = None) -> list[FieldMapping]:
    """One mapping per key (several connections may map the same key), in editor order;
    only those of ``connections`` when given."""
    return [group[0] for group in mappings_by_key(connections).values()]


class ContactFilterSet(WagtailFilterSet):
    """Built-in filters plus one per mapped field, whose choices are the values synced.

    The values are those kept on the mappings (wagtail_xpm/fieldvalues.py), so building the
    filters costs two queries whatever the number of mapped fields."""

    class Meta:
        model = Contact
        fields = ["source", "subscribed", "is_archived", "is_prospect"]

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        self.filters["is_archived"].label = _("Archived")
        self.filters["is_prospect"].label = _("Prospect")
        # Only the sites, mappings and values of the practices the user may see.
        user = getattr(request, "user", None)
        connections = list(
            access.scope(XpmConnection.objects.select_related("site"), user, CONTACT_READERS)
        )
        if len(connections) > 1:
            self.filters["connection"] = django_filters.ChoiceFilter(
                field_name="connection_id",
                label=_("Site"),
                choices=[(c.pk, connection_label(c)) for c in connections],
                empty_label=_("All"),
                widget=forms.Select,
            )
        sites = {c.pk: c.site_id for c in connections}
        for key, group in mappings_by_key(connections).items():
            mapping = group[0]
            if any(
                privacy.is_tax_mapping(m.source, m.label)
                and not privacy.can_see_tax_numbers(user, sites[m.connection_id])
                for m in group
            ):
                # A dropdown would list the tax numbers and a "contains" box would let
                # someone find one digit by digit (docs/privacy.md, "Tax numbers").
                continue
            values = [] if mapping.value_type == FieldMapping.ValueType.BOOLEAN else (
                fieldvalues.contact_values(group)
            )  # fmt: skip
            self.filters[f"data__{key}"] = mapped_field_filter(mapping, values)


# --- Listing -------------------------------------------------------------------------------


class XpmClientColumn(Column):
    """The contact's primary XPM client, linked to the client in XPM."""

    cell_template_name = "wagtail_xpm/admin/cells/xpm_client.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        client = instance.primary_client
        context["client"] = client
        if client is not None:
            context["xpm_url"] = client.web_url or reverse(
                "wagtail_xpm_contact:open_client", args=[client.pk]
            )
        return context


class ContactIndexView(generic.IndexView):
    """Contacts with search, filters on mapped fields and a CSV of exactly what is listed.

    Listed: the contacts of the sites where the user may see contacts. Downloaded (CSV,
    XLSX): only with Export contacts, and only those sites' contacts."""

    template_name = "wagtail_xpm/admin/index.html"
    export_filename = "contacts"
    filterset_class = ContactFilterSet
    # Non-empty so Wagtail offers the download buttons; the real columns are export_columns.
    list_export = list(exports.BASE_COLUMNS)

    def get(self, request, *args, **kwargs):
        if self.is_export:
            # Straight from the filtered queryset, never Wagtail's export path (which builds
            # the whole listing in memory first): views/contact_exports.py.
            return contact_exports.respond(self)
        if not self.results_only:  # not on every filter change (the results fragment)
            contact_exports.announce_finished(request)
        return super().get(request, *args, **kwargs)

    def get_base_queryset(self):
        queryset = access.scope(super().get_base_queryset(), self.request.user, CONTACT_READERS)
        if self.is_export:
            queryset = access.scope(queryset, self.request.user, access.EXPORT_CONTACT)
        return queryset.select_related("primary_client", "connection__site")

    @cached_property
    def show_export_buttons(self):
        return access.holds(self.request.user, access.EXPORT_CONTACT)

    def paginate_queryset(self, queryset, page_size):
        """The page's ids first (read off the (name, id) index alone), then those rows with
        their joins: a deep page (page 1,000 is 50,000 rows in) no longer builds 50,000
        joined rows only to skip them (docs/benchmarks.md, "Admin at scale")."""
        paginator, page, ids, is_paginated = super().paginate_queryset(
            queryset.values_list("pk", flat=True), page_size
        )
        ids = list(ids)
        rows = queryset.in_bulk(ids)
        page.object_list = [rows[pk] for pk in ids if pk in rows]
        return paginator, page, page.object_list, is_paginated

    @cached_property
    def columns(self):
        title_class = self._get_title_column_class(TitleColumn)
        return [
            title_class(
                "name",
                label=_("Name"),
                accessor=str,
                sort_key="name",
                get_url=lambda c: self.get_inspect_url(c) or self.get_edit_url(c),
            ),
            Column("email", label=_("Email"), sort_key="email"),
            XpmClientColumn("client_name", label=_("XPM client"), sort_key="client_name"),
            Column("source", label=_("Source"), accessor="get_source_display", sort_key="source"),
            BooleanColumn("subscribed", label=_("Subscribed"), sort_key="subscribed"),
            StatusFlagColumn(
                "is_archived", label=_("Archived"), true_label=_("Archived"), sort_key="is_archived"
            ),
        ]

    @cached_property
    def header_buttons(self):
        buttons = super().header_buttons
        if not self.show_export_buttons:
            return buttons
        return [
            *buttons,
            HeaderButton(_("Download CSV"), url=self.csv_export_url, icon_name="download"),
        ]

    @cached_property
    def header_more_buttons(self):
        # The CSV is a header button of its own; keep XLSX in the menu.
        return [b for b in super().header_more_buttons if b.url != self.csv_export_url]

    # Export (the documented columns, docs/contracts.md 4.2): views/contact_exports.py.


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
        context["privacy"] = privacy_views.contact_page(self.request.user, contact)
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
