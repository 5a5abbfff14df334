"""Custom fields: definitions (``customfield.api``) and per-client / per-contact values
(``client.api/get/{uuid}/customfield`` and friends, docs/xpm-api.md 6).

Values are returned only when set (an unticked checkbox counts as unset); a PUT names each
field by UUID or by Name, must use the definition's value element, and an empty element
clears the value. The whole PUT is validated before anything changes.

As in XPM, changing a custom-field value does not change the client (or contact) it belongs
to: its modified time stays, so ``client.api/list?modifiedsince=`` does not list it. A sync
only learns of the new value by reading the client's custom fields again.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from ..models import CustomFieldDefinition
from ..renderers import custom_fields_xml, definition_xml
from ..values import parse_date, parse_decimal, parse_flag
from ..xmlin import missing
from ..xmlout import envelope
from .context import ApiContext, ApiError, HandlerResult

VALUE_ELEMENTS = ("Text", "Decimal", "Number", "Boolean", "Date")
_CLEAR = object()


def definitions(ctx: ApiContext) -> HandlerResult:
    """GET customfield.api/definition."""
    inner = "".join(definition_xml(d) for d in ctx.state.custom_fields.values())
    body = (
        f"<CustomFieldDefinitions>{inner}</CustomFieldDefinitions>"
        if inner
        else ("<CustomFieldDefinitions />")
    )
    return envelope(ctx.method_word, body)


def get_definition(ctx: ApiContext) -> HandlerResult:
    """GET customfield.api/get/{uuid}."""
    definition = ctx.state.custom_fields.get(ctx.ident)
    if definition is None:
        raise ApiError("Invalid custom field identifier")
    return envelope(ctx.method_word, definition_xml(definition))


def _applicable(ctx: ApiContext, for_contacts: bool) -> dict[str, CustomFieldDefinition]:
    return {
        uuid: d
        for uuid, d in ctx.state.custom_fields.items()
        if (d.use_contact if for_contacts else d.use_client)
    }


def get_client_values(ctx: ApiContext) -> HandlerResult:
    """GET client.api/get/{uuid}/customfield."""
    client = ctx.state.clients.get(ctx.ident)
    if client is None:
        raise ApiError("Invalid client identifier")
    return envelope(
        ctx.method_word, custom_fields_xml(_applicable(ctx, False), client.custom_values)
    )


def update_client_values(ctx: ApiContext) -> HandlerResult:
    """PUT client.api/update/{uuid}/customfield."""
    client = ctx.state.live_client(ctx.ident)
    if client is None:
        raise ApiError("Invalid client identifier")
    _apply(client.custom_values, _read_changes(ctx, _applicable(ctx, False)))
    return envelope(ctx.method_word)


def get_contact_values(ctx: ApiContext) -> HandlerResult:
    """GET client.api/contact/{uuid}/customfield."""
    contact = ctx.state.live_contact(ctx.ident)
    if contact is None:
        raise ApiError("Invalid contact identifier")
    return envelope(
        ctx.method_word, custom_fields_xml(_applicable(ctx, True), contact.custom_values)
    )


def update_contact_values(ctx: ApiContext) -> HandlerResult:
    """PUT client.api/contact/{uuid}/customfield."""
    contact = ctx.state.live_contact(ctx.ident)
    if contact is None:
        raise ApiError("Invalid contact identifier")
    _apply(contact.custom_values, _read_changes(ctx, _applicable(ctx, True)))
    return envelope(ctx.method_word)


def _read_changes(ctx: ApiContext, applicable: dict[str, CustomFieldDefinition]) -> dict[str, Any]:
    element = ctx.body("CustomFields")
    by_name = {d.name.casefold(): d for d in applicable.values()}
    changes: dict[str, Any] = {}
    for item in element.findall("CustomField"):
        definition = _identify(item, applicable, by_name)
        value_elements = [child for child in item if child.tag in VALUE_ELEMENTS]
        if not value_elements:
            raise missing(f"/CustomFields/CustomField/{definition.value_element}")
        value_el = value_elements[0]
        if value_el.tag != definition.value_element:
            raise ApiError(
                f"Invalid value for custom field {definition.name}: "
                f"expected <{definition.value_element}>"
            )
        changes[definition.uuid] = _parse_value(definition, (value_el.text or "").strip())
    return changes


def _identify(
    item: Element,
    applicable: dict[str, CustomFieldDefinition],
    by_name: dict[str, CustomFieldDefinition],
) -> CustomFieldDefinition:
    uuid = (item.findtext("UUID") or "").strip().lower()
    name = (item.findtext("Name") or "").strip().casefold()
    definition = applicable.get(uuid) if uuid else by_name.get(name) if name else None
    if definition is None:
        raise ApiError("Invalid custom field identifier")
    return definition


def _parse_value(definition: CustomFieldDefinition, text: str) -> Any:
    if not text:
        return _CLEAR
    element = definition.value_element
    try:
        if element == "Boolean":
            return parse_flag(text)
        if element == "Decimal":
            return str(parse_decimal(text))
        if element == "Number":
            return int(text.replace(",", ""))
        if element == "Date":
            return parse_date(text).isoformat()
    except ValueError:
        raise ApiError(f"Invalid value for custom field {definition.name}: {text}") from None
    if definition.options:
        for option in definition.options:
            if option.casefold() == text.casefold():
                return option
        raise ApiError(f"Invalid value for custom field {definition.name}: {text}")
    return text


def _apply(values: dict[str, Any], changes: dict[str, Any]) -> bool:
    changed = False
    for uuid, value in changes.items():
        if value is _CLEAR or value is False:
            # A cleared checkbox is the same as no value at all.
            if uuid in values:
                del values[uuid]
                changed = True
        elif values.get(uuid) != value:
            values[uuid] = value
            changed = True
    return changed
