"""Bounds on what people and files may send: rule trees, config documents, mapping keys,
public forms and request bodies (docs/permissions.md, "Bounded inputs").

One bounded JSON reader serves the segment builder's endpoints, the segment form and
``xpm_config import``: the text's size is checked first, then its nesting is measured by an
iterative scan of the raw text (so a 10,000-deep document never reaches ``json.loads`` or
any recursive code), then the rule tree is walked iteratively for its depth, rule count, list
lengths and value lengths. Every refusal names the limit.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _

# --- the limits ----------------------------------------------------------------------------

MAX_GROUP_DEPTH = 8  # groups inside groups (the top level is depth 1)
MAX_RULES = 250  # rules in one segment, every group counted
MAX_LIST_VALUES = 1000  # values of one "is any of" / "is none of" rule
MAX_VALUE_LENGTH = 1000  # characters of one value (or one item of a list)
MAX_RULES_BYTES = 256 * 1024  # a rule tree as JSON text (builder, segment form)
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024  # an xpm_config document
MAX_DOCUMENT_ENTRIES = 1000  # mappings, or segments, in one document
# JSON nesting a valid document can reach: the document, its segments list, a segment, then
# each group adds its object and its rules list, and a list value one more.
MAX_JSON_NESTING = 4 + 2 * MAX_GROUP_DEPTH + 2

# Public forms: a field without its own limit gets these (characters).
MAX_PUBLIC_TEXT = 255
MAX_PUBLIC_MESSAGE = 5000
# A public POST (lead forms, unsubscribe): bytes of body.
MAX_PUBLIC_BODY = 64 * 1024


class LimitExceeded(ValueError):
    """Input beyond a limit, or not readable; ``str()`` says which, in words."""


# --- JSON ----------------------------------------------------------------------------------


def nesting_depth(text: str, stop_at: int | None = None) -> int:
    """How deeply ``[`` and ``{`` nest in JSON ``text`` (strings skipped), without recursion;
    stops counting once ``stop_at`` is passed."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_at is not None and deepest > stop_at:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def load_json(
    text: str | bytes, *, max_bytes: int, max_nesting: int = MAX_JSON_NESTING, what: str = ""
) -> Any:
    """``json.loads`` within bounds: size, then nesting (measured on the raw text), then the
    parse itself. Raises LimitExceeded with the reason."""
    what = what or _("The rule definition")
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8"))
    if size > max_bytes:
        raise LimitExceeded(
            _("%(what)s is too large: %(size)s KB; the limit is %(max)s KB.")
            % {"what": what, "size": f"{size / 1024:,.0f}", "max": f"{max_bytes / 1024:,.0f}"}
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise LimitExceeded(_("%(what)s is not UTF-8 text.") % {"what": what}) from None
    if nesting_depth(text, stop_at=max_nesting) > max_nesting:
        raise LimitExceeded(
            _("%(what)s nests too deeply: groups may be nested %(max)s levels deep at most.")
            % {"what": what, "max": MAX_GROUP_DEPTH}
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LimitExceeded(
            _("%(what)s is not valid JSON (line %(line)s, column %(column)s: %(reason)s).")
            % {"what": what, "line": exc.lineno, "column": exc.colno, "reason": exc.msg}
        ) from None
    except (ValueError, RecursionError) as exc:
        raise LimitExceeded(
            _("%(what)s is not valid JSON (%(reason)s).") % {"what": what, "reason": exc}
        ) from None


# --- rule trees ----------------------------------------------------------------------------


def check_rule_tree(rules: Any, *, where: str = "") -> None:
    """The rule list of a segment (``[{"field", "op", "value"} | {"match", "rules"}]``)
    within bounds, walked iteratively. Shape errors are left to the segment language's own
    validator; only sizes are checked here."""
    prefix = f"{where}: " if where else ""
    count = 0
    stack: list[tuple[Any, int]] = [(rules, 1)]
    while stack:
        items, depth = stack.pop()
        if depth > MAX_GROUP_DEPTH:
            raise LimitExceeded(
                prefix
                + _("groups are nested %(depth)s levels deep; at most %(max)s.")
                % {"depth": depth, "max": MAX_GROUP_DEPTH}
            )
        if not isinstance(items, list):
            continue
        for item in items:
            if not isinstance(item, dict):
                continue
            if "rules" in item:
                stack.append((item.get("rules"), depth + 1))
                continue
            count += 1
            if count > MAX_RULES:
                raise LimitExceeded(
                    prefix + _("more than %(max)s rules.") % {"max": f"{MAX_RULES:,}"}
                )
            _check_value(item.get("value"), count, prefix)
            for key in ("field", "op"):
                _check_text(item.get(key), count, prefix)


def _check_value(value: Any, number: int, prefix: str) -> None:
    if isinstance(value, list):
        if len(value) > MAX_LIST_VALUES:
            raise LimitExceeded(
                prefix
                + _("rule %(number)s lists %(count)s values; at most %(max)s.")
                % {
                    "number": number,
                    "count": f"{len(value):,}",
                    "max": f"{MAX_LIST_VALUES:,}",
                }
            )
        for item in value:
            _check_text(item, number, prefix)
        return
    _check_text(value, number, prefix)


def _check_text(value: Any, number: int, prefix: str) -> None:
    if isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
        raise LimitExceeded(
            prefix
            + _("rule %(number)s has a value of %(count)s characters; at most %(max)s.")
            % {"number": number, "count": f"{len(value):,}", "max": f"{MAX_VALUE_LENGTH:,}"}
        )


def load_rule_definition(text: str) -> dict[str, Any]:
    """A segment definition (``{"match", "rules", "client_scope"}``) as the segment builder
    and the segment form send it, within bounds; LimitExceeded otherwise."""
    value = load_json(text or "{}", max_bytes=MAX_RULES_BYTES)
    if not isinstance(value, dict):
        raise LimitExceeded(_("The rule definition could not be read (expected a JSON object)."))
    check_rule_tree(value.get("rules", []))
    return value


def check_document(document: Any) -> None:
    """An ``xpm_config`` document's sizes: entries, and every segment's rules."""
    if not isinstance(document, dict):
        return
    for section in ("mappings", "segments"):
        entries = document.get(section)
        if isinstance(entries, list) and len(entries) > MAX_DOCUMENT_ENTRIES:
            raise LimitExceeded(
                _("%(section)s: %(count)s entries; at most %(max)s.")
                % {
                    "section": section,
                    "count": f"{len(entries):,}",
                    "max": f"{MAX_DOCUMENT_ENTRIES:,}",
                }
            )
    for index, segment in enumerate(document.get("segments") or []):
        if isinstance(segment, dict):
            check_rule_tree(segment.get("rules", []), where=f"segments[{index}]")


# --- request bodies ------------------------------------------------------------------------


def body_too_large(request: Any, max_bytes: int = MAX_PUBLIC_BODY) -> bool:
    """Whether the request announces (or carries) a body larger than ``max_bytes``."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > max_bytes


def cap_body(max_bytes: int = MAX_PUBLIC_BODY) -> Callable:
    """Decorate a public view: a POST body over ``max_bytes`` is refused with 413 before
    anything reads it."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method == "POST" and body_too_large(request, max_bytes):
                return too_large_response(max_bytes)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def too_large_response(max_bytes: int = MAX_PUBLIC_BODY):
    from django.http import HttpResponse

    return HttpResponse(
        _("This form sent too much: at most %(max)s KB.") % {"max": f"{max_bytes // 1024:,}"},
        status=413,
        content_type="text/plain; charset=utf-8",
    )
