"""Admin views for segments: the form with the visual rule builder (or rules typed in the
segment language) and its JSON endpoints (fields and values, live count, member preview,
explain a contact) and the CSV export."""

from __future__ import annotations

import json
import time
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from wagtail.admin.forms.models import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel
from wagtail.permissions import policy_registry

from .. import access, audit, privacy
from ..adminkit.labels import connection_label
from ..contacts import exports
from ..models import Contact, Segment, XpmConnection
from ..segments.catalogue import catalogue, fields_for
from ..segments.compile import Definition, members, segment_queryset
from ..segments.describe import describe
from ..segments.explain import explain
from ..segments.parse import ExpressionError, parse
from ..segments.rules import RuleValidator, iter_rules
from ..segments.vocabulary import display, op_label

PREVIEW_PAGE_SIZE = 10


# --- permissions ----------------------------------------------------------------------------


def can_use_segments(user) -> bool:
    policy = policy_registry.get_by_type(Segment)
    return policy.user_has_any_permission(user, ["add", "change", "view"])


def _require(request: HttpRequest, *, contacts: bool = False) -> None:
    """Segment permissions; ``contacts`` also asks for the right to see contacts (the
    preview, explain and CSV show people, the count does not)."""
    if not can_use_segments(request.user):
        raise PermissionDenied
    if contacts and not policy_registry.get_by_type(Contact).user_has_any_permission(
        request.user, ["view", "change"]
    ):
        raise PermissionDenied


def _connection(request: HttpRequest) -> XpmConnection:
    raw = request.GET.get("connection", "")
    if not raw.isdigit():
        raise PermissionDenied  # the builder always names the practice
    return get_object_or_404(XpmConnection.objects.select_related("site"), pk=int(raw))


# --- the fields offered ---------------------------------------------------------------------


def field_metadata(connection: XpmConnection) -> dict[str, Any]:
    """What the builder needs: fields with labels, types, operators and values offered."""
    fields = []
    for info in catalogue(connection):
        fields.append(
            {
                "key": info.key,
                "label": str(info.label),
                "type": info.value_type,
                "group": _("Contact") if info.builtin else _("From XPM"),
                "builtin": info.builtin,
                "ops": [{"op": op, "label": op_label(op, info.value_type)} for op in info.ops],
                "offered_ops": list(info.offered_ops),
                "values": list(info.values),
                "values_complete": info.values_complete,
            }
        )
    return {"connection": connection.pk, "fields": fields}


# --- the form -------------------------------------------------------------------------------


class SegmentBuilderWidget(forms.Widget):
    """A hidden JSON value (``{"match", "rules"}``) edited by the vanilla-JS rule builder."""

    template_name = "wagtail_xpm/admin/widgets/segment_builder.html"

    @property
    def media(self) -> forms.Media:
        # The app's JavaScript catalog first, so the builder speaks the user's language.
        return forms.Media(
            css={"all": ["wagtail_xpm/admin.css", "wagtail_xpm/campaigns.css"]},
            js=[reverse("wagtail_xpm:javascript_catalog"), "wagtail_xpm/segment_builder.js"],
        )

    # The "Or type the rules" box travels as ``<name>_typed`` (see SegmentForm.typed_rules).
    typed = ""

    def format_value(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        return json.dumps(value or {"match": "all", "rules": []})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["typed"] = {"name": f"{name}_typed", "value": self.typed}
        base = "wagtail_xpm_segments"
        context["urls"] = {
            "fields": reverse(f"{base}:builder_fields"),
            "count": reverse(f"{base}:builder_count"),
            "preview": reverse(f"{base}:builder_preview"),
            "explain": reverse(f"{base}:builder_explain"),
            "contacts": reverse(f"{base}:builder_contacts"),
        }
        return context


class ConnectionPanel(FieldPanel):
    """The practice chooser, left out of the page when there is only one practice."""

    class BoundPanel(FieldPanel.BoundPanel):
        def is_shown(self) -> bool:
            if self.bound_field is not None and self.bound_field.is_hidden:
                return False
            return super().is_shown()


class PracticeFieldMixin:
    """A ``connection`` field: a select when there are several practices, else implied."""

    fields: dict
    initial: dict
    instance: Any

    def setup_connection_field(self) -> XpmConnection | None:
        """Set the field up; returns the practice when it is already known."""
        field = self.fields["connection"]
        field.label = _("Site")
        field.label_from_instance = connection_label
        field.empty_label = None
        user = getattr(self, "for_user", None)
        if user is not None:
            # Only the practices of the sites where the user may write these (permissions.md).
            writers = access.WRITERS.get(self._meta.model._meta.model_name, ())
            field.queryset = access.scope(field.queryset, user, writers)
        connections = list(field.queryset)
        self.only_connection = connections[0] if len(connections) == 1 else None
        if self.instance.pk:
            # Rules and merge fields name this practice's fields: it stays with its practice.
            field.disabled = True
        if len(connections) <= 1:
            field.widget = forms.HiddenInput()
            field.required = False
        if self.instance.connection_id:
            return self.instance.connection
        return self.only_connection

    def clean_connection(self) -> XpmConnection | None:
        value = self.cleaned_data.get("connection")
        if value is None and not self.instance.pk:
            value = self.only_connection
        if value is None and not self.instance.pk:
            raise ValidationError(_("Connect a site to Xero Practice Manager first."))
        return value


class SegmentForm(PracticeFieldMixin, WagtailAdminModelForm):
    """Name, practice, client scope and the rule tree (validated like the config file)."""

    definition = forms.CharField(
        label=gettext_lazy("Rules"), required=False, widget=SegmentBuilderWidget
    )

    class Meta:
        model = Segment
        fields = ["name", "description", "connection", "client_scope", "definition"]
        widgets = {"client_scope": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        connection = self.setup_connection_field()
        if connection is not None:
            # The builder's practice when there is no practice chooser on the page.
            self.fields["definition"].widget.attrs["data-connection"] = connection.pk
        self.fields["client_scope"].help_text = _(
            "A person can belong to several XPM clients (a director of two companies). "
            "'Primary' checks the XPM fields of their primary client; 'Any' includes them when "
            "some client of theirs matches each rule."
        )
        self.initial["definition"] = json.dumps(
            {"match": self.instance.match or "all", "rules": self.instance.rules or []}
        )
        self.fields["definition"].widget.attrs["data-xpm-segment-definition"] = ""
        self.fields["definition"].widget.typed = self.typed_text()

    def typed_text(self) -> str:
        """What was typed in the "Or type the rules" box (nothing when not bound)."""
        if not self.is_bound:
            return ""
        return str(self.data.get(self.add_prefix("definition") + "_typed") or "").strip()

    def typed_rules(self, connection: XpmConnection) -> dict[str, Any] | None:
        """The typed rules, read by the segment language's parser (None when there are none,
        or when they could not be read: the form then says why)."""
        typed = self.typed_text()
        if not typed:
            return None
        try:
            expression = parse(typed, catalogue(connection))
        except ExpressionError as exc:
            self.add_error("definition", f"{exc.message} {exc.hint}".strip())
            return None
        return expression.as_dict()

    def clean_definition(self) -> dict[str, Any]:
        raw = self.cleaned_data.get("definition") or ""
        try:
            value = json.loads(raw) if raw.strip() else {"match": "all", "rules": []}
        except ValueError:
            raise ValidationError(_("The rules could not be read.")) from None
        if not isinstance(value, dict):
            raise ValidationError(_("The rules could not be read."))
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        connection = cleaned.get("connection") or getattr(self.instance, "connection", None)
        definition = cleaned.get("definition")
        if connection is None or definition is None:
            return cleaned
        if self.typed_text():
            definition = self.typed_rules(connection)
        if definition is not None:
            # Worded for the editor: "Rule 2: “Account Manager is …” needs a value."
            validator = RuleValidator(fields_for(connection), editor=True)
            match = validator.choice(definition, "match", ("all", "any"), "", default="all")
            rules = validator.rules(definition.get("rules", []), "rules", allow_empty=True)
            user = getattr(self, "for_user", None)
            errors = validator.errors or tax_rule_errors(connection, rules, user)
            if errors:
                self.add_error("definition", [e.lstrip(".: ") for e in errors])
            else:
                self.instance.match, self.instance.rules = match, rules
        name = (cleaned.get("name") or "").strip()
        if name:
            cleaned["name"] = name
            taken = (
                Segment.objects.filter(connection=connection, name__iexact=name)
                .exclude(pk=self.instance.pk)
                .exists()
            )
            if taken:
                self.add_error("name", _("Another segment already has this name."))
        return cleaned


# --- JSON endpoints -------------------------------------------------------------------------


def _definition(request: HttpRequest) -> Definition:
    try:
        raw = json.loads(request.GET.get("definition") or "{}")
    except ValueError:
        raw = {}
    if not isinstance(raw, dict):
        raw = {}
    return Definition(
        rules=raw.get("rules") if isinstance(raw.get("rules"), list) else [],
        match=raw.get("match") if raw.get("match") in ("all", "any") else "all",
        client_scope=(
            raw.get("client_scope") if raw.get("client_scope") in ("primary", "any") else "primary"
        ),
    )


def tax_rule_errors(connection: XpmConnection, rules: Any, user) -> list[str]:
    """Rules comparing a tax number with a value, for a user who may not see tax numbers on
    the practice's site: refused (docs/privacy.md, "Tax numbers")."""
    hidden = privacy.hidden_keys(connection.pk, user, connection.site_id)
    if not hidden:
        return []
    labels = {key: info.label for key, info in fields_for(connection).items()}
    return privacy.tax_rule_errors(rules, hidden, labels)


def _checked(connection: XpmConnection, definition: Definition, user=None) -> list[str]:
    validator = RuleValidator(fields_for(connection), editor=True)
    validator.rules(definition.rules, "rules", allow_empty=True)
    return validator.errors or tax_rule_errors(connection, definition.rules, user)


@require_GET
def builder_fields(request: HttpRequest) -> JsonResponse:
    _require(request)
    connection = _connection(request)
    metadata = field_metadata(connection)
    # Values offered for a tax-number field would list the practice's tax numbers.
    hidden = privacy.hidden_keys(connection.pk, request.user, connection.site_id)
    for info in metadata["fields"]:
        if info["key"] in hidden and not info["builtin"]:
            info["values"], info["values_complete"] = [], False
    return JsonResponse(metadata)


@require_GET
def builder_count(request: HttpRequest) -> JsonResponse:
    """Members now, and how many of them could be emailed (subscribed, with an address)."""
    _require(request)
    connection, definition = _connection(request), _definition(request)
    errors = _checked(connection, definition, request.user)
    if errors:
        return JsonResponse({"ok": False, "errors": errors})
    started = time.perf_counter()
    # One query: the members, those who could be emailed, and the archived left out; plus,
    # when an ESP reported any, the addresses that bounced or complained.
    from ..campaigns.snapshot import suppressed_reason
    from ..models import EmailSuppression

    reachable = Q(subscribed=True) & ~Q(email="")
    queryset = members(connection, definition, include_archived=not definition.names_archived)
    extra: dict[str, Any] = {}
    if EmailSuppression.objects.exclude(reason="").exists():
        queryset = queryset.annotate(suppressed=suppressed_reason())
        reachable &= Q(suppressed__isnull=True)
        for reason in ("bounced", "complained"):
            extra[reason] = Q(subscribed=True) & Q(suppressed=reason)
    live = Q() if definition.names_archived else Q(is_archived=False)
    if not definition.names_archived:
        extra["archived"] = ~live
    counts = queryset.aggregate(
        count=Count("pk", filter=live),
        reachable=Count("pk", filter=live & reachable),
        **{
            name: Count("pk", filter=test if name == "archived" else live & test)
            for name, test in extra.items()
        },
    )
    return JsonResponse(
        {
            "ok": True,
            "count": counts["count"],
            "reachable": counts["reachable"],
            "archived_left_out": counts.get("archived", 0),
            "bounced_left_out": counts.get("bounced", 0),
            "complained_left_out": counts.get("complained", 0),
            "names_archived": definition.names_archived,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        }
    )


@require_GET
def builder_preview(request: HttpRequest) -> JsonResponse:
    """One page of members (by name), with the values of the fields the rules use."""
    _require(request, contacts=True)
    connection, definition = _connection(request), _definition(request)
    errors = _checked(connection, definition, request.user)
    if errors:
        return JsonResponse({"ok": False, "errors": errors})
    raw_page = request.GET.get("page", "")
    page = max(1, int(raw_page)) if raw_page.isdigit() else 1
    fields = fields_for(connection)
    used = []
    for rule in iter_rules(definition.rules):
        key = rule.get("field")
        if key in fields and key not in used and not fields[key].builtin:
            used.append(key)
    hidden = privacy.hidden_keys(connection.pk, request.user, connection.site_id)
    start = (page - 1) * PREVIEW_PAGE_SIZE
    rows = list(
        members(connection, definition)
        .order_by("name", "pk")
        .values("pk", "name", "email", "client_name", "subscribed", "is_archived", "data")[
            start : start + PREVIEW_PAGE_SIZE + 1
        ]
    )
    return JsonResponse(
        {
            "ok": True,
            "page": page,
            "has_next": len(rows) > PREVIEW_PAGE_SIZE,
            "columns": [{"key": key, "label": str(fields[key].label)} for key in used],
            "rows": [
                {
                    "id": row["pk"],
                    "name": row["name"] or row["email"] or _("Contact %(id)s") % {"id": row["pk"]},
                    "email": row["email"],
                    "client_name": row["client_name"],
                    "subscribed": row["subscribed"],
                    "is_archived": row["is_archived"],
                    "url": reverse("wagtail_xpm_contact:inspect", args=[row["pk"]]),
                    "values": {
                        key: display(privacy.masked_data(row["data"] or {}, hidden).get(key))
                        for key in used
                    },
                }
                for row in rows[:PREVIEW_PAGE_SIZE]
            ],
        }
    )


@require_GET
def builder_contacts(request: HttpRequest) -> JsonResponse:
    """Contacts of the practice whose name, email or client matches ``q`` (explain picker)."""
    _require(request, contacts=True)
    connection = _connection(request)
    query = (request.GET.get("q") or "").strip()
    contacts = Contact.objects.filter(connection=connection)
    if query:
        contacts = contacts.filter(
            Q(name__icontains=query) | Q(email__icontains=query) | Q(client_name__icontains=query)
        )
    rows = contacts.order_by("name", "pk").values("pk", "name", "email", "client_name")[:10]
    return JsonResponse(
        {
            "contacts": [
                {
                    "id": r["pk"],
                    "name": r["name"] or r["email"],
                    "email": r["email"],
                    "client_name": r["client_name"],
                }  # fmt: skip
                for r in rows
            ]
        }
    )


@require_GET
def builder_explain(request: HttpRequest) -> JsonResponse:
    """Why the contact is in or out: each rule true or false, with the contact's value."""
    _require(request, contacts=True)
    connection, definition = _connection(request), _definition(request)
    errors = _checked(connection, definition, request.user)
    if errors:
        return JsonResponse({"ok": False, "errors": errors})
    raw = request.GET.get("contact", "")
    contact = get_object_or_404(
        Contact.objects.select_related("connection"),
        pk=int(raw) if raw.isdigit() else 0,
        connection=connection,
    )
    result = explain(contact, definition).as_json()
    _mask_explanation(
        result["root"], privacy.hidden_keys(connection.pk, request.user, connection.site_id)
    )
    result["ok"] = True
    result["contact"]["url"] = reverse("wagtail_xpm_contact:inspect", args=[contact.pk])
    policy = policy_registry.get_by_type(Contact)
    if policy.user_has_permission(request.user, "change"):
        result["contact"]["subscription_url"] = reverse(
            "wagtail_xpm_campaigns:contact_subscription", args=[contact.pk]
        )
    return JsonResponse(result)


def _mask_explanation(node: dict[str, Any], hidden: frozenset[str]) -> None:
    """Mask the contact's (and each client's) value in the rules on tax-number fields."""
    if not hidden:
        return
    if node.get("kind") == "group":
        for child in node.get("children", []):
            _mask_explanation(child, hidden)
        return
    if node.get("field") in hidden:
        node["contact_value"] = privacy.mask(node.get("contact_value"))
        for client in node.get("clients", []):
            client["value"] = privacy.mask(client.get("value"))


def export_members(request: HttpRequest, pk: int) -> HttpResponse:
    """The segment's members as CSV (the documented export columns)."""
    _require(request, contacts=True)
    segment = get_object_or_404(Segment.objects.select_related("connection"), pk=pk)
    connection = segment.connection
    columns = exports.export_columns(connection)
    hidden = privacy.hidden_keys(connection.pk, request.user, connection.site_id)
    rows = (
        privacy.masked_data(row, hidden)
        for row in exports.contact_rows(connection, segment_queryset(segment))
    )
    response = StreamingHttpResponse(
        exports.csv_lines(columns, rows), content_type="text/csv; charset=utf-8"
    )
    filename = slugify(segment.name) or f"segment-{segment.pk}"
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    audit.record(
        segment,
        audit.EXPORT,
        request.user,
        what=_("the members of segment '%(name)s' as CSV") % {"name": segment.name},
    )
    return response


def rules_summary(segment: Segment) -> str:
    """The rules in one line, for listings ("Account Manager is John Smith and ...")."""
    return describe(segment.match, segment.rules or [], fields_for(segment.connection))
