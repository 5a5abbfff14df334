"""The segment builder's JSON endpoints (fields and values, live count, member preview, explain
a contact), the members' CSV, the segment editor's page and the rules in one line for listings."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from wagtail.admin.widgets.button import HeaderButton
from wagtail.permissions import policy_registry
from wagtail.snippets.views.snippets import EditView

from ... import audit, privacy
from ...campaigns.snapshot import suppressed_reason
from ...contacts import exports
from ...models import Contact, EmailSuppression, Segment, XpmConnection
from ..catalogue import catalogue, fields_for
from ..compile import Definition, members, segment_queryset
from ..describe import describe
from ..explain import explain
from ..rules import RuleValidator, iter_rules
from ..vocabulary import display, op_label
from .forms import tax_rule_errors

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


class SegmentEditHeaderMixin:
    """The segment editor's "Download CSV" of its members."""

    @cached_property
    def header_buttons(self):
        return [
            *super().header_buttons,
            HeaderButton(
                _("Download CSV"),
                url=reverse("wagtail_xpm_segments:export", args=[self.object.pk]),
                icon_name="download",
            ),
        ]


class SegmentEditView(SegmentEditHeaderMixin, EditView):
    pass
