"""What an API handler receives and how it reports business errors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree.ElementTree import Element

from werkzeug.wrappers import Request

from ..state import PracticeState
from ..xmlin import MAX_BODY_BYTES, BodyError, parse_body

# A handler returns a whole document, or a generator of UTF-8 chunks for big lists.
HandlerResult = str | Iterator[bytes]


class ApiError(Exception):
    """A business error: ``<Status>ERROR</Status><ErrorDescription>``, HTTP 200 unless a
    real status is documented (400 for bad paging parameters)."""

    def __init__(self, description: str, status: int = 200) -> None:
        super().__init__(description)
        self.description = description
        self.status = status


@dataclass
class ApiContext:
    """One API call: the request, the practice, the time, and the path identifiers."""

    request: Request
    state: PracticeState
    now: datetime
    params: tuple[str, ...]
    method_word: str
    base_url: str
    query: dict[str, str] = field(default_factory=dict)

    def q(self, name: str) -> str | None:
        """A query parameter, matched case-insensitively (``modifiedsince``/``modifiedSince``)."""
        return self.query.get(name.lower())

    def flag(self, name: str) -> bool:
        """``detailed=true`` style switches."""
        return (self.q(name) or "").strip().lower() in ("true", "yes", "1")

    @property
    def ident(self) -> str:
        """The first path identifier, lower-cased (UUIDs may arrive upper-case)."""
        return self.params[0].strip().lower() if self.params else ""

    def body(self, root: str) -> Element:
        """The request body parsed as XML with root ``root``; errors become ApiError."""
        try:
            data = self.request.get_data(cache=True)
        except Exception:  # werkzeug raises RequestEntityTooLarge past the cap
            raise ApiError(
                "Message not in expected format. The request body is too large.", 413
            ) from None
        if len(data) > MAX_BODY_BYTES:
            raise ApiError("Message not in expected format. The request body is too large.", 413)
        try:
            return parse_body(data, root)
        except BodyError as exc:
            raise ApiError(str(exc)) from None
