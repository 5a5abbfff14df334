"""The contacts listing: search, the Site filter, one filter per mapped field and the
downloads of exactly what is listed (``downloads.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterable

import django_filters
from django import forms
from django.db.models import QuerySet
from django.db.models.fields.json import KeyTransform
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import BooleanColumn, Column, StatusFlagColumn, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.widgets import BooleanRadioSelect
from wagtail.admin.widgets.button import HeaderButton

from ... import access, fieldvalues, privacy
from ...adminkit.labels import connection_label
from ...models import Contact, FieldMapping, XpmConnection
from ...segments.jsonsql import JsonText
from .. import exports
from . import downloads

# Beyond this many distinct values a dropdown stops helping; a "contains" box is offered.
MAX_FILTER_CHOICES = 60
# Whoever may list contacts (Wagtail's index asks for any of these).
CONTACT_READERS = (
    access.VIEW_CONTACT,
    access.ADD_CONTACT,
    access.CHANGE_CONTACT,
    access.DELETE_CONTACT,
)


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
            # the whole listing in memory first): contacts/admin/downloads.py.
            return downloads.respond(self)
        if not self.results_only:  # not on every filter change (the results fragment)
            downloads.announce_finished(request)
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

    # Export (the documented columns, docs/contracts.md 4.2): contacts/admin/downloads.py.
