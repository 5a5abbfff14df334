"""The field mapping editor: which XPM client fields and custom fields become contact fields."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django import forms
from django.contrib import messages as django_messages
from django.core.exceptions import ValidationError
from django.db.models import Max, QuerySet
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin import messages
from wagtail.admin.forms.models import WagtailAdminModelForm
from wagtail.admin.ui.tables import Column, TitleColumn
from wagtail.admin.views import generic

from ... import access, audit, services
from ...adminkit.labels import connection_label
from ...models import FieldMapping, PracticeCustomField, XpmConnection
from ...segments.catalogue import is_staff_source
from ...wording import explain_xpm_error
from ...xpm.errors import XpmError
from ..mapping import CUSTOM_PREFIX, STANDARD_FIELDS, custom_value_type, default_key

logger = logging.getLogger(__name__)

VALUE_TYPE_NOTES = {
    "month": gettext_lazy("month name (6 becomes June)"),
    "boolean": gettext_lazy("Yes/No"),
    "date": gettext_lazy("date"),
    "number": gettext_lazy("number"),
    "choice": gettext_lazy("choice"),
    "list": gettext_lazy("list"),
    "text": gettext_lazy("text"),
}


@dataclass(frozen=True)
class SourceOption:
    """One XPM field the editor offers, with what mapping it would produce."""

    value: str
    label: str
    default_label: str
    value_type: str
    choices: tuple[str, ...]
    is_custom: bool

    def as_json(self) -> dict:
        return {
            "label": self.default_label,
            "key": default_key(self.default_label),
            "value_type": self.value_type,
            "type_note": str(VALUE_TYPE_NOTES.get(self.value_type, self.value_type)),
            "choices": list(self.choices),
            "custom": self.is_custom,
        }


def _type_text(value_type: str, source: str) -> str:
    if is_staff_source(source):
        return _("staff name")
    return str(VALUE_TYPE_NOTES.get(value_type, value_type))


def source_options(definitions: list[PracticeCustomField]) -> dict[str, SourceOption]:
    """Standard XPM client fields, then the practice's client custom fields."""
    options: dict[str, SourceOption] = {}
    for field in STANDARD_FIELDS:
        options[field.source] = SourceOption(
            value=field.source,
            label=f"{field.label} ({_type_text(field.value_type, field.source)})",
            default_label=field.label,
            value_type=field.value_type,
            choices=tuple(field.choices),
            is_custom=False,
        )
    for definition in definitions:
        # Contact-only custom fields have no value on the client record the sync reads.
        if definition.use_contact and not definition.use_client:
            continue
        value_type = custom_value_type(
            {"value_element": definition.value_element, "options": definition.options}
        )
        source = f"{CUSTOM_PREFIX}{definition.name}"
        kind = definition.type or definition.value_element or _("custom field")
        options[source] = SourceOption(
            value=source,
            label=f"{source} ({kind}: {_type_text(value_type, source)})",
            default_label=definition.name,
            value_type=value_type,
            choices=tuple(str(o) for o in definition.options),
            is_custom=True,
        )
    return options


class FieldMappingForm(WagtailAdminModelForm):
    """Pick an XPM field; the key, label, type and choices follow from it."""

    source = forms.ChoiceField(label=gettext_lazy("XPM field"))

    class Meta:
        model = FieldMapping
        fields = ["source", "label", "key"]

    def __init__(
        self,
        *args,
        connection: XpmConnection,
        definitions: list[PracticeCustomField],
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.connection = connection
        self.instance.connection = connection
        self.options = source_options(definitions)
        current = self.instance.source
        if current and current not in self.options:
            # An imported "custom:<uuid>" or a field XPM no longer offers: keep it choosable.
            self.options[current] = SourceOption(
                value=current,
                label=_("%(source)s (as saved)") % {"source": current},
                default_label=self.instance.label or current,
                value_type=self.instance.value_type,
                choices=tuple(self.instance.choices or ()),
                is_custom=current.startswith(CUSTOM_PREFIX),
            )
        taken = set(
            FieldMapping.objects.filter(connection=connection)
            .exclude(pk=self.instance.pk)
            .values_list("source", flat=True)
        )
        free = [o for o in self.options.values() if o.value not in taken]
        self.fields["source"].choices = [
            ("", "---------"),
            (_("XPM client fields"), [(o.value, o.label) for o in free if not o.is_custom]),
            (
                _("Custom fields (one extra API call per changed client)"),
                [(o.value, o.label) for o in free if o.is_custom],
            ),
        ]
        self.fields["label"].required = False
        self.fields["label"].help_text = _(
            "What editors see, e.g. in filters and segments. Left blank: the XPM field's name."
        )
        self.fields["key"].required = False
        self.fields["key"].help_text = _(
            "The name used in exports, segments and the config file. Left blank: made from "
            "the label (Account Manager becomes account_manager)."
        )
        self.fields["key"].widget.attrs["data-xpm-mapping-key"] = ""
        self.fields["label"].widget.attrs["data-xpm-mapping-label"] = ""
        self.fields["source"].widget.attrs["data-xpm-mapping-source"] = ""

    def options_json(self) -> dict:
        return {value: option.as_json() for value, option in self.options.items()}

    def clean(self) -> dict:
        cleaned = super().clean()
        option = self.options.get(cleaned.get("source") or "")
        if option is None:
            return cleaned
        label = (cleaned.get("label") or "").strip() or option.default_label
        key = (cleaned.get("key") or "").strip() or default_key(label)
        cleaned["label"], cleaned["key"] = label, key
        others = FieldMapping.objects.filter(connection=self.connection).exclude(
            pk=self.instance.pk
        )
        if others.filter(key=key).exists():
            self.add_error(
                "key",
                ValidationError(
                    _("Another mapping already uses the key '%(key)s'.") % {"key": key}
                ),
            )
        if others.filter(source=option.value).exists():
            self.add_error("source", _("This XPM field is already mapped."))
        # The type and choices always come from XPM's definition, never from the editor.
        self.instance.value_type = option.value_type
        self.instance.choices = list(option.choices)
        return cleaned


class MappingConnectionMixin:
    """Which practice the mapping belongs to, and its custom fields read live from XPM."""

    request = None
    definitions_warning = ""
    definitions_live = False

    def get_connection(self) -> XpmConnection | None:
        raise NotImplementedError

    @cached_property
    def connection(self) -> XpmConnection | None:
        return self.get_connection()

    @cached_property
    def definitions(self) -> list[PracticeCustomField]:
        """Read ``customfield.api/definition`` when the form opens; on submit use the copy."""
        connection = self.connection
        stored = PracticeCustomField.objects.filter(connection=connection, is_current=True)
        if self.request.method != "GET":
            return list(stored)
        try:
            definitions = services.refresh_custom_field_definitions(connection)
        except XpmError as exc:
            logger.warning("Custom field definitions not refreshed for %s: %s", connection, exc)
            stored = list(stored)
            self.definitions_warning = _(
                "The custom fields could not be read from XPM just now, so the list below "
                "shows the %(count)d saved at the last successful read. %(reason)s"
            ) % {"count": len(stored), "reason": explain_xpm_error(exc)}
            return stored
        self.definitions_live = True
        return definitions

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["connection"] = self.connection
        kwargs["definitions"] = self.definitions
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        context["connection"] = self.connection
        context["connection_label"] = connection_label(self.connection)
        context["definitions_live"] = self.definitions_live
        context["definitions_warning"] = self.definitions_warning
        context["custom_count"] = sum(1 for o in form.options.values() if o.is_custom)
        context["options_json"] = form.options_json()
        return context


class FieldMappingCreateView(MappingConnectionMixin, generic.CreateView):
    """Map a new field for the practice named by ``?connection=`` (else the default site's)."""

    template_name = "wagtail_xpm/admin/field_mapping_form.html"

    def get_connection(self) -> XpmConnection | None:
        requested = self.request.GET.get("connection", "")
        # The practices of the sites where the user manages the connection.
        connections = access.scope(
            XpmConnection.objects.select_related("site"),
            self.request.user,
            access.MANAGE_CONNECTION,
        )
        if requested.isdigit():
            return connections.filter(pk=int(requested)).first()
        default = connections.filter(site__is_default_site=True).first()
        return default or connections.order_by("pk").first()

    def get(self, request, *args, **kwargs):
        if self.connection is None:
            return self._not_connected()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if self.connection is None:
            return self._not_connected()
        return super().post(request, *args, **kwargs)

    def _not_connected(self):
        django_messages.warning(
            self.request, _("Connect a site to Xero Practice Manager before mapping fields.")
        )
        return redirect("wagtail_xpm:status")

    def get_add_url(self):
        return f"{super().get_add_url()}?connection={self.connection.pk}"

    def get_initial_form_instance(self):
        last = FieldMapping.objects.aggregate(last=Max("sort_order"))["last"]
        return FieldMapping(connection=self.connection, sort_order=(last or 0) + 1)

    def save_instance(self):
        mapping = super().save_instance()
        _audit(mapping, self.request.user, _("added %(label)s (%(key)s)"))
        return mapping

    def get_success_message(self, instance):
        return refill_message(instance)

    def get_success_buttons(self):
        return [*super().get_success_buttons(), sync_button(self.connection)]


class FieldMappingEditView(MappingConnectionMixin, generic.EditView):
    """Change a mapping's field, label or key; its type follows the field."""

    template_name = "wagtail_xpm/admin/field_mapping_form.html"

    def get_connection(self) -> XpmConnection | None:
        return self.object.connection

    def get_object(self, queryset=None):
        return get_object_or_404(
            FieldMapping.objects.select_related("connection__site"), pk=self.object_pk
        )

    def save_instance(self):
        mapping = super().save_instance()
        if self.form.changed_data:
            _audit(
                mapping,
                self.request.user,
                _("changed %(label)s (%(key)s)"),
                fields=sorted(self.form.changed_data),
            )
        return mapping

    def get_success_message(self):
        if {"source", "key"} & set(self.form.changed_data):
            return refill_message(self.object)
        return super().get_success_message()

    def get_success_buttons(self):
        return [*super().get_success_buttons(), sync_button(self.connection)]


class FieldMappingDeleteView(generic.DeleteView):
    """Remove a mapping (logged in Wagtail's audit log like every mapping change)."""

    def delete_action(self):
        mapping = self.object
        _audit(mapping, self.request.user, _("removed %(label)s (%(key)s)"))
        super().delete_action()


def _audit(mapping: FieldMapping, user, text: str, **data) -> None:
    """A mapping change in Wagtail's audit log (``MAPPING_CHANGE``, docs/privacy.md)."""
    what = text % {"label": mapping.label, "key": mapping.key}
    audit.record(mapping, audit.MAPPING_CHANGE, user, what=what, source=mapping.source, **data)


def sync_button(connection: XpmConnection):
    return messages.button(
        reverse("wagtail_xpm_sync:site", args=[connection.site_id]), _("Go to Sync")
    )


def refill_message(mapping: FieldMapping) -> str:
    if mapping.is_custom:
        return _(
            "'%(label)s' is mapped. Run a full sync to fill it in for every contact: it reads "
            "this custom field once for each client (one API call each)."
        ) % {"label": mapping.label}
    return _("'%(label)s' is mapped. Run a full sync to fill it in for every contact.") % {
        "label": mapping.label
    }


class SourceColumn(Column):
    """The XPM field, flagged when it is a (paid-for) custom field."""

    cell_template_name = "wagtail_xpm/admin/cells/mapping_source.html"


class FieldMappingIndexView(generic.IndexView):
    """The mappings in the order editors see them (drag to reorder)."""

    template_name = "wagtail_xpm/admin/field_mapping_index.html"
    page_title = gettext_lazy("Field mappings")

    def get_base_queryset(self) -> QuerySet[FieldMapping]:
        queryset = access.scope(
            super().get_base_queryset(), self.request.user, access.MANAGE_CONNECTION
        )
        return queryset.select_related("connection__site")

    @cached_property
    def several_connections(self) -> bool:
        connections = access.scope(
            XpmConnection.objects.all(), self.request.user, access.MANAGE_CONNECTION
        )
        return connections.count() > 1

    @cached_property
    def columns(self):
        title_class = self._get_title_column_class(TitleColumn)
        columns = [
            title_class(
                "label",
                label=_("Label"),
                sort_key="label",
                get_url=lambda m: self.get_edit_url(m),
            ),
            Column("key", label=_("Key"), sort_key="key"),
            SourceColumn("source", label=_("XPM field"), sort_key="source"),
            Column("value_type", label=_("Type"), accessor=mapping_type_text),
            Column("choices", label=_("Choices"), accessor=choices_preview),
        ]
        if self.several_connections:
            columns.append(
                Column(
                    "connection", label=_("Site"), accessor=lambda m: connection_label(m.connection)
                )
            )
        return columns

    def get_add_url(self):
        url = super().get_add_url()
        connection = self.request.GET.get("connection", "")
        return f"{url}?connection={connection}" if url and connection.isdigit() else url

    def get_context_data(self, *args, **kwargs):
        context = super().get_context_data(*args, **kwargs)
        sites = access.allowed_sites(self.request.user, access.SYNC)
        default = sites.order_by("-is_default_site", "pk").first()
        context["sync_url"] = reverse("wagtail_xpm_sync:site", args=[default.pk]) if default else ""
        return context


def mapping_type_text(mapping: FieldMapping) -> str:
    text = _type_text(mapping.value_type, mapping.source)
    return text[:1].upper() + text[1:]


def choices_preview(mapping: FieldMapping) -> str:
    choices = [str(c) for c in mapping.choices or []]
    if len(choices) > 4:
        return ", ".join(choices[:4]) + _(" and %(n)d more") % {"n": len(choices) - 4}
    return ", ".join(choices)
