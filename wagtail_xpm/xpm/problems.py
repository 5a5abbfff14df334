"""What an error body says, and what an XPM refusal is about.

XPM refuses a request with HTTP 200 and `<Status>ERROR</Status><ErrorDescription>`, or with a
4xx and an XML or JSON body (docs/xpm-api.md 2.4 and 10.3). Callers that correct a request or
tell a person what to fix need to know *what* was refused: the lead owner, the contact, the
category, the client or a custom field. They read `XpmApiError.about`, set here from XPM's own words
("Invalid owner", "Invalid contact identifier", "... missing - /Lead/ClientUUID"), and never
match the text themselves.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

__all__ = [
    "ABOUT",
    "CATEGORY",
    "CLIENT",
    "CONTACT",
    "CUSTOM_FIELD",
    "OWNER",
    "Problem",
    "about_refusal",
    "is_refusal",
    "parse_problem",
]

OWNER: Final = "owner"
CONTACT: Final = "contact"
CATEGORY: Final = "category"
CLIENT: Final = "client"
CUSTOM_FIELD: Final = "custom field"
#: What a refusal can be about. XPM names one thing per refusal; should a description name
#: several, the first in this order wins: a custom field first (its refusals also name the
#: contact or client it belongs to: consent/optout_delivery.py), then the lead owner (it
#: cannot be dropped from a lead, the others can: leads/pipeline/lead_step.py corrects them
#: in this order).
ABOUT: Final = (CUSTOM_FIELD, OWNER, CONTACT, CATEGORY, CLIENT)

# Anywhere in the words, any case: XPM writes "Invalid owner", "Invalid contact identifier",
# "Invalid billing client identifier", "Custom field not found" and element paths such as
# "/Lead/ClientUUID" or "CustomFieldUUID".
_NAMES = {about: re.compile(about.replace(" ", " ?"), re.IGNORECASE) for about in ABOUT}
# Statuses that are not refusals: the token (401), the tenant (403), a request timeout (408),
# a rate limit (429), or the server (5xx).
_NOT_REFUSALS = frozenset({401, 403, 408, 429})


@dataclass(frozen=True, slots=True)
class Problem:
    """What an error body said: the gateway's JSON problem, OAuth's error, or XPM's XML;
    and, for a refusal, what it is about (one of `ABOUT`, or None)."""

    title: str | None = None
    detail: str | None = None
    error: str | None = None
    about: str | None = None

    @property
    def summary(self) -> str | None:
        return self.detail or self.error or self.title


def is_refusal(status: int | None) -> bool:
    """Whether a status means XPM understood the request and refused it (200 with
    `<Status>ERROR`, 400, 404, 409...), so retrying the same request gives the same answer."""
    if status is None:
        return True
    return status < 500 and status not in _NOT_REFUSALS


def about_refusal(description: str | None) -> str | None:
    """What XPM's description of a refusal names: one of `ABOUT`, or None."""
    if not description:
        return None
    return next((about for about in ABOUT if _NAMES[about].search(description)), None)


def parse_problem(body: bytes, status: int | None = None) -> Problem:
    """Best-effort reading of an error body; never raises (bodies of errors are often empty).

    `status` is the HTTP status: `about` is set only for refusals (see `is_refusal`).
    """
    problem = _read_problem(body)
    if not is_refusal(status):
        return problem
    about = about_refusal(problem.summary)
    if about is None:
        return problem
    return Problem(problem.title, problem.detail, problem.error, about)


def _read_problem(body: bytes) -> Problem:
    stripped = body.strip() if body else b""
    if not stripped:
        return Problem()
    if stripped[:1] in (b"{", b"["):
        try:
            data = json.loads(stripped)
        except (ValueError, RecursionError):
            return Problem()
        if not isinstance(data, dict):
            return Problem()
        return Problem(
            title=_first_str(data, "Title", "title"),
            detail=_first_str(
                data, "Detail", "detail", "errorDescription", "ErrorDescription", "message"
            ),
            error=_first_str(data, "error_description", "error"),
        )
    if stripped[:1] == b"<":
        try:
            # DTDs forbidden, as everywhere in xpm/ (parsing.py): an error body is no safer.
            root = SafeET.fromstring(stripped, forbid_dtd=True)
        except (DefusedXmlException, ParseError):
            return Problem()
        return Problem(detail=_text(root, "ErrorDescription") or _text(root, "Detail"))
    return Problem()


def _first_str(data: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _text(root: Any, tag: str) -> str | None:
    child = root.find(tag)
    value = (child.text or "").strip() if child is not None else ""
    return value or None
