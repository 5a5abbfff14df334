"""The segment form: name, practice, client scope and the rule tree, edited with the visual
rule builder or typed in the segment language (wagtail_xpm/segments/parse.py), validated like the
config document and refused in words (docs/architecture.md, "The segment language")."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.forms.models import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel

from ... import access, limits, privacy
from ...adminkit.labels import connection_label
from ...models import Segment, XpmConnection
from ..catalogue import catalogue, fields_for
from ..parse import ExpressionError, parse
from ..rules import RuleValidator

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


def tax_rule_errors(connection: XpmConnection, rules: Any, user) -> list[str]:
    """Rules comparing a tax number with a value, for a user who may not see tax numbers on
    the practice's site: refused (docs/privacy.md, "Tax numbers")."""
    hidden = privacy.hidden_keys(connection.pk, user, connection.site_id)
    if not hidden:
        return []
    labels = {key: info.label for key, info in fields_for(connection).items()}
    return privacy.tax_rule_errors(rules, hidden, labels)


class BoundedSegmentForm(SegmentForm):
    """The segment form, with the rule tree's limits checked before anything reads it
    (wagtail_xpm/limits.py)."""

    def clean_definition(self):
        try:
            limits.load_rule_definition(self.cleaned_data.get("definition") or "{}")
        except limits.LimitExceeded as exc:
            raise ValidationError(str(exc)) from None
        return super().clean_definition()
