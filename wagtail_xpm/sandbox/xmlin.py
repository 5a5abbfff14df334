"""Reading request bodies safely: size-capped, no DTDs, no entities (defusedxml)."""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

# Request bodies are a client, a contact or a lead: a megabyte is generous, and the cap
# keeps a hostile or runaway client from making the emulator buffer without limit.
MAX_BODY_BYTES = 1_000_000

NOT_EXPECTED_FORMAT = "Message not in expected format."


class BodyError(ValueError):
    """The body is not the XML the method expects; the text is XPM's ErrorDescription."""


def missing(path: str) -> BodyError:
    """XPM's wording for a missing required element (docs/xpm-api.md 2.4)."""
    return BodyError(f"{NOT_EXPECTED_FORMAT} The following required element was missing - {path}")


def parse_body(data: bytes, root: str) -> Element:
    """Parse ``data`` and check its root element is ``root``."""
    if len(data) > MAX_BODY_BYTES:
        raise BodyError(f"{NOT_EXPECTED_FORMAT} The request body is too large.")
    if not data.strip():
        raise missing(f"/{root}")
    try:
        element = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise BodyError(f"{NOT_EXPECTED_FORMAT} {type(exc).__name__}") from None
    if element.tag != root:
        raise missing(f"/{root}")
    return element


def text_of(parent: Element, tag: str) -> str | None:
    """The stripped text of a child element; ``""`` when empty, None when absent."""
    child = parent.find(tag)
    if child is None:
        return None
    return (child.text or "").strip()


def required(parent: Element, tag: str, path: str) -> str:
    """A child's text that must be present and non-empty."""
    value = text_of(parent, tag)
    if not value:
        raise missing(path)
    return value
